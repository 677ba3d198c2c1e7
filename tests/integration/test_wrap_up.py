"""Auto wrap-up (END-2): on the test tenant `beta` (auto_wrap_up_seconds = 2,
after_wrap_up = idle), an agent who chooses no wrap-up reason in time gets
the system's reason `auto` and goes on to `idle`."""

from __future__ import annotations

import asyncio
import time

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import BETA_AUTO_WRAP_UP_SECONDS, Stack
from tests.support.constants import BETA_ENTRY_POINT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration

BETH = "test-beth-token"


@pytest.mark.spec("END-1", "END-2")
async def test_given_wrap_up_when_agent_chooses_no_reason_in_time_then_system_wraps_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, BETH, "beth") as beth:
        call = await connected_call(phones, ari, beth, "1010", number=BETA_ENTRY_POINT)
        phone, customer, connected = call.phone, call.customer, call.connected
        ix_id = connected["id"]
        await customer.hangup()
        ended = (await beth.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await beth.state_event("wrap_up")
        in_wrap_up = time.monotonic()
        await phone.wait_for("closed")

        # no reason applied: the timer applies `auto` and the agent goes on
        # as the tenant says (idle)
        wrapped = (
            await beth.event("interaction.wrapped_up", timeout=BETA_AUTO_WRAP_UP_SECONDS + 5)
        )["data"]
        after = time.monotonic() - in_wrap_up
        assert wrapped["id"] == ix_id and wrapped["wrap_up_reason"] == "auto"
        assert BETA_AUTO_WRAP_UP_SECONDS - 0.1 <= after < BETA_AUTO_WRAP_UP_SECONDS + 1.5
        state = (
            await beth.event(
                "agent.state",
                lambda e: e["data"]["previous"] == "wrap_up" and e["data"]["state"] == "idle",
            )
        )["data"]
        assert state["reason"] == "wrap_up"
        assert (await beth.me())["state"] == "idle"
        ix = await beth.call("GET", f"/v1/interactions/{ix_id}")
        assert ix["wrap_up_reason"] == "auto"

        # the agent's own reason comes too late now
        with pytest.raises(ApiError) as late:
            await beth.wrap_up(ix_id, "done")
        assert late.value.status == 409
        assert late.value.body["details"]["rule"] == "END-2"


@pytest.mark.spec("END-1", "END-2")
async def test_given_wrap_up_when_agent_applies_a_reason_in_time_then_no_auto_wrap_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, BETH, "beth") as beth:
        call = await connected_call(phones, ari, beth, "1010", number=BETA_ENTRY_POINT)
        phone, customer, connected = call.phone, call.customer, call.connected
        ix_id = connected["id"]
        await beth.end(ix_id)
        await customer.wait_for("closed")
        await beth.state_event("wrap_up")
        record = await beth.wrap_up(ix_id, "done")
        assert record["state"] == "idle"

        # past the auto wrap-up time nothing else happens (a wait for an
        # absence: there is no event to wait for)
        await asyncio.sleep(BETA_AUTO_WRAP_UP_SECONDS + 1.0)
        ix = await beth.call("GET", f"/v1/interactions/{ix_id}")
        assert ix["wrap_up_reason"] == "done"
        assert sum(1 for e in beth.events if e["type"] == "interaction.wrapped_up") == 1
        after_wrap_up = [
            e
            for e in beth.events
            if e["type"] == "agent.state" and e["data"]["previous"] == "wrap_up"
        ]
        assert len(after_wrap_up) == 1 and after_wrap_up[0]["data"]["state"] == "idle"
        assert (await beth.me())["state"] == "idle"
        await phone.wait_for("closed")
