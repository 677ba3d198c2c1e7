"""Auto wrap-up in-process (END-2, TR-6): one timer per agent and
interaction applies the reserved reason `auto` to the agent who transferred
the call and to the agent who finished it, each after the tenant's time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.inprocess.conftest import StartService
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
