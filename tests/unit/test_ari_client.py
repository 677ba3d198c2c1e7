"""The ARI client under a busy or failing Asterisk, against a small local
HTTP server that answers as ARI would: requests wait for a connection
instead of failing, a hang-up is tried again until Asterisk confirms it,
and an originate whose answer was lost is not placed twice."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from controlplane.adapters.ari import CONNECTIONS, AriClient, AriError


@dataclass
class FakeAri:
    """What the fake Asterisk saw and how it answers."""

    channels: set[str] = field(default_factory=set)
    bridges: set[str] = field(default_factory=set)
    hangups: list[str] = field(default_factory=list)  # every DELETE received
    originates: list[str] = field(default_factory=list)
    fail_next: int = 0  # how many requests to answer with 500 first
    drop_next: int = 0  # how many requests to run and then drop without answering
    delay: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"message": "Internal Server Error"}, status=500)
        return None

    def _drop(self, request: web.Request) -> None:
        if self.drop_next:
            self.drop_next -= 1
            assert request.transport is not None
            request.transport.close()  # the request ran; its answer is lost
            raise ConnectionResetError

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        channel = request.match_info["id"]
        self.hangups.append(channel)
        if (fault := await self._fault(request)) is not None:
            return fault
        if channel not in self.channels:
            return web.json_response({"message": "Channel not found"}, status=404)
        self.channels.discard(channel)
        self._drop(request)
        return web.Response(status=204)

    async def destroy_bridge(self, request: web.Request) -> web.StreamResponse:
        bridge = request.match_info["id"]
        if (fault := await self._fault(request)) is not None:
            return fault
        if bridge not in self.bridges:
            return web.json_response({"message": "Bridge not found"}, status=404)
        self.bridges.discard(bridge)
        return web.Response(status=204)

    async def originate(self, request: web.Request) -> web.StreamResponse:
        channel = request.query["channelId"]
        self.originates.append(channel)
        if channel in self.channels:
            return web.json_response(
                {"message": "Channel with given unique ID already exists"}, status=409
            )
        self.channels.add(channel)
        self._drop(request)
        return web.json_response({"id": channel, "state": "Down"})

    async def ping(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return web.json_response({"ping": "pong"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_delete("/ari/channels/{id}", self.hangup)
        app.router.add_delete("/ari/bridges/{id}", self.destroy_bridge)
        app.router.add_post("/ari/channels", self.originate)
        app.router.add_get("/ari/asterisk/ping", self.ping)
        return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, fake: FakeAri, port: int) -> None:
        self.fake = fake
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.fake.app())
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server(FakeAri(), _free_port())
    await srv.start()
    yield srv
    await srv.stop()


async def _client(port: int, connections: int = CONNECTIONS) -> AriClient:
    client = AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "app", connections=connections)
    await client.start()
    return client


async def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _closing(client: AriClient, body: Callable[[], Awaitable[None]]) -> None:
    try:
        await body()
    finally:
        await client.close()


@pytest.mark.spec("REL-2")
async def test_a_failing_hangup_is_tried_again_until_asterisk_confirms(server: Server) -> None:
    fake = server.fake
    fake.channels.add("c1")
    fake.fail_next = 4  # Asterisk answers 500 four times
    client = await _client(server.port)

    async def body() -> None:
        assert await client.hangup("c1") is True  # does not fail the caller
        assert client.teardowns_pending == 1
        await _eventually(lambda: client.teardowns_pending == 0)
        assert "c1" not in fake.channels
        assert fake.hangups == ["c1"] * 5
        assert await client.hangup("c1") is False  # gone: 404, no retry
        assert client.teardowns_pending == 0

    await _closing(client, body)


@pytest.mark.spec("REL-2")
async def test_a_hangup_while_asterisk_is_unreachable_happens_once_it_is_back() -> None:
    port = _free_port()
    client = await _client(port)

    async def body() -> None:
        assert await client.hangup("c2") is True
        assert client.teardowns_pending == 1
        fake = FakeAri(channels={"c2"})
        srv = Server(fake, port)
        await asyncio.sleep(0.3)
        await srv.start()  # Asterisk is back
        try:
            await _eventually(lambda: client.teardowns_pending == 0)
            assert "c2" not in fake.channels and fake.hangups[-1] == "c2"
        finally:
            await srv.stop()

    await _closing(client, body)


async def test_a_bridge_that_failed_to_go_is_destroyed_later(server: Server) -> None:
    fake = server.fake
    fake.bridges.add("b1")
    fake.fail_next = 2
    client = await _client(server.port)

    async def body() -> None:
        await client.destroy_bridge("b1")
        await _eventually(lambda: client.teardowns_pending == 0)
        assert fake.bridges == set()

    await _closing(client, body)


async def test_a_hangup_whose_answer_was_lost_is_confirmed_by_404(server: Server) -> None:
    fake = server.fake
    fake.channels.add("c3")
    fake.drop_next = 1  # the hang-up runs, its answer never arrives
    client = await _client(server.port)

    async def body() -> None:
        assert await client.hangup("c3") is False  # sent again at once: gone
        assert fake.hangups == ["c3", "c3"]
        assert client.teardowns_pending == 0

    await _closing(client, body)


async def test_an_originate_whose_answer_was_lost_is_not_placed_twice(server: Server) -> None:
    fake = server.fake
    fake.drop_next = 1
    client = await _client(server.port)

    async def body() -> None:
        channel = await client.originate("PJSIP/1001", channel_id="ix1-a1", app_args="agent,ix1")
        assert channel["id"] == "ix1-a1"
        assert fake.originates == ["ix1-a1", "ix1-a1"]  # sent again: 409, so it was placed
        assert fake.channels == {"ix1-a1"}
        # a first originate of an ID that exists is still refused
        with pytest.raises(AriError) as refused:
            await client.originate("PJSIP/1001", channel_id="ix1-a1", app_args="agent,ix1")
        assert refused.value.status == 409

    await _closing(client, body)


async def test_requests_wait_for_a_connection_while_asterisk_is_slow(server: Server) -> None:
    """More requests than connections, each slow: they queue for longer than
    the old 3 s connect timeout and none fails."""
    fake = server.fake
    fake.delay = 0.2
    client = await _client(server.port, connections=2)

    async def body() -> None:
        results = await asyncio.gather(*(client.ping() for _ in range(40)), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert fake.most_in_flight == 2  # bounded: never more than the pool

    await _closing(client, body)


async def test_every_request_is_timed_with_its_waits_and_retries(server: Server) -> None:
    fake = server.fake
    fake.delay = 0.1
    fake.channels.add("c9")
    fake.drop_next = 1
    client = await _client(server.port, connections=1)
    seen: list[tuple[str, float]] = []
    client.observer = lambda method, seconds: seen.append((method, seconds))

    async def body() -> None:
        await asyncio.gather(client.ping(), client.ping())  # the second waits ~0.1 s
        await client.hangup("c9")  # answer lost, sent again: one request
        assert [m for m, _ in seen] == ["GET", "GET", "DELETE"]
        assert max(s for m, s in seen if m == "GET") >= 0.2

    await _closing(client, body)
