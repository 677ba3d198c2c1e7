"""Hold and resume (HOLD-1, HOLD-2) and the end refused while held (END-1),
with real phones: the customer hears music on hold, the agent hears nothing,
and after resume both hear each other again."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack
from tests.support.asterisk import (
    AmiEvents,
    audio_flows,
    bridge_gone,
    channels_of_bridge,
    interaction_bridge,
    wait_until,
)
from tests.support.constants import CUSTOMER, SUPPORT, VIP
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration


async def talk_path(ari: AriClient, ix_id: str, customer_channel: str) -> set[str]:
    """The channels of the interaction's bridge that carry conversation (the
    bridge may also hold a recorder)."""
    channels = await channels_of_bridge(ari, ix_id)
    return {c for c in channels if c == customer_channel or c.startswith(f"{ix_id}-a")}


@pytest.mark.spec("HOLD-1", "HOLD-2", "END-1", "IN-2")
@pytest.mark.parametrize(
    "case",
    [
        # a recorded call: the bridge mixes (a recorder is in it)
        pytest.param(("alice", "1001", SUPPORT, "recording"), id="recorded"),
        # carol's profile records nothing: the bridge relays RTP natively
        pytest.param(("carol", "1003", VIP, "off"), id="not-recorded"),
    ],
)
async def test_given_connected_call_when_agent_holds_then_customer_hears_music_and_end_is_refused(
    stack: Stack,
    ari: AriClient,
    ami_events: AmiEvents,
    phones: PhoneFactory,
    case: tuple[str, str, str, str],
) -> None:
    agent, extension, number, recording = case
    async with Desktop(stack.url, f"demo-{agent}-token", agent) as desktop:
        call = await connected_call(phones, ari, desktop, extension, number=number)
        phone, customer, connected = call.phone, call.customer, call.connected
        ix_id = connected["id"]
        assert connected["held"] is False and connected["recording"] == recording
        customer_leg = await _customer_channel(ari, ix_id)
        agent_leg = next(iter(await talk_path(ari, ix_id, customer_leg) - {customer_leg}))
        assert await audio_flows(ari, [customer_leg, agent_leg])
        await phone.wait_for_audio()
        ami_events.events.clear()  # the music while queued is not the hold's
        # IN-2: two phones alone relay natively; a recorded call's bridge (its
        # shared one from the start) mixes
        if recording == "off":
            assert (await ari.bridge(ix_id))["technology"] == "native_rtp"
            # the agent's phone gets the customer's packets as they came in
            relayed = {
                "local_ssrc": (await ari.rtp_statistics(agent_leg))["local_ssrc"],
                "remote_ssrc": (await ari.rtp_statistics(customer_leg))["remote_ssrc"],
            }
            assert relayed["local_ssrc"] == relayed["remote_ssrc"], relayed
        else:
            assert not await bridge_gone(ari, f"{ix_id}-shared")
            assert (await ari.bridge(f"{ix_id}-shared"))["technology"] == "softmix"

        # HOLD-1: hold -> the call shows held, the customer leaves the talk path
        held = await desktop.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert held["held"] is True and held["status"] == "connected"
        event = (await desktop.event("interaction.held"))["data"]
        assert event["id"] == ix_id and event["held"] is True
        assert (await desktop.call("GET", f"/v1/interactions/{ix_id}"))["held"] is True
        assert await talk_path(ari, ix_id, customer_leg) == {agent_leg}
        # IN-2: the first hold moved a native call's parties to the shared
        # bridge, which sends each phone Asterisk's own stream
        assert (await interaction_bridge(ari, ix_id))["id"] == f"{ix_id}-shared"
        await wait_until(lambda: bridge_gone(ari, ix_id), what="the direct bridge gone")
        if recording == "off":
            # the relayed stream ended with the move: the agent's phone hears
            # Asterisk's own stream under a new SSRC, a new source to any
            # receiver (RFC 3550, 8.2)
            moved = await ari.rtp_statistics(agent_leg)
            assert moved["local_ssrc"] not in (relayed["local_ssrc"], relayed["remote_ssrc"])
        moh = await ami_events.wait_for(
            "MusicOnHoldStart", lambda e: e.get("Uniqueid") == customer_leg
        )
        assert moh["Class"] == "default"
        # the music reaches the customer's phone
        assert await packets_sent_to(ari, customer_leg) >= 20
        await customer.wait_for_audio()
        # the agent no longer hears the customer: Asterisk sends the agent's
        # phone nothing (it would keep reporting the last level it heard)
        # while it still receives the agent's audio
        assert await packets_sent_to(ari, agent_leg) < 5
        assert await packets_received_from(ari, agent_leg) >= 20
        assert (await desktop.me())["state"] == "connected"

        # END-1: ending a held call is refused and changes nothing
        with pytest.raises(ApiError) as refused:
            await desktop.end(ix_id)
        assert refused.value.status == 409
        assert refused.value.body["details"]["rule"] == "END-1"
        ix = await desktop.call("GET", f"/v1/interactions/{ix_id}")
        assert ix["status"] == "connected" and ix["held"] is True
        assert customer_leg in {c["id"] for c in await ari.channels()}
        # holding twice is refused too
        with pytest.raises(ApiError) as twice:
            await desktop.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert twice.value.status == 409
        assert twice.value.body["details"]["rule"] == "HOLD-1"

        # HOLD-2: resume -> music stops, both hear each other again
        resumed = await desktop.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert resumed["held"] is False
        assert (await desktop.event("interaction.resumed"))["data"]["held"] is False
        await ami_events.wait_for("MusicOnHoldStop", lambda e: e.get("Uniqueid") == customer_leg)
        assert await talk_path(ari, ix_id, customer_leg) == {customer_leg, agent_leg}
        technology = (await interaction_bridge(ari, ix_id))["technology"]
        assert technology == ("simple_bridge" if recording == "off" else "softmix")
        assert await audio_flows(ari, [customer_leg, agent_leg])
        await phone.wait_for_audio()
        await customer.wait_for_audio()
        with pytest.raises(ApiError) as not_held:
            await desktop.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert not_held.value.status == 409
        assert not_held.value.body["details"]["rule"] == "HOLD-2"

        # now the agent may end the call
        ended = await desktop.end(ix_id)
        assert ended["end_cause"] == "agent_end" and ended["held"] is False
        await customer.wait_for("closed")
        await phone.wait_for("closed")
        await desktop.state_event("wrap_up")
        await desktop.wrap_up(ix_id, "resolved")
        assert (await desktop.call("GET", f"/v1/interactions/{ix_id}"))["agent"] == agent


@pytest.mark.spec("HOLD-1")
async def test_given_call_not_connected_or_of_another_agent_when_hold_then_refused(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        ix_id = (await alice.event("interaction.offered"))["data"]["interaction_id"]
        await phone.wait_for("incoming")

        # ringing, not connected: refused by the rule
        with pytest.raises(ApiError) as ringing:
            await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert ringing.value.status == 409
        assert ringing.value.body["details"]["rule"] == "HOLD-1"
        assert ringing.value.body["details"]["status"] == "ringing"

        await phone.answer()
        await alice.event("interaction.connected")
        await customer.wait_for("established")

        # another agent, a supervisor: not theirs to hold or resume
        for who in (bob, supervisor):
            for action in ("hold", "resume"):
                with pytest.raises(ApiError) as other:
                    await who.call("POST", f"/v1/interactions/{ix_id}/{action}")
                assert other.value.status == 403
        with pytest.raises(ApiError) as unknown:
            await alice.call("POST", f"/v1/interactions/{'0' * 32}/hold")
        assert unknown.value.status == 404
        ix = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert ix["held"] is False
        assert customer.current_call is not None

        await customer.hangup()
        await alice.event("interaction.ended")
        await phone.wait_for("closed")


@pytest.mark.spec("HOLD-1", "END-1")
async def test_given_held_call_when_customer_hangs_up_then_call_ends_cleanly(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001")
        phone, customer, connected = call.phone, call.customer, call.connected
        ix_id = connected["id"]
        await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        await customer.wait_for_audio()
        await customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup" and ended["held"] is False
        await phone.wait_for("closed")
        await alice.state_event("wrap_up")
        await wait_until(lambda: _nothing_of(ari, ix_id), what="the call's channels and bridge")


@pytest.mark.spec("HOLD-1", "END-1")
async def test_given_held_call_when_agent_hangs_up_the_phone_then_call_ends_cleanly(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001")
        phone, customer, connected = call.phone, call.customer, call.connected
        ix_id = connected["id"]
        await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        await customer.wait_for_audio()
        await phone.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "agent_hangup" and ended["held"] is False
        assert (await customer.wait_for("closed")).ended_by_peer
        await alice.state_event("wrap_up")
        await wait_until(lambda: _nothing_of(ari, ix_id), what="the call's channels and bridge")


async def packets_sent_to(ari: AriClient, channel_id: str, seconds: float = 1.0) -> int:
    """RTP packets Asterisk sent to the channel's phone within `seconds`."""
    before = await ari.rtp_statistics(channel_id)
    await asyncio.sleep(seconds)
    after = await ari.rtp_statistics(channel_id)
    return after.get("txcount", 0) - before.get("txcount", 0)


async def packets_received_from(ari: AriClient, channel_id: str, seconds: float = 1.0) -> int:
    """RTP packets Asterisk received from the channel's phone within `seconds`."""
    before = await ari.rtp_statistics(channel_id)
    await asyncio.sleep(seconds)
    after = await ari.rtp_statistics(channel_id)
    return after.get("rxcount", 0) - before.get("rxcount", 0)


async def _customer_channel(ari: AriClient, ix_id: str) -> str:
    for channel in await ari.channels():
        if channel.get("name", "").startswith("PJSIP/carrier-"):
            return str(channel["id"])
    raise AssertionError(f"no customer channel for {ix_id}")


async def _nothing_of(ari: AriClient, ix_id: str) -> bool:
    channels = [c["id"] for c in await ari.channels()]
    bridges = [b["id"] for b in await ari.bridges()]
    return not channels and ix_id not in bridges
