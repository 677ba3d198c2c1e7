"""Checks for the transfer, consult and conference tests (their scenes are
built by tests/support/scenes.py): who talks in a bridge, who hears whom, a
refusal naming its rule, and what must be left when it is all over (no
channel, bridge, reserved agent or limit slot)."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient, AriError
from tests.support.asterisk import channels_of_bridge, wait_until
from tests.support.constants import DC_PREFIX
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import Phone
from tests.support.snapshot import asterisk_state, redis_state


async def talkers(ari: AriClient, bridge_id: str) -> set[str]:
    """The phones' channels in a bridge (without a recorder)."""
    try:
        members = await channels_of_bridge(ari, bridge_id)
    except AriError as exc:
        if exc.status == 404:
            return set()
        raise
    out = set()
    for channel_id in members:
        if not (await ari.channel(channel_id)).get("name", "").startswith("Recorder/"):
            out.add(channel_id)
    return out


def of(ix_id: str) -> Any:
    return lambda e: e["data"].get("id", e["data"].get("interaction_id")) == ix_id


async def state_of(desktop: Desktop) -> str:
    return str((await desktop.me())["state"])


async def slots_used(redis_url: str) -> int:
    """LIM: the datacenter's limit slots still held (unexpired)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        now = int(time.time() * 1000)
        return int(await client.zcount(f"{DC_PREFIX}slots:dc", now + 1, "+inf"))
    finally:
        await client.aclose()


async def reserved_agents(redis_url: str) -> list[str]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [
            key
            async for key in client.scan_iter(f"{DC_PREFIX}agent:*")
            if await client.hget(key, "state") == "reserved"
        ]
    finally:
        await client.aclose()


async def queued_members(redis_url: str) -> list[str]:
    """Everything still waiting in any queue (calls and consult requests)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        out: list[str] = []
        async for key in client.scan_iter(f"{DC_PREFIX}queue:*"):
            out += [str(m) for m in await client.zrange(key, 0, -1)]
        return out
    finally:
        await client.aclose()


async def nothing_left_behind(ari: AriClient, redis_url: str) -> None:
    """No channel, no bridge, no reserved agent, no limit slot, nothing queued."""

    async def clean() -> bool:
        return not (
            await ari.channels()
            or await ari.bridges()
            or await reserved_agents(redis_url)
            or await slots_used(redis_url)
            or await queued_members(redis_url)
        )

    await wait_until(clean, timeout=10, what="no channel, bridge, reservation, slot or request")


async def path_carries(speaker: Phone, listeners: list[Phone], others: list[Phone]) -> None:
    """Audio of `speaker` reaches every listener: all others muted first (and
    the listeners hear silence), then only the speaker talks."""
    everyone = [speaker, *listeners, *others]
    for phone in everyone:
        await phone.set_muted(True)
    for phone in listeners:
        await phone.wait_for_silence()
    await speaker.set_muted(False)
    for phone in listeners:
        await phone.wait_for_audio()
    for phone in everyone:
        await phone.set_muted(False)


async def refused(desktop: Desktop, method: str, path: str, rule: str, body: Any = None) -> Any:
    """The call is refused naming `rule`; the error body."""
    try:
        await desktop.call(method, path, body)
    except ApiError as exc:
        assert exc.body["details"].get("rule") == rule, exc.body
        assert 400 <= exc.status < 500, exc.body
        return exc.body
    raise AssertionError(f"{method} {path} was not refused ({rule})")


async def snapshot(stack_redis_url: Any, ari: AriClient) -> dict[str, Any]:
    """Redis and Asterisk as a refused request must leave them."""
    url = stack_redis_url if isinstance(stack_redis_url, str) else stack_redis_url.redis.url
    return {
        "redis": await redis_state(url, DC_PREFIX),
        "asterisk": await asterisk_state(ari),
    }


async def phone_idle(redis_url: str, extension: str) -> None:
    """ST-4: wait until the control plane sees the agent's phone on-hook."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:

        async def idle() -> bool:
            return not await client.sismember(f"{DC_PREFIX}busy_devices", extension)

        await wait_until(idle, what=f"phone {extension} idle")
    finally:
        await client.aclose()
