"""Hold and resume in-process: what the service asks of Asterisk."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import connected_call
from tests.support.desktop import ApiError, Desktop

pytestmark = pytest.mark.inprocess


@pytest.mark.spec("HOLD-1", "HOLD-2")
async def test_hold_puts_the_customer_on_music_and_resume_takes_them_back(
    service: Service,
) -> None:
    fake = service.ari
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        ix_id, customer = call.ix_id, call.customer

        # HOLD-1: the customer leaves the bridge and hears the node's music on hold
        held = await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert held["held"] is True and held["status"] == "connected"
        assert (await alice.event("interaction.held"))["data"]["held"] is True
        assert fake.call_bridge(ix_id).channels == [call.agent_leg]
        assert fake.channels_by_id[customer].moh == "default"
        # (the first music was the queue's, stopped when the agent answered)
        moh = fake.sent("POST", f"/channels/{customer}/moh")
        assert [r.params["mohClass"] for r in moh] == ["default", "default"]
        assert not fake.sent("POST", f"/channels/{call.agent_leg}/moh")
        assert (await alice.me())["state"] == "connected"
        assert fake.of_kind("ChannelLeftBridge", customer)

        # held twice is refused, and so is ending the call while held (END-1)
        with pytest.raises(ApiError) as twice:
            await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert twice.value.status == 409 and twice.value.body["details"]["rule"] == "HOLD-1"
        with pytest.raises(ApiError) as end:
            await alice.end(ix_id)
        assert end.value.body["details"]["rule"] == "END-1"

        # HOLD-2: the music stops and the customer is back in the bridge
        resumed = await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert resumed["held"] is False
        assert (await alice.event("interaction.resumed"))["data"]["held"] is False
        assert fake.channels_by_id[customer].moh is None
        assert sorted(fake.call_bridge(ix_id).channels) == sorted([customer, call.agent_leg])
        stop = fake.sent("DELETE", f"/channels/{customer}/moh")
        add = fake.sent("POST", f"/bridges/{fake.call_bridge(ix_id).id}/addChannel")
        assert stop[-1].at <= add[-1].at and add[-1].params["channel"] == customer
        with pytest.raises(ApiError) as again:
            await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert again.value.status == 409 and again.value.body["details"]["rule"] == "HOLD-2"

        # the agent ends the call (END-1): both legs and the bridge are gone
        ended = await alice.end(ix_id)
        assert ended["end_cause"] == "agent_end"
        await alice.state_event("wrap_up")
        assert not fake.leftovers()
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("END-1")
async def test_customer_hanging_up_while_held_ends_the_call(service: Service) -> None:
    fake = service.ari
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        await alice.call("POST", f"/v1/interactions/{call.ix_id}/hold")
        fake.far_hangup(call.customer)
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        await alice.wrap_up(call.ix_id, "resolved")
