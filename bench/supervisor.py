"""Supervisor console figures (not a test): with 300 agents and 50 queues
in Redis, the latency of `GET /v1/supervisor/snapshot` (p50 / p95 / p99),
and the messages a supervisor's WebSocket (`/v1/supervisor/events`)
receives while events of 15 calls per second are published.

No Asterisk and no phones: a Redis of its own (port 6397, under
build/bench/), the service's HTTP application with its real routes, auth,
stores and notifier, and a load generator that changes agent states and
queues in Redis and publishes the events of each call (queued, offered,
connected, ended, wrapped up, with the agent's state changes) through the
notifier, as the contact center does: 9 events a call, so 135 events/s at
15 calls/s. Writes build/bench/supervisor.json and prints the figures.

    .venv/bin/python -m bench.supervisor [--seconds 20] [--calls-per-second 15]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import web

import devstack
from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.api.http import EventHub, Services, build_app
from controlplane.app import build_services
from controlplane.config import Config, parse_config
from controlplane.contact_center import ContactCenter
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.interaction import Direction, Interaction, Status, now_ms
from controlplane.notifier import Notifier
from controlplane.tasks import TaskGroup
from controlplane.timers import Timers

OUT = devstack.REPO_ROOT / "build" / "bench"
REDIS_PORT = 6397
HTTP_PORT = 8096
AGENTS = 300
QUEUES = 50
TEAMS = 10
TOKEN = "bench-supervisor-token"


def config() -> Config:
    teams = {f"t{i}": {"name": f"Team {i}"} for i in range(TEAMS)}
    queues = {
        f"q{i}": {"name": f"Queue {i}", "teams": [f"t{i % TEAMS}", f"t{(i + 1) % TEAMS}"]}
        for i in range(QUEUES)
    }
    agents = {
        f"a{i}": {
            "name": f"Agent {i}",
            "extension": str(20000 + i),
            "team": f"t{i % TEAMS}",
            "profile": "basic",
        }
        for i in range(AGENTS)
    }
    data: dict[str, Any] = {
        "service": {
            "datacenter": "dc1",
            "redis_url": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "listen_port": HTTP_PORT,
        },
        "datacenters": {
            "dc1": {
                "name": "bench",
                "max_concurrent_calls": 10_000,
                "asterisk": [
                    {
                        "name": "none",
                        "ari_url": "http://127.0.0.1:9/ari",
                        "ari_user": "none",
                        "ari_password": "none",
                        "ami_user": "none",
                        "ami_secret": "none",
                    }
                ],
            }
        },
        "tenants": {
            "bench": {
                "name": "Bench",
                "datacenter": "dc1",
                "max_concurrent_calls": 10_000,
                "wrap_up_reasons": {"done": "Done"},
                "idle_reasons": {"break": "Break"},
                "flows": {"main": {}},
                "teams": teams,
                "queues": queues,
                "profiles": {"basic": {}},
                "agents": agents,
            }
        },
        "tokens": [
            {
                "sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                "role": "supervisor",
                "tenant": "bench",
            }
        ],
    }
    return parse_config(data, "bench")


class Load:
    """Calls at a steady rate: each queued, offered to an agent, connected,
    ended and wrapped up, with the agent's state changes, through the notifier."""

    def __init__(self, cc: ContactCenter, rate: float) -> None:
        self.cc = cc
        self.rate = rate
        self.events = 0
        self.calls = 0
        self._seq = 0

    async def _state(self, agent: str, previous: AgentState, state: AgentState) -> None:
        store = self.cc.store
        self._seq += 1
        await store.redis.hset(
            store.agent_key("bench", agent),
            mapping={"state": state.value, "previous": previous.value, "since": now_ms()},
        )
        change = Transition(previous, state, Trigger.OFFER, None)
        await self.cc.notifier.agent_state("bench", agent, change, now_ms(), self._seq)
        self.events += 1

    async def _publish(self, kind: str, ix: Interaction) -> None:
        await self.cc.notifier.publish(kind, "bench", ix.public(), agent=ix.agent)
        self.events += 1

    async def one_call(self, n: int) -> None:
        agent = f"a{n % AGENTS}"
        queue = f"q{n % QUEUES}"
        ix = Interaction(
            id=f"{n:032x}",
            tenant="bench",
            direction=Direction.INBOUND,
            label="Bench",
            ani="+15550000000",
            dnis="8000000000",
            entry_point="main",
            flow="main",
            queue=queue,
            queue_name=queue,
            node="none",
            customer_channel=f"bench-{n}",
        )
        store = self.cc.store
        await store.redis.zadd(store.queue_key("bench", queue), {ix.id: ix.entered_at})
        await self._publish("interaction.queued", ix)
        await asyncio.sleep(0.2)
        await store.redis.zrem(store.queue_key("bench", queue), ix.id)
        ix.agent, ix.status = agent, Status.RINGING
        await self._state(agent, AgentState.AVAILABLE, AgentState.RESERVED)
        await self._publish("interaction.offered", ix)
        await asyncio.sleep(0.2)
        ix.status, ix.connected_at = Status.CONNECTED, now_ms()
        await self._state(agent, AgentState.RESERVED, AgentState.CONNECTED)
        await self._publish("interaction.connected", ix)
        await asyncio.sleep(1.0)
        ix.status, ix.ended_at = Status.ENDED, now_ms()
        await self._state(agent, AgentState.CONNECTED, AgentState.WRAP_UP)
        await self._publish("interaction.ended", ix)
        await asyncio.sleep(0.2)
        ix.wrap_up_reason = "done"
        await self._publish("interaction.wrapped_up", ix)
        await self._state(agent, AgentState.WRAP_UP, AgentState.AVAILABLE)
        self.calls += 1

    async def run(self, seconds: float) -> None:
        tasks: list[asyncio.Task[None]] = []
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            tasks.append(asyncio.create_task(self.one_call(n)))
            n += 1
            await asyncio.sleep(max(0.0, start + n / self.rate - time.monotonic()))
        await asyncio.gather(*tasks)


async def seed(store: Store) -> None:
    """Agents in every state, calls waiting in every queue."""
    rng = random.Random(7)
    states = [s for s in AgentState]
    async with store.redis.pipeline(transaction=False) as pipe:
        for i in range(AGENTS):
            pipe.hset(
                store.agent_key("bench", f"a{i}"),
                mapping={
                    "state": rng.choice(states).value,
                    "since": now_ms() - rng.randint(0, 3_600_000),
                    "extension": str(20000 + i),
                },
            )
        for q in range(QUEUES):
            for c in range(rng.randint(0, 5)):
                pipe.zadd(store.queue_key("bench", f"q{q}"), {f"w{q}-{c}": now_ms() - c * 1000})
        await pipe.execute()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(seconds: float, rate: float) -> dict[str, Any]:
    cfg = config()
    store = Store.from_url(cfg.service.redis_url, "dc1")
    ari = AriClient("http://127.0.0.1:9/ari", "none", "none", "none")
    ami = AmiClient("127.0.0.1", 9, "none", "none")
    tasks = TaskGroup()
    notifier = Notifier(store, None)
    cc = build_services(
        cfg, store=store, ari=ari, notifier=notifier, tasks=tasks, timers=Timers(store)
    )
    hub = EventHub(store)
    app = build_app(Services(config=cfg, cc=cc, store=store, ari=ari, ami=ami, hub=hub))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    hub_task = asyncio.create_task(hub.run())
    await seed(store)
    await hub.ready.wait()
    url = f"http://127.0.0.1:{HTTP_PORT}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    result: dict[str, Any] = {"agents": AGENTS, "queues": QUEUES}
    try:
        async with aiohttp.ClientSession(headers=headers) as http:

            async def snapshot_times(count: int) -> list[float]:
                times: list[float] = []
                for _ in range(count):
                    t0 = time.perf_counter()
                    async with http.get(f"{url}/v1/supervisor/snapshot") as resp:
                        body = await resp.read()
                        assert resp.status == 200, body[:200]
                    times.append((time.perf_counter() - t0) * 1000)
                return times

            await snapshot_times(20)  # warm up
            idle = await snapshot_times(200)
            size = len(json.dumps(await (await http.get(f"{url}/v1/supervisor/snapshot")).json()))
            result["snapshot_idle_ms"] = {
                "p50": round(statistics.median(idle), 2),
                "p95": round(pct(idle, 95), 2),
                "p99": round(pct(idle, 99), 2),
            }
            result["snapshot_bytes"] = size

            received: list[float] = []
            async with http.ws_connect(f"{url}/v1/supervisor/events") as ws:
                first = await ws.receive(timeout=5)
                assert json.loads(first.data)["type"] == "snapshot"

                async def read() -> None:
                    async for msg in ws:
                        if msg.type is aiohttp.WSMsgType.TEXT:
                            received.append(time.monotonic())

                reader = asyncio.create_task(read())
                load = Load(cc, rate)
                t0 = time.monotonic()
                loaded_times: list[float] = []

                async def poll() -> None:
                    while time.monotonic() - t0 < seconds:
                        loaded_times.extend(await snapshot_times(1))
                        await asyncio.sleep(0.05)

                await asyncio.gather(load.run(seconds), poll())
                elapsed = time.monotonic() - t0
                await asyncio.sleep(1.0)
                reader.cancel()
            during = [t for t in received if t0 <= t <= t0 + elapsed]
            gaps = [b - a for a, b in itertools.pairwise(during)]
            result["load"] = {
                "calls_per_second": rate,
                "seconds": round(elapsed, 1),
                "calls": load.calls,
                "events_published": load.events,
                "events_per_second": round(load.events / elapsed, 1),
            }
            result["websocket"] = {
                "messages": len(during),
                "messages_per_second": round(len(during) / elapsed, 2),
                "min_gap_ms": round(min(gaps) * 1000, 1) if gaps else None,
            }
            result["snapshot_under_load_ms"] = {
                "p50": round(statistics.median(loaded_times), 2),
                "p95": round(pct(loaded_times, 95), 2),
                "p99": round(pct(loaded_times, 99), 2),
                "samples": len(loaded_times),
            }
    finally:
        hub_task.cancel()
        await runner.cleanup()
        await tasks.close()
        await store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--calls-per-second", type=float, default=15.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    redis_runner = devstack.RedisRunner(OUT / "supervisor-run", port=REDIS_PORT, fresh=True)
    redis_runner.start()
    try:
        result = asyncio.run(measure(args.seconds, args.calls_per_second))
    finally:
        redis_runner.stop()
    (OUT / "supervisor.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    idle, loaded = result["snapshot_idle_ms"], result["snapshot_under_load_ms"]
    ws = result["websocket"]
    print(
        f"snapshot ({AGENTS} agents, {QUEUES} queues): p95 {idle['p95']} ms idle, "
        f"{loaded['p95']} ms under load; WebSocket at {args.calls_per_second:g} calls/s "
        f"({result['load']['events_per_second']} events/s): {ws['messages_per_second']} "
        f"messages/s"
    )


if __name__ == "__main__":
    main()
