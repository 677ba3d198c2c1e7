"""What Asterisk sends the control plane, per call: the Stasis app's
WebSocket carries only the event types the service reads (the app's event
filter, set again on every connection of the stream), and the control
plane's AMI user reads only the phones' device states (its read classes and
its event filter). The figures per call are printed (`-s` shows them)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest

import devstack
from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack
from tests.integration.test_resilience import _cut_connections
from tests.support.asterisk import wait_until
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration

APP = "controlplane"
CALLS = 3
# Long enough for each RTP stream's first RTCP report (every 5 s).
TALK_SECONDS = 6.0
# The event types the service reads: the core's call path (StasisStart,
# StasisEnd, ChannelDestroyed), the legs' dial status (Dial) and the
# callback key and its prompt (ChannelDtmfReceived, PlaybackFinished).
SERVICE_EVENTS = {
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "Dial",
    "ChannelDtmfReceived",
    "PlaybackFinished",
}
METER_LOG = "ari-meter.log"
_SENT = "<--- Sending ARI event to "
_TYPE = re.compile(r'^  "type": "(\w+)"', re.MULTILINE)


class AriMeter:
    """Counts the events Asterisk writes to the Stasis app's WebSocket, from
    Asterisk's own debug output for the app (`ari set debug`), logged to a
    channel of its own."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._log = stack.asterisk.rootfs / "var/log/asterisk" / METER_LOG
        self._offset = 0

    def start(self) -> None:
        out = self._stack.asterisk.cli(f"logger add channel {METER_LOG} verbose")
        assert "ERROR" not in out, out
        self._stack.asterisk.cli(f"ari set debug {APP} on")
        self._offset = self._log.stat().st_size if self._log.exists() else 0

    def stop(self) -> Counter[str]:
        self._stack.asterisk.cli(f"ari set debug {APP} off")
        self._stack.asterisk.cli(f"logger remove channel {METER_LOG}")
        return self.read()

    def read(self) -> Counter[str]:
        text = _read_from(self._log, self._offset)
        counts: Counter[str] = Counter()
        for message in text.split(_SENT)[1:]:
            found = _TYPE.search(message)
            counts[found[1] if found else "?"] += 1
        return counts


def _read_from(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


class AmiMeter:
    """Counts the AMI events the control plane's own AMI user receives (a
    second login of that user, as a second replica would have)."""

    def __init__(self) -> None:
        node = devstack.AMI_USERNAME, devstack.AMI_SECRET
        self.client = AmiClient("127.0.0.1", devstack.AMI_PORT, *node)
        self.counts: Counter[str] = Counter()
        self.client.on_event("*", self._count)

    def _count(self, event: dict[str, str]) -> None:
        self.counts[event.get("Event", "?")] += 1


async def _allowed(ari: AriClient) -> set[str]:
    app = await ari.request("GET", f"/applications/{APP}")
    return {str(item["type"]) for item in app.get("events_allowed") or []}


def _per_call(counts: Counter[str]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{kind} {n / CALLS:.1f}" for kind, n in counts.most_common())
    return f"{total / CALLS:.1f} per call ({parts})"


async def _calls(phones: PhoneFactory, alice: Desktop) -> None:
    await phones.agent("1001", answer_after_ms=0)
    await alice.login("1001")
    await alice.available()
    await alice.state_event("available")
    for n in range(CALLS):
        customer = await phones.customer(f"{CUSTOMER[:-1]}{n}")
        await customer.dial(SUPPORT)
        ix_id = (await alice.event("interaction.connected"))["data"]["id"]
        await customer.wait_for("established")
        await asyncio.sleep(TALK_SECONDS)
        await customer.hangup()
        await alice.event("interaction.ended")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        await alice.state_event("available")
    await alice.logout()
    await alice.state_event("logged_out")


@pytest.mark.spec("REL-2", "ST-4")
async def test_asterisk_sends_the_service_only_the_events_it_reads(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    ari_meter = AriMeter(stack)
    ami_meter = AmiMeter()
    await ami_meter.client.start()
    try:
        async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
            ari_meter.start()
            ami_meter.counts.clear()
            await _calls(phones, alice)
            await wait_until(lambda: _no_channels(ari), what="every call's channels gone")
            await asyncio.sleep(0.5)  # the last events of the last call
            ari_counts = ari_meter.stop()
            ami_counts = Counter(ami_meter.counts)
    finally:
        await ami_meter.client.close()
    print(f"\nARI events to the Stasis app: {_per_call(ari_counts)}")
    print(f"AMI events to the control plane's user: {_per_call(ami_counts)}")
    assert await _allowed(ari) == SERVICE_EVENTS  # set as the stream connected
    assert ari_counts["StasisStart"] >= 2 * CALLS  # the customer's and the agent's leg
    assert set(ari_counts) <= SERVICE_EVENTS, ari_counts
    # The agent's phone rang, was answered and hung up on each call.
    assert ami_counts["DeviceStateChange"] >= 3 * CALLS
    assert set(ami_counts) == {"DeviceStateChange"}, ami_counts


async def _no_channels(ari: AriClient) -> bool:
    return not await ari.channels()


@pytest.mark.spec("REL-2")
async def test_event_filter_is_set_again_when_the_event_stream_reconnects(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    # As after an Asterisk restart: the app has no filter and gets everything.
    await ari.request("PUT", f"/applications/{APP}/eventFilter", body={})
    assert await _allowed(ari) == set()
    pid = stack.service.pid
    assert pid is not None
    assert _cut_connections(pid, devstack.ARI_PORT) >= 1

    async def filtered() -> bool:
        try:
            return await _allowed(ari) == SERVICE_EVENTS
        except Exception:  # the app is away until the service is back
            return False

    await wait_until(filtered, timeout=15, what="the event filter set again")
    # The events the call path needs still come: a call from entry to wrap-up.
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001", answer_after_ms=100)
        await call.customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["id"] == call.ix_id and ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        await alice.wrap_up(call.ix_id, "resolved")
