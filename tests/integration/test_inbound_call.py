"""The first path, end to end: a customer calls an entry point, waits in the
queue with music on hold, is offered to the available agent whose phone
rings, is bridged when the agent answers, and the agent wraps up."""

from __future__ import annotations

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack
from tests.support.asterisk import (
    AmiEvents,
    audio_flows,
    channel_by_endpoint,
    channels_of_bridge,
    interaction_bridge,
    wait_until,
)
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration


@pytest.mark.spec("ST-1", "IN-1", "IN-2", "END-2")
async def test_given_available_agent_when_customer_calls_then_offered_bridged_and_wrapped_up(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        # ST-1: every change is an event with previous, new state, reason, time.
        await alice.login("1001")
        ev = await alice.state_event("idle")
        assert ev["data"]["previous"] == "logged_out"
        assert ev["data"]["reason"] == "login" and ev["data"]["timestamp"]
        await alice.available()
        ev = await alice.state_event("available")
        assert ev["data"]["previous"] == "idle"

        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)

        # IN-1: the offer carries every field the desktop shows.
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["direction"] == "inbound"
        assert offer["label"] == "Acme Support"
        assert offer["ani"] == CUSTOMER
        assert offer["dnis"] == SUPPORT
        assert offer["queue"] == "support" and offer["queue_name"] == "Support"
        assert offer["status"] == "ringing"
        assert offer["entered_at"]
        names = [v["name"] for v in offer["variables"]]
        assert names[:3] == ["customer_name", "account", "case_number"]
        ix_id = offer["interaction_id"]
        await alice.state_event("reserved")

        # The customer waited with music on hold on the Asterisk side ...
        interaction = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert interaction["status"] == "ringing"
        customer_leg = await channel_by_endpoint(ari, "PJSIP/carrier-")
        assert customer_leg is not None and customer_leg["state"] == "Up"
        moh = await ami_events.wait_for(
            "MusicOnHoldStart", lambda e: e.get("Uniqueid") == customer_leg["id"]
        )
        assert moh["Class"] == "default"
        await customer.wait_for_audio()  # the customer really hears the music

        # ... and the agent's phone really rings, showing the customer's number.
        incoming = await phone.wait_for("incoming")
        assert incoming.peer_number == CUSTOMER.lstrip("+") or incoming.peer_number == CUSTOMER

        # IN-2: the agent answers on the phone: bridged, connected, time set.
        await phone.answer()
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["status"] == "connected" and connected["connected_at"]
        await alice.state_event("connected")
        await customer.wait_for("established")

        bridge_channels = await channels_of_bridge(ari, ix_id)
        assert len(bridge_channels) == 2
        bridge = await interaction_bridge(ari, ix_id)
        # IN-2, REC-1: alice's calls are recorded: their shared bridge mixes
        assert bridge["id"] == f"{ix_id}-shared"
        assert bridge.get("technology") == "softmix"
        assert "mixing" in bridge.get("bridge_type", "")
        assert await audio_flows(ari, sorted(bridge_channels))
        await ami_events.wait_for(
            "MusicOnHoldStop", lambda e: e.get("Uniqueid") == customer_leg["id"]
        )
        await phone.wait_for_audio()  # each side hears the other's tone
        await customer.wait_for_audio()

        # The customer hangs up: the agent is in wrap-up ...
        await customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        await phone.wait_for("closed")

        # ... applies a wrap-up reason and is available again.
        with pytest.raises(ApiError) as refused:
            await alice.wrap_up(ix_id, "no-such-reason")
        assert refused.value.status == 400
        assert refused.value.body["details"]["rule"] == "END-2"
        record = await alice.wrap_up(ix_id, "resolved")
        assert record["state"] == "available"
        ev = await alice.state_event("available")
        assert ev["data"]["previous"] == "wrap_up"
        final = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert final["wrap_up_reason"] == "resolved"
        assert final["agent"] == "alice"

    await wait_until(lambda: _no_channels(ari), what="all channels gone")


async def _no_channels(ari: AriClient) -> bool:
    return not await ari.channels()


@pytest.mark.spec("END-1")
async def test_given_connected_call_when_agent_ends_then_customer_is_hung_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-bob-token", "bob") as bob:
        call = await connected_call(phones, ari, bob, "1002", answer_after_ms=200)
        ended = await bob.end(call.ix_id)
        assert ended["end_cause"] == "agent_end"
        await call.customer.wait_for("closed")
        await call.phone.wait_for("closed")
        await bob.state_event("wrap_up")
        await bob.wrap_up(call.ix_id, "resolved")


async def test_given_connected_call_when_agent_hangs_up_the_phone_then_call_ends(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001", answer_after_ms=200)
        await call.phone.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "agent_hangup"
        await call.customer.wait_for("closed")
        await alice.state_event("wrap_up")


async def test_given_queued_call_when_customer_hangs_up_then_interaction_is_abandoned(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-supervisor-token") as supervisor:
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        queued = (await supervisor.event("interaction.queued"))["data"]
        await customer.wait_for("established")  # answered into the queue's music
        await customer.hangup()
        ended = (await supervisor.event("interaction.ended"))["data"]
        assert ended["id"] == queued["id"]
        assert ended["end_cause"] == "abandoned"


async def test_given_ringing_offer_when_customer_hangs_up_then_agent_is_available_again(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        await alice.event("interaction.offered")
        await phone.wait_for("incoming")
        await customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "abandoned"
        await alice.state_event("reserved")
        ev = await alice.state_event("available")  # the second one, after the offer
        assert ev["data"]["previous"] == "reserved"
        assert ev["data"]["reason"] == "offer_withdrawn"
        await phone.wait_for("closed")


async def test_a_number_that_is_no_entry_point_is_refused(
    stack: Stack, phones: PhoneFactory
) -> None:
    customer = await phones.customer(CUSTOMER)
    await customer.dial("8009999999")
    closed = await customer.wait_for("closed")
    assert closed.status_code == 404 or "404" in (closed.reason or "")


async def test_given_no_control_plane_when_customer_calls_then_announcement_not_silence(
    stack: Stack, phones: PhoneFactory
) -> None:
    stack.service.stop()
    try:
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        await customer.wait_for("established")
        await customer.wait_for_audio()  # "all circuits are busy now ..."
        closed = await customer.wait_for("closed", timeout=15)
        assert closed.ended_by_peer
    finally:
        stack.service.start()
