"""Blind transfer, consult, consult -> transfer and consult -> conference,
in-process: the legs the service places, the bridges it builds, the states
and events of both agents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inprocess.conftest import RING_SECONDS, Service
from tests.inprocess.scenes import Call, available, connected_call, of
from tests.support.constants import CUSTOMER
from tests.support.desktop import ApiError, Desktop

pytestmark = pytest.mark.inprocess


async def transfer(desktop: Desktop, ix_id: str, kind: str, target: str) -> Any:
    return await desktop.call(
        "POST", f"/v1/interactions/{ix_id}/transfer", {"kind": kind, "target": target}
    )


@pytest.mark.spec("TR-2", "TR-6", "END-2")
async def test_blind_transfer_to_an_available_agent(service: Service) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(service, alice, "1001")
        ix = call.ix_id
        await available(bob, "1002")
        moved = await transfer(alice, ix, "agent", "bob")
        assert moved["status"] == "ringing" and moved["agent"] is None
        assert [(leg["role"], leg["state"], leg["agent"]) for leg in moved["legs"]] == [
            ("transfer", "ringing", "bob")
        ]
        # TR-6: Alice is out of the call at once: her leg hung up, she wraps up
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        assert call.agent_leg not in fake.channels_by_id
        assert fake.sent("DELETE", f"/channels/{call.agent_leg}")
        # the customer hears music while the target rings
        assert fake.channels_by_id[call.customer].moh == "default"
        # TR-2: Bob is reserved and his phone rings on a transfer leg of the interaction
        assert (await bob.state_event("reserved"))["data"]["reason"] == "transfer"
        offer = (await bob.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix and offer["transfer_from"] == "alice"
        leg = await fake.ringing(service.agent_endpoint("1002"))
        assert leg.id == moved["legs"][0]["channel"] and leg.args == ["transfer", ix]
        (originate,) = fake.originated(service.agent_endpoint("1002"))
        assert originate.params["timeout"] == str(RING_SECONDS)
        assert CUSTOMER in originate.params["callerId"]
        # END-2: Alice wraps up her part while the call rings elsewhere
        assert (await alice.wrap_up(ix, "follow_up"))["state"] == "available"

        fake.far_answer(leg.id)
        connected = (await bob.event("interaction.connected"))["data"]
        assert connected["agent"] == "bob" and connected["legs"] == []
        await bob.state_event("connected")
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, leg.id])
        assert fake.channels_by_id[call.customer].moh is None
        await bob.end(ix)
        await bob.state_event("wrap_up")
        assert not fake.leftovers()
        await bob.wrap_up(ix, "resolved")
        final = await bob.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "resolved" and final["agent"] == "bob"


@pytest.mark.spec("TR-3")
async def test_blind_transfer_to_a_queue_requeues_the_call(service: Service) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-carol-token", "carol") as carol,
    ):
        call = await connected_call(service, alice, "1001")
        ix = call.ix_id
        moved = await transfer(alice, ix, "queue", "vip")  # tiers 1 and 2
        assert moved["status"] == "queued" and moved["queue"] == "vip"
        await alice.state_event("wrap_up")
        assert fake.channels_by_id[call.customer].moh == "default"
        # Carol (tier 2) becomes available and gets the call from the VIP queue
        await available(carol, "1003")
        offer = (await carol.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix and offer["queue"] == "vip"
        leg = await fake.ringing(service.agent_endpoint("1003"))
        fake.far_answer(leg.id)
        await carol.event("interaction.connected")
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, leg.id])
        fake.far_hangup(call.customer)
        ended = (await carol.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await carol.wrap_up(ix, "resolved")
        await alice.wrap_up(ix, "resolved")


async def consult_bob(service: Service, alice: Desktop, bob: Desktop) -> tuple[Call, str]:
    """Alice, connected to a customer, consults Bob, who answers: the
    customer is held; Alice and Bob talk in a bridge of their own."""
    fake = service.ari
    call = await connected_call(service, alice, "1001")
    await available(bob, "1002")
    view = await alice.call(
        "POST", f"/v1/interactions/{call.ix_id}/consult", {"kind": "agent", "target": "bob"}
    )
    assert view["consult"]["state"] == "ringing"
    offer = (await bob.event("interaction.consult_offered"))["data"]
    leg = await fake.ringing(service.agent_endpoint("1002"))
    assert leg.id == offer["consult"]["channel"] and leg.args == ["consult", call.ix_id]
    # HOLD-3: the customer is held as the consult starts
    assert fake.channels_by_id[call.customer].moh == "default"
    assert call.customer not in fake.call_bridge(call.ix_id).channels
    fake.far_answer(leg.id)
    await alice.event("interaction.consult_connected")
    await bob.state_event("connected")
    return call, leg.id


def bridge_of(service: Service, channel: str) -> str | None:
    return service.ari.channels_by_id[channel].bridge


@pytest.mark.spec("HOLD-3", "CO-3", "CO-4", "TR-6", "END-2")
async def test_consult_then_transfer_to_the_consulted_agent(service: Service) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call, leg = await consult_bob(service, alice, bob)
        ix = call.ix_id
        # CO-3: Alice and Bob talk in the consult's bridge, the customer hears music
        consult_bridge = bridge_of(service, leg)
        assert consult_bridge is not None and consult_bridge != ix
        assert bridge_of(service, call.agent_leg) == consult_bridge
        assert fake.channels_by_id[call.customer].moh == "default"
        view = await alice.call("GET", f"/v1/interactions/{ix}/consult")
        assert view["consult"]["state"] == "consulting"
        assert view["customer"]["state"] == "held"

        # CO-4: Alice hands the call to Bob and wraps up; the call goes on
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        assert view["agent"] == "bob" and view["consult"] is None
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        moved = (await alice.event("interaction.transferred", of(ix)))["data"]
        assert moved["from_agent"] == "alice" and moved["target"]["agent"] == "bob"
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, leg])
        assert fake.channels_by_id[call.customer].moh is None
        assert call.agent_leg not in fake.channels_by_id
        assert consult_bridge not in fake.bridges_by_id
        # TR-6, END-2: Alice wraps up her part while Bob talks
        assert (await alice.wrap_up(ix, "resolved"))["state"] == "available"
        current = await bob.call("GET", f"/v1/interactions/{ix}")
        assert current["status"] == "connected" and current["agent"] == "bob"

        fake.far_hangup(call.customer)
        await bob.event("interaction.ended")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "follow_up")
        final = await bob.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "follow_up"


@pytest.mark.spec("CF-1", "CF-3", "CF-7")
async def test_consult_then_conference_of_all_three(service: Service) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call, leg = await consult_bob(service, alice, bob)
        ix = call.ix_id
        # CF-1: all three in the interaction's bridge, nobody hears music
        view = await alice.call("POST", f"/v1/interactions/{ix}/conference")
        assert view["consult"]["state"] == "conference"
        assert view["customer"]["state"] == "conference"
        assert sorted(fake.call_bridge(ix).channels) == sorted(
            [call.customer, call.agent_leg, leg]
        )
        assert list(fake.bridges_by_id) == [fake.call_bridge(ix).id]  # the consult's bridge is gone
        assert fake.channels_by_id[call.customer].moh is None
        # CF-3: nobody can be held in a conference
        with pytest.raises(ApiError) as held:
            await alice.call("POST", f"/v1/interactions/{ix}/hold")
        assert held.value.body["details"]["rule"] == "CF-3"

        # CF-7: the customer hangs up: it ends; Alice wraps up, Bob leaves without
        fake.far_hangup(call.customer)
        await alice.event("interaction.ended")
        await alice.state_event("wrap_up")
        left = await bob.state_event("available")
        assert left["data"]["previous"] == "connected"
        assert not fake.leftovers()
        await alice.wrap_up(ix, "resolved")


@pytest.mark.spec("TR-5", "DN-1", "TR-6")
async def test_blind_transfer_to_a_number_sends_its_post_dial_digits_once_answered(
    service: Service,
) -> None:
    fake = service.ari
    number = "+15551000000"
    far_end = service.number_endpoint(number)
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as watch,
    ):
        call = await connected_call(service, alice, "1001")
        ix = call.ix_id
        # DN-1: punctuation goes; the digits after ':' are sent once answered
        moved = await transfer(alice, ix, "dial_number", "+1 (555) 100-0000:12#")
        assert moved["legs"][0]["number"] == number
        await alice.state_event("wrap_up")
        leg = await fake.ringing(far_end)
        assert leg.args == ["transfer", ix] and CUSTOMER in leg.caller["number"]
        assert not fake.sent("POST", f"/channels/{leg.id}/dtmf")
        fake.far_answer(leg.id)
        to_number = (  # (the first was Alice's)
            await watch.event("interaction.connected", lambda e: e["data"]["agent"] is None)
        )
        connected = to_number["data"]
        assert connected["id"] == ix
        assert [(x["role"], x["state"]) for x in connected["legs"]] == [("party", "connected")]
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, leg.id])
        await fake.wait_for("the post-dial digits", lambda: fake.channels_by_id[leg.id].dtmf_sent)
        assert fake.channels_by_id[leg.id].dtmf_sent == ["12#"]
        await alice.wrap_up(ix, "resolved")
        fake.far_hangup(call.customer)
        ended = (await watch.event("interaction.ended", of(ix)))["data"]
        assert ended["end_cause"] == "customer_hangup"


@pytest.mark.spec("CO-6")
async def test_customer_hanging_up_during_a_consult_ends_it_for_both_agents(
    service: Service,
) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call, leg = await consult_bob(service, alice, bob)
        fake.far_hangup(call.customer)
        await alice.event("interaction.ended")
        await alice.state_event("wrap_up")
        # Bob leaves without wrap-up; his leg and the consult's bridge are gone
        left = await bob.state_event("available")
        assert left["data"]["previous"] == "connected"
        assert leg not in fake.channels_by_id
        assert not fake.leftovers()
        await alice.wrap_up(call.ix_id, "resolved")


@pytest.mark.spec("CF-5", "CO-5")
async def test_consulted_agent_leaves_the_conference_and_the_call_goes_on(
    service: Service,
) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
    ):
        call, leg = await consult_bob(service, alice, bob)
        ix = call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/conference")
        # CO-5: Bob cannot end the customer's call
        with pytest.raises(ApiError) as refused:
            await bob.end(ix)
        assert refused.value.body["details"]["rule"] == "CO-5"
        # CF-5: Bob hangs up: Alice and the customer go on
        fake.far_hangup(leg)
        left = await bob.state_event("available")
        assert left["data"]["previous"] == "connected"
        await fake.wait_for(
            "the call between Alice and the customer",
            lambda: sorted(fake.call_bridge(ix).channels)
            == sorted([call.customer, call.agent_leg]),
        )
        current = await alice.call("GET", f"/v1/interactions/{ix}")
        assert current["status"] == "connected" and current["agent"] == "alice"
        assert (await alice.me())["state"] == "connected"
        await alice.end(ix)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix, "resolved")
