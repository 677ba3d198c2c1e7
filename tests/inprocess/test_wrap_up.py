"""Auto wrap-up in-process (END-2, TR-6): one timer per agent and
interaction applies the reserved reason `auto` to the agent who transferred
the call and to the agent who finished it, each after the tenant's time."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.inprocess.conftest import StartService, wait_until
from tests.inprocess.scenes import available, connected_call, of
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess

AUTO_SECONDS = 1


def _auto_wrap_up(config: dict[str, Any]) -> None:
    config["tenants"]["acme"]["auto_wrap_up_seconds"] = AUTO_SECONDS


@pytest.mark.spec("END-2", "TR-6")
async def test_both_agents_of_a_transferred_call_get_the_auto_wrap_up(
    start_service: StartService,
) -> None:
    service = await start_service(_auto_wrap_up)
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(service, alice, "1001")
        ix = call.ix_id
        await available(bob, "1002")
        await alice.call(
            "POST", f"/v1/interactions/{ix}/transfer", {"kind": "agent", "target": "bob"}
        )
        await alice.state_event("wrap_up")
        left_at = time.monotonic()
        leg = await fake.ringing(service.agent_endpoint("1002"))
        fake.far_answer(leg.id)
        await bob.state_event("connected")

        # TR-6: Alice chose no reason: the system applies `auto` for her part
        wrapped = await alice.event("interaction.wrapped_up", of(ix), timeout=AUTO_SECONDS + 5)
        assert time.monotonic() - left_at >= AUTO_SECONDS - 0.1
        assert (await alice.state_event("available"))["data"]["previous"] == "wrap_up"
        assert wrapped["data"]["agent"] == "bob"  # the call goes on with Bob
        current = await bob.call("GET", f"/v1/interactions/{ix}")
        assert current["status"] == "connected" and current["wrap_up_reason"] is None

        # END-2: Bob's call ends; his own timer applies `auto` for him
        await bob.end(ix)
        await bob.state_event("wrap_up")
        await bob.event("interaction.wrapped_up", of(ix), timeout=AUTO_SECONDS + 5)
        await bob.state_event("available")
        final = await bob.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "auto" and final["agent"] == "bob"
        assert not fake.leftovers()


@pytest.mark.spec("END-2", "TR-6")
async def test_an_auto_wrap_up_timer_of_an_earlier_release_still_runs(
    start_service: StartService, redis_url: str
) -> None:
    """A transferring agent's timer of the kind earlier releases scheduled
    (`transfer.auto_wrap_up`, "<interaction>:<agent>"), pending at an
    upgrade, applies `auto` as the timer of today does."""
    service = await start_service()  # no auto wrap-up configured: no timer of today's kind
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        await alice.end(call.ix_id)
        await alice.state_event("wrap_up")
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            timers = f"cp:{{{service.config.service.datacenter}}}:timers"
            assert await client.zcard(timers) == 0
            await client.zadd(timers, {f"transfer.auto_wrap_up|{call.ix_id}:alice": 0})
            await wait_until(lambda: _gone(client, timers), "the earlier release's timer was taken")
        finally:
            await client.aclose()
        wrapped = await alice.event("interaction.wrapped_up", of(call.ix_id), timeout=5)
        assert wrapped["data"]["wrap_up_reason"] == "auto"
        assert (await alice.state_event("available"))["data"]["previous"] == "wrap_up"


async def _gone(client: aioredis.Redis, timers: str) -> bool:
    return await client.zcard(timers) == 0
