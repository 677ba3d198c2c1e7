"""Builders and checks for the transfer, consult and conference tests: a
customer connected to an agent, a consult answered by a second agent, and
what must be left when it is all over (no channel, bridge, reserved agent or
limit slot)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient, AriError
from tests.support.asterisk import channels_of_bridge, wait_until
from tests.support.constants import CUSTOMER, DC_PREFIX, SUPPORT
from tests.support.desktop import ApiError, Desktop, Event
from tests.support.phones import Phone, PhoneFactory
from tests.support.snapshot import asterisk_state, redis_state


@dataclass
class Call:
    """A customer connected to agent 1 (the consulting agent)."""

    ix_id: str
    customer: Phone
    phone: Phone  # agent 1's
    desktop: Desktop  # agent 1's
    customer_leg: str
    agent_leg: str


@dataclass
class Consult:
    """A consult of agent 2 by agent 1, answered (state `consulting`)."""

    call: Call
    phone: Phone  # agent 2's
    desktop: Desktop  # agent 2's
    leg: str  # agent 2's channel: <interaction>-k<n>
    offer: Event  # interaction.consult_offered


async def given_connected_call(
    phones: PhoneFactory,
    ari: AriClient,
    desktop: Desktop,
    extension: str,
    *,
    number: str = SUPPORT,
    ani: str = CUSTOMER,
) -> Call:
    """Agent 1 is available and answers a customer's call."""
    phone = await phones.agent(extension, answer_after_ms=0)
    await desktop.login(extension)
    await desktop.available()
    customer = await phones.customer(ani)
    await customer.dial(number)
    connected = (await desktop.event("interaction.connected"))["data"]
    await customer.wait_for("established")
    await phone.wait_for("established")
    ix_id = connected["id"]
    members = await channels_of_bridge(ari, ix_id)
    agent_leg = next(c for c in members if c.startswith(f"{ix_id}-a"))
    customer_leg = ""
    for channel_id in members:
        if (await ari.channel(channel_id)).get("name", "").startswith("PJSIP/carrier-"):
            customer_leg = channel_id
    assert customer_leg, members
    return Call(ix_id, customer, phone, desktop, customer_leg, agent_leg)


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


async def given_available(phones: PhoneFactory, desktop: Desktop, extension: str) -> Phone:
    """Agent 2 logged in, available, with a phone that rings until answered."""
    phone = await phones.agent(extension, answer_after_ms=None)
    await desktop.login(extension)
    await desktop.available()
    await desktop.state_event("available")
    return phone


async def consult(desktop: Desktop, ix_id: str, kind: str, target: str) -> Any:
    return await desktop.call(
        "POST", f"/v1/interactions/{ix_id}/consult", {"kind": kind, "target": target}
    )


async def given_consult(
    call: Call, phone2: Phone, desktop2: Desktop, agent2: str, *, answer: bool = True
) -> Consult:
    """Agent 1 consults agent 2, whose phone rings (and is answered)."""
    await consult(call.desktop, call.ix_id, "agent", agent2)
    offer = await desktop2.event("interaction.consult_offered")
    leg = str(offer["data"]["consult"]["channel"])
    await phone2.wait_for("incoming")
    if answer:
        await phone2.answer()
        await call.desktop.event("interaction.consult_connected")
        await phone2.wait_for("established")
    return Consult(call, phone2, desktop2, leg, offer)


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


async def given_three_parties(
    phones: PhoneFactory,
    ari: AriClient,
    agent1: Desktop,
    agent2: Desktop,
    *,
    extensions: tuple[str, str] = ("1001", "1002"),
    answer: bool = True,
) -> Consult:
    """The customer is connected to agent 1, who consults agent 2 (answered)."""
    call = await given_connected_call(phones, ari, agent1, extensions[0])
    phone2 = await given_available(phones, agent2, extensions[1])
    assert agent2.agent is not None
    return await given_consult(call, phone2, agent2, agent2.agent, answer=answer)


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
