"""The in-process harness: the service built by `controlplane.app.build` in the
test's own event loop, on a real Redis (a private redis-server on a free
loopback port, one per test session, emptied before every test), with the
in-memory Asterisk (`tests.support.fake_ari`) and AMI
(`tests.support.fake_ami`) in place of the real ones. Tests drive it only
through its REST API, its event WebSocket and the fake's far ends.

After every test: no channel and no bridge is left in the fake Asterisk, no
agent is left `reserved`, and the service sent no request the fake does not
know.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from controlplane.adapters.store import Store
from controlplane.app import build
from controlplane.config import Config, parse_config
from tests.support.fake_ami import FakeAmi
from tests.support.fake_ari import FakeAri

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKENS = ("demo-admin-token", "demo-globex-admin-token")  # the demo's tenants
# The shortest ring time a queue may have (RONA-1): a test that waits for it
# waits this long.
RING_SECONDS = 3

ConfigChange = Callable[[dict[str, Any]], None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for this test session, without persistence."""
    server = shutil.which("redis-server")
    assert server is not None, "redis-server is not installed (apt-get install redis-server)"
    workdir = tmp_path_factory.mktemp("redis")
    for _attempt in range(5):
        port = _free_port()
        proc = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        raise AssertionError("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    """The store on the test run's Redis, with a datacenter of its own."""
    store = Store.from_url(redis_url, f"dc{uuid.uuid4().hex[:8]}")
    try:
        yield store
    finally:
        await store.close()


def inprocess_config(redis_url: str, change: ConfigChange | None = None) -> Config:
    """The demo configuration on the private Redis, with the shortest ring
    times and without admission under overload (the tests share two cores
    with whatever else runs; overload has its own tests)."""
    data = tomllib.loads((REPO / "config" / "demo.toml").read_text())
    data["service"]["redis_url"] = redis_url
    data["service"]["log_level"] = "DEBUG"
    data["overload"] = {"enabled": False}
    acme = data["tenants"]["acme"]
    for queue in acme["queues"].values():
        queue["max_ring_seconds"] = RING_SECONDS
        queue["callback_ring_seconds"] = RING_SECONDS
        queue["callback_retry_seconds"] = 1
    acme["transfer_ring_seconds"] = RING_SECONDS
    acme["outdial_agent_ring_seconds"] = RING_SECONDS
    acme["outdial_customer_ring_seconds"] = RING_SECONDS
    if change is not None:
        change(data)
    return parse_config(data, "in-process test configuration")


@dataclass
class Service:
    """The service running in-process, and what stands in for Asterisk."""

    url: str
    config: Config
    ari: FakeAri
    ami: FakeAmi

    def agent_endpoint(self, extension: str) -> str:
        return self.config.datacenter.asterisk[0].agent_endpoint.format(extension=extension)

    def number_endpoint(self, number: str) -> str:
        return self.config.datacenter.asterisk[0].outbound_endpoint.format(number=number)

    async def agents_reserved(self) -> list[str]:
        """The agents of every tenant that are `reserved`, as the API lists them."""
        found = []
        async with aiohttp.ClientSession() as http:
            for token in ADMIN_TOKENS:
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{self.url}/v1/agents", headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
                    agents = (await resp.json())["agents"]
                found += [f"{a['tenant']}/{a['id']}" for a in agents if a["state"] == "reserved"]
        return found


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


StartService = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service(redis_url: str) -> AsyncIterator[StartService]:
    """Starts the service (once per test) with an optional change to the
    configuration; checks and stops it after the test."""
    servers: list[tuple[TestServer, Service]] = []
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushall()

    async def start(change: ConfigChange | None = None) -> Service:
        config = inprocess_config(redis_url, change)
        ami = FakeAmi()
        # pjsip.conf's phones 1001..1020 are registered; the browser phones
        # 2001..2020 are not (PH-1)
        extensions = {str(e): True for e in range(1001, 1021)}
        extensions.update({str(e): False for e in range(2001, 2021)})
        ari = FakeAri(
            config.datacenter.asterisk[0].app, device_state=ami.device_state, registered=extensions
        )
        server = TestServer(build(config, ari=ari, ami=ami), host="127.0.0.1", port=0)
        await server.start_server()
        service = Service(str(server.make_url("")).rstrip("/"), config, ari, ami)
        servers.append((server, service))
        await wait_until(lambda: _stream_connected(service.url), "the service's event stream")
        return service

    try:
        yield start
        for _server, service in servers:
            await service.ari.wait_for(
                "an Asterisk without channels and bridges",
                lambda s=service: not s.ari.leftovers(),  # type: ignore[misc]
            )
            await wait_until(
                lambda s=service: _none(s.agents_reserved()),  # type: ignore[misc]
                "no agent left reserved",
            )
            assert not service.ari.unsupported, service.ari.unsupported
    finally:
        for server, _service in servers:
            await server.close()
        await client.flushall()
        await client.aclose()


@pytest.fixture
async def service(start_service: StartService) -> Service:
    """The service on the in-process test configuration."""
    return await start_service()


async def _none(items: Awaitable[list[str]]) -> bool:
    return not await items


async def _stream_connected(base_url: str) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as resp:
        text = await resp.text()
    return "\ncp_ari_event_stream_connected 1.0\n" in text
