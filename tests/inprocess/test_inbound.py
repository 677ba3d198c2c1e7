"""Inbound calls in-process: offer, answer, bridge, end and wrap-up; RONA."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import RING_SECONDS, Service
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.fake_ari import Far

pytestmark = pytest.mark.inprocess


@pytest.mark.spec("ST-1", "IN-1", "IN-2", "END-2")
async def test_inbound_call_is_queued_offered_bridged_ended_and_wrapped_up(
    service: Service,
) -> None:
    fake = service.ari
    phone = service.agent_endpoint("1001")
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.state_event("idle")
        await alice.available()
        await alice.state_event("available")

        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        # IN-1: queued with music on hold, then offered to Alice, whose phone rings
        queued = (await supervisor.event("interaction.queued"))["data"]
        offer = (await alice.event("interaction.offered"))["data"]
        ix_id = offer["interaction_id"]
        assert queued["id"] == ix_id
        assert offer["ani"] == CUSTOMER and offer["dnis"] == SUPPORT
        assert offer["queue"] == "support" and offer["status"] == "ringing"
        await alice.state_event("reserved")
        assert fake.sent("POST", f"/channels/{customer}/answer")
        moh = fake.sent("POST", f"/channels/{customer}/moh")
        assert [r.params["mohClass"] for r in moh] == ["default"]
        leg = await fake.ringing(phone)
        (originate,) = fake.originated(phone)
        assert originate.params["appArgs"] == f"agent,{ix_id}"
        assert originate.params["timeout"] == str(RING_SECONDS)
        assert originate.params["channelId"] == leg.id
        assert CUSTOMER in originate.params["callerId"]

        # IN-2: Alice answers: customer and agent leg in the interaction's bridge
        fake.far_answer(leg.id)
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["status"] == "connected" and connected["connected_at"]
        await alice.state_event("connected")
        bridge = fake.call_bridge(ix_id)
        assert sorted(bridge.channels) == sorted([customer, leg.id])
        assert fake.sent("DELETE", f"/channels/{customer}/moh")
        assert fake.channels_by_id[customer].moh is None
        # REC-1: acme records its calls: the bridge is recorded (the call's
        # shared one from the start, IN-2)
        assert bridge.id == f"{ix_id}-shared"
        assert fake.sent("POST", f"/bridges/{bridge.id}/record")
        state = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert state["status"] == "connected" and state["agent"] == "alice"

        # The customer hangs up: the agent leg and the bridge are taken down
        fake.far_hangup(customer)
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        assert fake.sent("DELETE", f"/channels/{leg.id}")
        assert fake.sent("DELETE", f"/bridges/{bridge.id}")
        assert not fake.leftovers()

        # END-2: only the tenant's reasons; then available again
        with pytest.raises(ApiError) as refused:
            await alice.wrap_up(ix_id, "no-such-reason")
        assert refused.value.status == 400
        assert refused.value.body["details"]["rule"] == "END-2"
        record = await alice.wrap_up(ix_id, "resolved")
        assert record["state"] == "available"
        ev = await alice.state_event("available")
        assert ev["data"]["previous"] == "wrap_up"
        final = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert final["wrap_up_reason"] == "resolved" and final["status"] == "ended"


@pytest.mark.spec("RONA-1", "RONA-2", "ST-3")
async def test_offer_not_answered_in_ring_time_goes_to_next_agent_and_agent_to_rona(
    service: Service,
) -> None:
    fake = service.ari
    alice_phone, bob_phone = service.agent_endpoint("1001"), service.agent_endpoint("1002")
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        await bob.login("1002")
        await bob.available()
        await bob.state_event("available")  # Alice waits longest: she is offered first
        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        offer = (await alice.event("interaction.offered"))["data"]
        ix_id = offer["interaction_id"]
        first = await fake.ringing(alice_phone)

        # RONA-1: nobody answers within the queue's ring time (the originate's timeout)
        withdrawn = await alice.event("interaction.offer_withdrawn", timeout=RING_SECONDS + 5)
        assert withdrawn["data"]["interaction_id"] == ix_id
        assert withdrawn["data"]["reason"] == "ring_no_answer"
        rona = await alice.state_event("rona")
        assert rona["data"]["previous"] == "reserved"
        assert first.id not in fake.channels_by_id
        assert fake.of_kind("ChannelDestroyed", first.id)[0]["cause"] == 19

        # RONA-2: requeued and offered to Bob at once
        second_offer = (await bob.event("interaction.offered"))["data"]
        assert second_offer["interaction_id"] == ix_id
        second = await fake.ringing(bob_phone)
        assert second.id != first.id and second.args == ["agent", ix_id]
        fake.far_answer(second.id)
        await bob.event("interaction.connected")
        assert sorted(fake.call_bridge(ix_id).channels) == sorted([customer, second.id])

        # ST-3: Alice stays in rona while calls wait; she leaves it only by her own choice
        me = await alice.me()
        assert me["state"] == "rona"
        await alice.available()
        await alice.state_event("available")

        await bob.end(ix_id)
        await bob.event("interaction.ended")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix_id, "resolved")
        assert customer not in fake.channels_by_id


@pytest.mark.spec("RONA-1")
async def test_a_declined_offer_is_rona_at_once_and_the_caller_may_leave_the_queue(
    service: Service,
) -> None:
    fake = service.ari
    fake.script(service.agent_endpoint("1001"), Far.BUSY)
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.available()
        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        offer = (await alice.event("interaction.offered"))["data"]
        ix_id = offer["interaction_id"]
        withdrawn = (await alice.event("interaction.offer_withdrawn"))["data"]
        assert withdrawn["interaction_id"] == ix_id
        assert withdrawn["reason"] == "declined"
        assert withdrawn["choices"] == ["available", "idle"]  # DSK-3
        await alice.state_event("rona")
        state = await supervisor.call("GET", f"/v1/interactions/{ix_id}")
        assert state["status"] == "queued"
        # back in the queue with music; the caller gives up: abandoned, nothing left
        assert fake.channels_by_id[customer].moh == "default"
        fake.far_hangup(customer)
        ended = (await supervisor.event("interaction.ended"))["data"]
        assert ended["id"] == ix_id and ended["end_cause"] == "abandoned"
        assert (await alice.me())["state"] == "rona"


@pytest.mark.spec("IN-3")
async def test_customer_hanging_up_while_the_offer_rings_leaves_the_agent_first_in_line(
    service: Service,
) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        await bob.login("1002")
        await bob.available()
        await bob.state_event("available")  # after Alice
        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        offer = (await alice.event("interaction.offered"))["data"]
        leg = await fake.ringing(service.agent_endpoint("1001"))
        fake.far_hangup(customer)
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["id"] == offer["interaction_id"] and ended["end_cause"] == "abandoned"
        await alice.state_event("reserved")
        back = (await alice.state_event("available"))["data"]
        assert back["previous"] == "reserved" and back["reason"] == "offer_withdrawn"
        assert leg.id not in fake.channels_by_id
        assert fake.of_kind("Dial", leg.id)[-1]["dialstatus"] == "CANCEL"
        # she kept her place in line: the next call is hers, not Bob's
        second = fake.customer_calls(SUPPORT, "+15557654321")
        again = (await alice.event("interaction.offered"))["data"]
        assert again["ani"] == "+15557654321"
        assert not [e for e in bob.events if e["type"] == "interaction.offered"]
        fake.far_hangup(second)
        await alice.event("interaction.ended")


@pytest.mark.spec("ST-4")
async def test_an_agent_whose_phone_is_in_use_gets_no_offer_until_it_is_idle(
    service: Service,
) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        await bob.login("1002")
        await bob.available()
        await bob.state_event("available")  # Alice waits longer, but ...
        fake.phone_in_use_outside("1001", True)  # ... her phone is off-hook (AMI)
        assert service.ami.device_states["PJSIP/1001"] == "INUSE"
        first = fake.customer_calls(SUPPORT, CUSTOMER)
        offer = (await bob.event("interaction.offered"))["data"]
        assert not fake.originated(service.agent_endpoint("1001"))
        fake.far_answer((await fake.ringing(service.agent_endpoint("1002"))).id)
        await bob.event("interaction.connected")

        # her phone is idle again: the next call is hers
        fake.phone_in_use_outside("1001", False)
        second = fake.customer_calls(SUPPORT, "+15557654321")
        again = (await alice.event("interaction.offered"))["data"]
        assert again["ani"] == "+15557654321"
        await fake.ringing(service.agent_endpoint("1001"))
        fake.far_hangup(second)
        await alice.event("interaction.ended")
        fake.far_hangup(first)
        await bob.event("interaction.ended")
        await bob.wrap_up(offer["interaction_id"], "resolved")
