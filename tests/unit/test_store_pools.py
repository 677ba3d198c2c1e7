"""Redis connections under load: more commands at once than the pool has
connections wait for one instead of failing, and the event-stream lease,
on a pool of its own, is renewed on time while the command pool is full.

A throw-away redis-server on a free loopback port (no persistence) is
started for the module; these tests need no Asterisk.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from controlplane.adapters.store import COMMAND_POOL_SIZE, Store
from controlplane.app import EVENT_STREAM_LEASE_MS, EventStreamOwner
from controlplane.config import AsteriskNode
from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import Direction, Interaction


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server is not None, "redis-server is not installed"
    port = _free_port()
    work: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
            "--maxclients",
            "1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(redis_url, "dc1")
    await store.redis.flushdb()
    yield store
    await store.close()


def _interaction(n: int) -> Interaction:
    return Interaction(
        id=f"ix{n:05d}",
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme",
        ani="+15550001000",
        dnis="8005550100",
        entry_point="main",
        flow="main",
        queue="main",
        queue_name="Main",
        node="ast1",
        customer_channel=f"chan{n}",
    )


async def _call_steps(store: Store, n: int) -> None:
    """The store's share of an inbound call: admit, save with the channel
    index, queue, read back, an agent's compare-and-set, release."""
    ix = _interaction(n)
    assert (
        await store.admit(
            ix.id, "acme", dc_limit=10_000, tenant_limit=10_000, now=1, lease_ms=60_000
        )
        == 0
    )
    await store.save_interaction(ix, new_channel=ix.customer_channel)
    await store.enqueue(ix)
    again = await store.interaction(ix.id)
    assert again is not None and again.id == ix.id
    assert await store.channel_interaction(f"chan{n}") == ix.id
    applied, _, _ = await store.transition_agent(
        "acme",
        f"agent{n}",
        "team",
        expected=(AgentState.LOGGED_OUT,),
        new=AgentState.IDLE,
        reason="login",
        now=1,
    )
    assert applied
    await store.release(ix.id, "acme")


async def test_more_commands_than_connections_wait_and_all_succeed(store: Store) -> None:
    calls = COMMAND_POOL_SIZE * 12
    results = await asyncio.gather(
        *(_call_steps(store, n) for n in range(calls)), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert len(await store.active_interactions()) == calls
    pool: Any = store.redis.connection_pool
    assert len(pool._in_use_connections) + len(pool._available_connections) <= COMMAND_POOL_SIZE


async def test_a_pool_that_does_not_wait_fails_the_same_load(redis_url: str) -> None:
    """What the service had: redis-py's default pool (100 connections in
    redis-py 8) refuses a command at once when all are busy; this is how
    the load test lost calls. The same size, without waiting, fails here."""
    pool = aioredis.ConnectionPool.from_url(
        redis_url, decode_responses=True, max_connections=COMMAND_POOL_SIZE
    )
    client = aioredis.Redis.from_pool(pool)
    store = Store(client, "dc1")
    try:
        results = await asyncio.gather(
            *(_call_steps(store, 10_000 + n) for n in range(COMMAND_POOL_SIZE * 12)),
            return_exceptions=True,
        )
    finally:
        await client.aclose()
    assert any(isinstance(r, MaxConnectionsError) for r in results)


class _IdleStream:
    """Stands in for the Stasis event stream (the owner drives it through
    run and stop only): runs until stopped; notes how much of the lease
    was left in Redis at each stop."""

    def __init__(self, store: Store, key: str) -> None:
        self.stopped = asyncio.Event()
        self.runs = 0
        self.lease_left_at_stop: list[int] = []
        self._store = store
        self._key = key

    async def run(self) -> None:
        self.runs += 1
        self.stopped.clear()
        await self.stopped.wait()

    async def stop(self) -> None:
        self.lease_left_at_stop.append(int(await self._store.lease_redis.pttl(self._key)))
        self.stopped.set()


def _node(name: str) -> AsteriskNode:
    return AsteriskNode(
        name=name,
        ari_url="http://127.0.0.1:1",
        ari_user="u",
        ari_password="p",
        ami_user="u",
        ami_secret="s",
    )


async def _owning(
    store: Store, name: str
) -> tuple[EventStreamOwner, _IdleStream, asyncio.Task[None]]:
    stream = _IdleStream(store, f"{store.prefix}owner:{name}")
    owner = EventStreamOwner(store, _node(name), stream)  # type: ignore[arg-type]
    task = asyncio.create_task(owner.run())
    for _ in range(50):
        if await owner.is_owner():
            break
        await asyncio.sleep(0.05)
    assert await owner.is_owner()
    return owner, stream, task


async def test_lease_renewals_keep_up_while_the_command_pool_is_full(store: Store) -> None:
    owner, stream, task = await _owning(store, "ast1")
    key = f"{store.prefix}owner:ast1"
    try:
        # Fill the command pool for about 4 s: blocking pops hold their
        # connections server-side without keeping Redis itself busy.
        holders = COMMAND_POOL_SIZE * 4
        saturate = asyncio.gather(
            *(store.redis.blpop([f"{store.prefix}nothing:{n}"], timeout=1) for n in range(holders))
        )
        await asyncio.sleep(0.2)

        async def timed_ping() -> float:
            started = time.monotonic()
            assert await store.redis.ping()
            return time.monotonic() - started

        # The command pool is full: a command waits for a connection...
        ping = asyncio.create_task(timed_ping())
        # ...while the lease is renewed on time, every quarter of its life.
        ttls: list[int] = []
        while not saturate.done():
            ttls.append(int(await store.lease_redis.pttl(key)))
            assert await owner.is_owner()
            await asyncio.sleep(0.1)
        waited = await ping
        assert waited > 1.0, f"the command pool was not saturated ({waited:.3f} s)"
        assert await saturate == [None] * holders
        assert owner.renewals_failed == 0
        assert stream.runs == 1 and not stream.stopped.is_set()
        assert len(ttls) > 20
        # renewed every 0.5 s: never less than half the lease left
        assert min(ttls) > EVENT_STREAM_LEASE_MS // 2, ttls
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await owner.release()
    assert await store.redis.exists(key) == 0


async def test_a_failed_renewal_keeps_the_stream_while_the_lease_surely_runs(store: Store) -> None:
    owner, stream, task = await _owning(store, "ast2")
    try:
        real = owner._renew
        failing = True

        async def flaky(**kwargs: Any) -> Any:
            if failing:
                raise ConnectionError("Redis restarting")
            return await real(**kwargs)

        owner._renew = flaky  # type: ignore[assignment]
        await asyncio.sleep(0.6)  # one renewal fails: the lease still runs
        assert owner.renewals_failed >= 1
        assert not stream.stopped.is_set() and await owner.is_owner()
        failing = False
        await asyncio.sleep(1.0)
        assert not stream.stopped.is_set() and await owner.is_owner()
        assert stream.runs == 1

        assert stream.lease_left_at_stop == []
        failing = True  # Redis gone for good: the stream stops before the lease may lapse
        await asyncio.sleep(EVENT_STREAM_LEASE_MS / 1000 + 0.2)
        assert len(stream.lease_left_at_stop) == 1
        assert stream.lease_left_at_stop[0] > 0, "the stream ran on after its lease lapsed"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await owner.release()
