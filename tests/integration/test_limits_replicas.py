"""Exact concurrent-call limits across replicas (LIM-1..LIM-3) with real
outdials: three service replicas on one Redis take simultaneous outdial
attempts, ten times the limit; exactly the limit is admitted, the rest is
refused with the right code, and every slot is back once the calls end. A
replica killed (SIGKILL) in the middle of placing a call leaves no slot and
no reserved agent behind."""

from __future__ import annotations

import asyncio
import contextlib
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

import devstack
from controlplane.domain.limits import SLOT_LEASE_MS
from tests.integration.conftest import LIM_TENANT_LIMIT, RUN_DIR, Stack, _toml_value
from tests.integration.test_outdial import of, slots
from tests.support.asterisk import wait_until
from tests.support.constants import DC_PREFIX, ECHO
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration

REPLICA_PORTS = (8093, 8094, 8095)
AGENTS = [(f"l{ext}", str(ext)) for ext in range(1012, 1020)]  # profile "caller"
ATTEMPTS = 10 * LIM_TENANT_LIMIT


def replica_config(name: str, port: int, change: dict[str, Any] | None = None) -> Path:
    """The test configuration for another replica: its own port, and changes."""
    data = tomllib.loads((RUN_DIR / "test.toml").read_text())
    data["service"]["listen_port"] = port
    for path, value in (change or {}).items():
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    target = RUN_DIR / f"{name}.toml"
    target.write_text("\n".join(f"{k} = {_toml_value(v)}" for k, v in data.items()) + "\n")
    return target


@contextlib.asynccontextmanager
async def replicas(configs: list[Path], ports: tuple[int, ...]) -> AsyncIterator[list[Any]]:
    """Service replicas without the Stasis app (the stack's service owns the
    event stream), started off the event loop: a test's proxy keeps serving."""
    runners = [
        devstack.ServiceRunner(c, RUN_DIR, port=p, stasis_app=None)
        for c, p in zip(configs, ports, strict=True)
    ]
    started: list[devstack.ServiceRunner] = []
    try:
        for runner in runners:
            await asyncio.to_thread(runner.start)
            started.append(runner)
        yield runners
    finally:
        for runner in started:
            with contextlib.suppress(devstack.DevStackError):
                await asyncio.to_thread(runner.stop)


async def post(session: aiohttp.ClientSession, url: str, token: str, body: Any) -> tuple[int, Any]:
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def ready(stack: Stack, phones: PhoneFactory) -> dict[str, Phone]:
    agent_phones = {}
    for name, ext in AGENTS:
        agent_phones[name] = await phones.agent(ext, answer_after_ms=None)
        async with Desktop(stack.url, f"test-lim-{name}-token", name) as desk:
            await desk.login(ext)
            await desk.available()
    return agent_phones


@pytest.mark.spec("LIM-3", "LIM-1", "LIM-2", "OD-8")
@pytest.mark.parametrize(
    ("change", "code", "tenant"),
    [
        ({}, 27, "lim"),
        (
            {
                "datacenters.dc1.max_concurrent_calls": LIM_TENANT_LIMIT,
                "tenants.lim.max_concurrent_calls": LIM_TENANT_LIMIT + 3,
            },
            26,
            None,
        ),
    ],
    ids=["tenant-bound", "datacenter-bound"],
)
async def test_given_three_replicas_when_ten_times_the_limit_dial_out_at_once_then_exactly_the_limit_is_admitted_and_all_slots_return(  # noqa: E501
    stack: Stack,
    phones: PhoneFactory,
    change: dict[str, Any],
    code: int,
    tenant: str | None,
) -> None:
    configs = [replica_config(f"limits-{p}", p, change) for p in REPLICA_PORTS]
    agent_phones = await ready(stack, phones)
    async with replicas(configs, REPLICA_PORTS) as runners:
        urls = [r.url for r in runners]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            jobs = []
            for i in range(ATTEMPTS):
                name, _ = AGENTS[i % len(AGENTS)]
                url = f"{urls[i % len(urls)]}/v1/agents/{name}/outdial"
                jobs.append(post(session, url, f"test-lim-{name}-token", {"number": ECHO}))
            results = await asyncio.gather(*jobs)

        by_agent: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for i, result in enumerate(results):
            by_agent[AGENTS[i % len(AGENTS)][0]].append(result)
        admitted = {
            name: body for name, rs in by_agent.items() for status, body in rs if status == 201
        }
        # LIM-3: exactly the limit, across the three replicas
        assert sum(1 for status, _ in results if status == 201) == LIM_TENANT_LIMIT, results
        assert len(admitted) == LIM_TENANT_LIMIT
        outcomes: Counter[str] = Counter()
        for name, rs in by_agent.items():
            for status, body in rs:
                if status == 201:
                    continue
                assert status == 409, body
                details = body["details"]
                if details["rule"] == "LIM-2":
                    # LIM-2: the code and its text
                    assert details["code"] == code and details["text"], body
                    outcomes[str(code)] += 1
                else:
                    # OD-8: only an agent whose own other attempt won can be busy
                    assert name in admitted and details["rule"] in ("OD-8", "OD-1"), body
                    outcomes["agent busy"] += 1
        assert outcomes[str(code)] >= ATTEMPTS - LIM_TENANT_LIMIT - 2 * (ATTEMPTS // len(AGENTS))
        assert await slots(stack, tenant) == LIM_TENANT_LIMIT

        # the admitted calls go through and end; every slot comes back
        async with contextlib.AsyncExitStack() as desks:
            for name, body in admitted.items():
                desk = await desks.enter_async_context(
                    Desktop(stack.url, f"test-lim-{name}-token", name)
                )
                await agent_phones[name].wait_for("incoming")
                await agent_phones[name].answer()
                await desk.event("interaction.connected", of(body["id"]))
                await desk.end(body["id"])
                await desk.wrap_up(body["id"], "done")
        await wait_until(lambda: _no_slots(stack), what="all slots released")
        assert await slots(stack, None) == 0
        for name, _ in AGENTS:  # nobody is left reserved
            assert await _agent_state(stack, name) == "available"


# LIM-3, OD-5: a replica dies while placing a call ----------------------------------------


class FreezableProxy:
    """A TCP proxy in front of ARI that can stop passing the client's bytes on:
    a request sent while frozen never reaches Asterisk."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.frozen = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, gate: bool) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if gate and self.frozen:
                        await asyncio.Event().wait()  # held until closed: never forwarded
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (
            asyncio.create_task(pump(reader, up_writer, True)),
            asyncio.create_task(pump(up_reader, writer, False)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()


@pytest.mark.spec("LIM-3", "OD-5", "REL-2")
async def test_given_replica_killed_while_placing_an_outdial_then_its_slot_and_the_agent_are_reclaimed_within_the_lease(  # noqa: E501
    stack: Stack, ari: Any, phones: PhoneFactory
) -> None:
    proxy = FreezableProxy(("127.0.0.1", devstack.ARI_PORT))
    proxy_port = await proxy.start()
    config = replica_config(
        "doomed",
        REPLICA_PORTS[0],
        {"datacenters.dc1.asterisk": [_via(proxy_port)]},
    )
    await phones.agent("1012", answer_after_ms=None)
    try:
        async with (
            replicas([config], REPLICA_PORTS[:1]) as (doomed,),
            Desktop(stack.url, "test-lim-l1012-token", "l1012") as desk,
        ):
            await desk.login("1012")
            await desk.available()
            await desk.state_event("available")
            proxy.frozen = True  # the replica's next ARI request never arrives
            async with aiohttp.ClientSession() as session:
                attempt = asyncio.create_task(
                    post(
                        session,
                        f"{doomed.url}/v1/agents/l1012/outdial",
                        "test-lim-l1012-token",
                        {"number": ECHO},
                    )
                )
                # the replica admitted the call and reserved the agent ...
                await wait_until(lambda: _slots_are(stack, "lim", 1), what="the attempt's slot")
                reserved = (await desk.state_event("reserved"))["data"]
                # ... and dies before its agent leg reached Asterisk
                await asyncio.to_thread(doomed.kill)
                killed = time.monotonic()
                with contextlib.suppress(aiohttp.ClientError):
                    await attempt
            ix_id = reserved["interaction"]
            failed = (
                await desk.event(
                    "interaction.outdial_failed", of(ix_id), timeout=SLOT_LEASE_MS / 1000
                )
            )["data"]
            assert failed["outcome"] == "failed"
            await wait_until(
                lambda: _slots_are(stack, "lim", 0),
                timeout=SLOT_LEASE_MS / 1000,
                what="the slot reclaimed",
            )
            reclaimed = time.monotonic() - killed
            assert reclaimed < SLOT_LEASE_MS / 1000, reclaimed
            back = (await desk.state_event("available"))["data"]
            assert back["previous"] == "reserved"
            assert await _agent_state(stack, "l1012") == "available"
            ended = await desk.call("GET", f"/v1/interactions/{ix_id}")
            assert ended["status"] == "ended" and ended["end_cause"] == "not_connected"
            assert f"{ix_id}-a1" not in {c["id"] for c in await ari.channels()}
            print(f"slot reclaimed {reclaimed:.1f} s after the kill")
    finally:
        await proxy.close()


def _via(port: int) -> dict[str, Any]:
    """The test's Asterisk node, with ARI reached through the proxy."""
    data = tomllib.loads((RUN_DIR / "test.toml").read_text())
    node = dict(data["datacenters"]["dc1"]["asterisk"][0])
    node["ari_url"] = f"http://127.0.0.1:{port}/ari"
    return node


async def _slots_are(stack: Stack, tenant: str | None, expected: int) -> bool:
    return await slots(stack, tenant) == expected


async def _no_slots(stack: Stack) -> bool:
    return await slots(stack, None) == 0


async def _agent_state(stack: Stack, agent: str) -> str | None:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        state = await client.hget(f"{DC_PREFIX}agent:lim:{agent}", "state")
        return None if state is None else str(state)
    finally:
        await client.aclose()
