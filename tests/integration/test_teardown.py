"""Nothing is left behind in Asterisk when its answers fail (REL-2): a
hang-up whose requests do not get through is tried again until the real
Asterisk confirms it, and the service removes channels and bridges that no
live interaction wants."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import pytest
import redis.asyncio as aioredis

import devstack
from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.domain.interaction import Direction, EndCause, Interaction, Status
from controlplane.orphans import SWEEP_SECONDS
from tests.integration.conftest import Stack
from tests.support.asterisk import wait_until

pytestmark = pytest.mark.integration

RINGS_FOREVER = "Local/+15553000000@pstn-sim"  # pstn-sim 300: rings, never answers


class FlakyProxy:
    """A TCP proxy to ARI that cuts every connection while `broken`."""

    def __init__(self) -> None:
        self.broken = True
        self.cut = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.broken:
            self.cut += 1
            sock = writer.get_extra_info("socket")
            if isinstance(sock, socket.socket):  # reset, as a crashed peer does
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", devstack.ARI_PORT)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def close(self) -> None:
        for task in list(self._pipes):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _ringing_channel(ari: AriClient, channel_id: str) -> None:
    await ari.request(
        "POST",
        "/channels",
        params={
            "endpoint": RINGS_FOREVER,
            "app": "controlplane",
            "appArgs": "teardown-test",
            "channelId": channel_id,
            "timeout": 120,
        },
    )


async def _exists(ari: AriClient, channel_id: str) -> bool:
    try:
        await ari.channel(channel_id)
    except AriError as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.mark.spec("REL-2")
async def test_given_ari_unreachable_when_hanging_up_then_retried_until_asterisk_confirms(
    stack: Stack, ari: AriClient
) -> None:
    channel_id = f"teardown-{uuid.uuid4().hex[:8]}"
    await _ringing_channel(ari, channel_id)
    proxy = FlakyProxy()
    port = await proxy.start()
    client = AriClient(
        f"http://127.0.0.1:{port}/ari",
        devstack.ARI_USERNAME,
        devstack.ARI_PASSWORD,
        "controlplane",
        retry_seconds=0.2,
    )
    await client.start()
    try:
        assert await client.hangup(channel_id) is True  # the caller goes on
        assert client.teardowns_pending == 1
        await asyncio.sleep(1.0)
        assert proxy.cut >= 2  # tried again while nothing got through
        assert await _exists(ari, channel_id)  # Asterisk never heard of it
        proxy.broken = False
        await wait_until(lambda: client.teardowns_pending == 0, timeout=10, what="confirmation")
        await wait_until(lambda: _gone(ari, channel_id), timeout=5, what="the channel to be gone")
    finally:
        await client.close()
        await proxy.close()
        with contextlib.suppress(AriError):
            await ari.hangup(channel_id)


async def _gone(ari: AriClient, channel_id: str) -> bool:
    return not await _exists(ari, channel_id)


@pytest.mark.spec("REL-2")
async def test_given_orphans_in_asterisk_then_the_service_removes_them(
    stack: Stack, ari: AriClient
) -> None:
    # A leg of an interaction that has no record (its replica died before
    # saving it), and the bridge of an interaction that has ended.
    leg = f"{uuid.uuid4().hex}-a1"
    ended = Interaction(
        id=uuid.uuid4().hex,
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme",
        ani="+15550000701",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="gone.1",
        status=Status.ENDED,
        end_cause=EndCause.ABANDONED,
    )
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        await store.save_interaction(ended)
    finally:
        await store.close()
    await ari.create_bridge(ended.id, name=f"ix-{ended.id}", kind="mixing")
    await _ringing_channel(ari, leg)
    # still there a moment later: nothing else removes them
    await asyncio.sleep(1.0)
    assert await _exists(ari, leg)
    assert ended.id in {b["id"] for b in await ari.bridges()}

    async def removed() -> bool:
        bridges = {b["id"] for b in await ari.bridges()}
        return ended.id not in bridges and not await _exists(ari, leg)

    # two sweeps in a row must find them orphaned
    await wait_until(removed, timeout=3 * SWEEP_SECONDS, interval=0.5, what="orphans removed")
