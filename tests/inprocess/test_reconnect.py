"""The event stream lost and found again, in-process: what Asterisk did
meanwhile is read back on reconnection (no event is replayed)."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import available, connected_call
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess


@pytest.mark.spec("REL-2")
async def test_customer_gone_while_the_stream_was_down_ends_the_call_on_reconnection(
    service: Service,
) -> None:
    fake = service.ari
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        listed = len(fake.sent("GET", "/channels"))
        await fake.drop_event_stream()
        fake.far_hangup(call.customer)  # nobody hears it
        await fake.wait_for("the service back on the event stream", lambda: fake.stream_connected)
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["id"] == call.ix_id and ended["end_cause"] == "lost"
        assert len(fake.sent("GET", "/channels")) > listed  # reconciled against Asterisk
        await alice.state_event("wrap_up")
        assert not fake.leftovers()  # the agent's leg and the bridge were taken down
        await alice.wrap_up(call.ix_id, "resolved")


@pytest.mark.spec("REL-2")
async def test_offer_ringing_while_the_stream_was_down_is_withdrawn_and_requeued(
    service: Service,
) -> None:
    fake = service.ari
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        offer = (await alice.event("interaction.offered"))["data"]
        first = await fake.ringing(service.agent_endpoint("1001"))
        await fake.drop_event_stream()
        # the offer may have been answered unseen: withdrawn, the agent not blamed
        withdrawn = (await alice.event("interaction.offer_withdrawn"))["data"]
        assert withdrawn["interaction_id"] == offer["interaction_id"]
        assert withdrawn["reason"] == "service_takeover"
        back = await alice.state_event("available")
        assert back["data"]["previous"] == "reserved"
        assert first.id not in fake.channels_by_id
        # requeued and offered again on a new leg, which is answered this time
        again = await alice.event("interaction.offered")
        assert again["data"]["interaction_id"] == offer["interaction_id"]
        second = await fake.ringing(service.agent_endpoint("1001"))
        assert second.id != first.id
        fake.far_answer(second.id)
        await alice.event("interaction.connected")
        fake.far_hangup(customer)
        await alice.event("interaction.ended")
        await alice.wrap_up(offer["interaction_id"], "resolved")
