"""The Stasis app's event filter, in-process: Asterisk writes to the app's
WebSocket only the event types the service reads, named in one place (the
core's own and the hooks' observers), set again on every connection of the
event stream before its events are handled."""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import connected_call, of
from tests.support.desktop import Desktop
from tests.support.fake_ari import FakeAri

pytestmark = pytest.mark.inprocess

PACKAGE = Path(__file__).resolve().parents[2] / "controlplane"
# Every message type Asterisk 22 sends on an app's WebSocket
# (rest-api/api-docs/events.json: the subtypes of Message and Event).
ARI_MESSAGE_TYPES = frozenset(
    {
        "MissingParams", "DeviceStateChanged", "PlaybackStarted", "PlaybackContinuing",
        "PlaybackFinished", "RecordingStarted", "RecordingFinished", "RecordingFailed",
        "ApplicationMoveFailed", "ApplicationRegistered", "ApplicationUnregistered",
        "ApplicationReplaced", "BridgeCreated", "BridgeDestroyed", "BridgeMerged",
        "BridgeBlindTransfer", "BridgeAttendedTransfer", "BridgeVideoSourceChanged",
        "ChannelCreated", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge",
        "ChannelStateChange", "ChannelDtmfReceived", "ChannelDialplan", "ChannelCallerId",
        "ChannelUserevent", "ChannelHangupRequest", "ChannelVarset", "ChannelToneDetected",
        "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelHold", "ChannelUnhold",
        "ContactStatusChange", "EndpointStateChange", "Dial", "StasisEnd", "StasisStart",
        "TextMessageReceived", "ChannelConnectedLine", "PeerStatusChange", "ChannelTransfer",
        "RESTResponse", "CallBroadcast", "CallClaimed",
    }
)  # fmt: skip


def named_in_the_code() -> set[str]:
    """The ARI message types the service's code names anywhere (compares
    with, observes, hands on): each must pass the filter."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in ARI_MESSAGE_TYPES:
                found.add(str(node.value))
    return found


def allowed(fake: FakeAri) -> set[str]:
    return {str(e["type"]) for e in fake.events_allowed}


@pytest.mark.spec("REL-2")
async def test_the_filter_allows_exactly_the_event_types_the_code_reads(
    service: Service,
) -> None:
    fake = service.ari
    assert fake.events_disallowed == []
    assert allowed(fake) == named_in_the_code()
    assert {"StasisStart", "StasisEnd", "ChannelDestroyed"} <= allowed(fake)
    app = await fake.request("GET", f"/applications/{fake.app}")
    assert {e["type"] for e in app["events_allowed"]} == allowed(fake)


@pytest.mark.spec("REL-2")
async def test_the_filter_is_set_again_on_reconnection_and_the_call_path_runs_on_it(
    service: Service,
) -> None:
    fake = service.ari
    expected = allowed(fake)
    puts = len(fake.sent("PUT", f"/applications/{fake.app}/eventFilter"))
    fake.events_allowed = []  # as after an Asterisk restart: every event comes
    await fake.drop_event_stream()
    await fake.wait_for("the service back on the event stream", lambda: fake.stream_connected)
    await fake.wait_for("the filter set again", lambda: allowed(fake) == expected)
    assert len(fake.sent("PUT", f"/applications/{fake.app}/eventFilter")) == puts + 1
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        fake.far_hangup(call.customer)
        ended = (await alice.event("interaction.ended", of(call.ix_id)))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        await alice.wrap_up(call.ix_id, "resolved")
    # Asterisk had more to tell than the service reads, and kept it back.
    assert {e["type"] for e in fake.events} - expected >= {
        "ChannelStateChange",
        "ChannelEnteredBridge",
        "ChannelHangupRequest",
    }


async def test_the_fake_asterisk_writes_only_allowed_events_to_the_socket() -> None:
    fake = FakeAri("app", registered={"1001": True})
    await fake.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(fake.base_url.replace("http", "ws") + "/events?app=app") as ws,
        ):
            await fake.wait_for("the client connected", lambda: fake.stream_connected)
            body = {"allowed": [{"type": "StasisStart"}, {"type": "StasisEnd"}]}
            await fake.request("PUT", "/applications/app/eventFilter", body=body)
            channel = fake.customer_calls("8005550100", "+15551234567")
            await fake.answer(channel)
            await fake.hangup(channel)
            got = [
                json.loads((await asyncio.wait_for(ws.receive(), 2)).data)["type"]
                for _ in range(2)
            ]
            assert got == ["StasisStart", "StasisEnd"]
            with pytest.raises(TimeoutError):  # nothing else was written
                await asyncio.wait_for(ws.receive(), 0.2)
            assert [e["type"] for e in fake.events] == [
                "StasisStart",
                "ChannelStateChange",
                "ChannelHangupRequest",
                "StasisEnd",
                "ChannelDestroyed",
            ]
            await fake.request("PUT", "/applications/app/eventFilter", body={})
            assert fake.events_allowed == [] and fake.events_disallowed == []
    finally:
        await fake.close()
