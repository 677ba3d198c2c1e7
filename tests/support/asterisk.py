"""What the tests check on the Asterisk side: channels, bridges, RTP, AMI events."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient, AriError, Bridge, Channel
from controlplane.domain import bridges as bridge_rules

_INTERACTION_ID = re.compile("[0-9a-f]{32}")


class AmiEvents:
    """Collects AMI events (a separate AMI connection, as a dashboard would have)."""

    def __init__(self, client: AmiClient) -> None:
        self.client = client
        self.events: list[dict[str, str]] = []
        self._changed = asyncio.Event()
        client.on_event("*", self._collect)

    def _collect(self, event: dict[str, str]) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self,
        name: str,
        where: Callable[[dict[str, str]], bool] = lambda _e: True,
        timeout: float = 10.0,
    ) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("Event") == name and where(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no AMI {name} event within {timeout}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue


async def wait_until(
    check: Callable[[], object], *, timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> None:
    """Poll an (async or plain) check until it returns something true."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last={last!r}")


async def interaction_bridge(ari: AriClient, ix_id: str) -> Bridge:
    """The bridge an interaction's parties talk in: its shared bridge once
    they moved there (IN-2), else its direct one (ID = the interaction's)."""
    try:
        return await ari.bridge(bridge_rules.shared_bridge_id(ix_id))
    except AriError as exc:
        if exc.status != 404:
            raise
    return await ari.bridge(ix_id)


async def bridge_gone(ari: AriClient, bridge_id: str) -> bool:
    """True when Asterisk has no bridge `bridge_id`."""
    return bridge_id not in {b["id"] for b in await ari.bridges()}


async def bridges_gone(ari: AriClient, ix_id: str) -> bool:
    """True when Asterisk has none of the interaction's bridges (IN-2)."""
    ids = {b["id"] for b in await ari.bridges()}
    return not ids & {ix_id, bridge_rules.shared_bridge_id(ix_id)}


async def channels_of_bridge(ari: AriClient, bridge_id: str) -> set[str]:
    """The channels in a bridge; an interaction's ID stands for the bridge
    its parties talk in."""
    if _INTERACTION_ID.fullmatch(bridge_id):
        bridge = await interaction_bridge(ari, bridge_id)
    else:
        bridge = await ari.bridge(bridge_id)
    return set(bridge.get("channels", []))


async def channel_by_endpoint(ari: AriClient, prefix: str) -> Channel | None:
    """The channel whose name starts with e.g. 'PJSIP/1001-'."""
    for channel in await ari.channels():
        if channel.get("name", "").startswith(prefix):
            return channel
    return None


async def audio_flows(ari: AriClient, channel_ids: list[str], seconds: float = 1.0) -> bool:
    """True when every channel both received and sent RTP during `seconds`."""
    before = {c: await ari.rtp_statistics(c) for c in channel_ids}
    await asyncio.sleep(seconds)
    for c in channel_ids:
        after = await ari.rtp_statistics(c)
        got = after.get("rxcount", 0) - before[c].get("rxcount", 0)
        sent = after.get("txcount", 0) - before[c].get("txcount", 0)
        # 20 ms packets: a second of audio is about 50 each way
        if got < 20 or sent < 20:
            return False
    return True
