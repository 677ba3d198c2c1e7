"""The in-memory Asterisk itself: the event orders and answers the
in-process tests rely on, as Asterisk 22 gives them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from controlplane.adapters.ari import AriError
from tests.support.fake_ami import FakeAmi
from tests.support.fake_ari import FakeAri, Far

pytestmark = pytest.mark.inprocess


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAri, FakeAmi]]:
    ami = FakeAmi()
    ari = FakeAri("app", device_state=ami.device_state, registered={"1001": True})
    await ari.start()
    try:
        yield ari, ami
    finally:
        await ari.close()


def kinds(ari: FakeAri, channel: str) -> list[str]:
    """The kinds of the channel's events (a Dial event names it as its peer)."""
    return [
        e["type"]
        for e in ari.events
        if (e.get("channel") or e.get("peer") or {}).get("id") == channel
    ]


async def test_an_originated_leg_rings_enters_the_app_when_answered_and_leaves_it_on_hangup(
    fake: tuple[FakeAri, FakeAmi],
) -> None:
    ari, ami = fake
    created = await ari.originate("PJSIP/1001", channel_id="leg-1", app_args="agent,ix", timeout=5)
    assert created["id"] == "leg-1" and created["state"] == "Down"
    with pytest.raises(AriError) as twice:  # a retried originate cannot ring twice
        await ari.originate("PJSIP/1001", channel_id="leg-1", app_args="agent,ix")
    assert twice.value.status == 409
    leg = await ari.ringing("PJSIP/1001")
    assert ami.device_states["PJSIP/1001"] == "RINGING"
    ari.far_answer(leg.id)
    assert ami.device_states["PJSIP/1001"] == "INUSE"
    start = ari.of_kind("StasisStart", "leg-1")[0]
    assert start["args"] == ["agent", "ix"] and start["channel"]["state"] == "Up"
    await ari.create_bridge("b", name="b")
    await ari.add_to_bridge("b", ["leg-1"])
    assert await ari.hangup("leg-1") is True
    assert await ari.hangup("leg-1") is False  # gone: 404
    assert kinds(ari, "leg-1") == [
        "Dial",  # RINGING
        "ChannelStateChange",
        "Dial",  # ANSWER
        "ChannelStateChange",
        "StasisStart",
        "ChannelEnteredBridge",
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert [e["dialstatus"] for e in ari.of_kind("Dial", "leg-1")] == ["RINGING", "ANSWER"]
    assert ami.device_states["PJSIP/1001"] == "NOT_INUSE"
    assert await ari.destroy_bridge("b") is True
    assert ari.of_kind("BridgeDestroyed")[0]["bridge"]["channels"] == []
    assert not ari.leftovers()


async def test_unanswered_legs_end_with_the_dial_status_and_cause_asterisk_gives(
    fake: tuple[FakeAri, FakeAmi],
) -> None:
    ari, _ami = fake
    ari.script("Local/+15554000000@pstn-sim", Far.BUSY)
    await ari.originate("Local/+15554000000@pstn-sim", channel_id="busy", app_args="o,ix")
    await ari.originate("PJSIP/1001", channel_id="late", app_args="agent,ix", timeout=1)
    await ari.wait_for("both legs gone", lambda: not ari.channels_by_id, timeout=3)
    # a Local leg: cause 0, the outcome only in the Dial status
    assert ari.of_kind("Dial", "busy")[-1]["dialstatus"] == "BUSY"
    assert ari.of_kind("ChannelDestroyed", "busy")[0]["cause"] == 0
    # the originate's own timeout
    assert ari.of_kind("Dial", "late")[-1]["dialstatus"] == "NOANSWER"
    assert ari.of_kind("ChannelDestroyed", "late")[0]["cause"] == 19
    assert not ari.of_kind("StasisStart")
    ari.script("PJSIP/1002", Far.UNREACHABLE)
    with pytest.raises(AriError) as refused:
        await ari.originate("PJSIP/1002", channel_id="x", app_args="agent,ix")
    assert refused.value.status == 500


async def test_requests_the_model_does_not_know_are_recorded_and_refused(
    fake: tuple[FakeAri, FakeAmi],
) -> None:
    ari, _ami = fake
    with pytest.raises(AriError):
        await ari.request("POST", "/channels/x/redirect")
    assert ari.unsupported == ["POST /channels/x/redirect"]


async def test_events_reach_a_client_of_the_websocket_in_order(
    fake: tuple[FakeAri, FakeAmi],
) -> None:
    ari, _ami = fake
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ari.base_url.replace("http", "ws") + "/events?app=app") as ws,
    ):
        await ari.wait_for("the client connected", lambda: ari.stream_connected)
        channel = ari.customer_calls("8005550100", "+15551234567")
        await ari.answer(channel)
        await ari.hangup(channel)
        got: list[str] = []
        while len(got) < 5:
            got.append(json.loads((await asyncio.wait_for(ws.receive(), 2)).data)["type"])
    assert got == [
        "StasisStart",
        "ChannelStateChange",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
