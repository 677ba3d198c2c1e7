"""Action latency: what the control plane adds to accept, hold, resume,
transfer and end, against the bare ARI round trip (``GET /ari/asterisk/ping``)
measured in the same run, with real SIP phones (baresip) and the REST API.

- accept: the agent's phone answers (Asterisk's time stamp of the agent leg
  going up, AMI) -> the desktop receives ``interaction.connected``; and, on
  Asterisk's side alone, agent leg up -> customer in the talk bridge;
- hold, resume, transfer, end, wrap-up: the API request's round trip as the
  desktop sees it (keep-alive HTTP, like the ARI ping);
- the API floor: ``GET /v1/agents/{id}`` (HTTP, auth, one Redis read).

Transfer is a blind transfer to a dial number of the PSTN simulator
(``--transfer-to``, default +15551000000: answers and echoes), on every other
call, when the running service has ``POST /v1/interactions/{id}/transfer``.

    .venv/bin/python -m bench.latency                   # 40 calls
    .venv/bin/python -m bench.latency --calls 200 --recording
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

import devstack
from bench.loadrun import BENCH_JSON_DIR
from bench.measure import AmiTimeline, CallTimes, ms, percentile
from bench.stack import (
    AMI_SECRET,
    AMI_USER,
    CP_NUMBER,
    RUN_DIR,
    WRAP_UP_REASON,
    BenchStack,
    agent_id,
    agent_token,
    log,
    machine_lock,
)
from controlplane.adapters.ari import AriClient
from tests.support.phones import Phone, PhoneFactory

EXTENSION = 1001
CUSTOMER_ANI = "+15557770001"
TRANSFER_PATH = "/v1/interactions/{ix_id}/transfer"
OUT = BENCH_JSON_DIR / "latency.json"

Event = dict[str, Any]


class Desktop:
    """The agent's desktop: REST calls timed, events kept with their arrival time."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.events: list[tuple[float, Event]] = []
        self._seen = 0
        self._new = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=15),
        )
        ws = await self._session.ws_connect(f"{self.url}/v1/events", heartbeat=15)
        await ws.receive_json(timeout=10)  # hello
        self._reader = asyncio.create_task(self._read(ws), name="desktop-events")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._session is not None:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                at = time.time()
                async with self._new:
                    self.events.append((at, json.loads(msg.data)))
                    self._new.notify_all()

    async def event(
        self, kind: str, where: Callable[[Event], bool] = lambda _e: True, timeout: float = 15
    ) -> tuple[float, Event]:
        """The next event of that kind after the last one returned."""
        found: list[tuple[float, Event]] = []

        def check() -> bool:
            for index in range(self._seen, len(self.events)):
                at, ev = self.events[index]
                if ev.get("type") == kind and where(ev):
                    self._seen = index + 1
                    found.append((at, ev))
                    return True
            return False

        async with self._new:
            await asyncio.wait_for(self._new.wait_for(check), timeout)
        return found[0]

    async def call(self, method: str, path: str, body: Any = None) -> tuple[float, int, Any]:
        """(round trip in seconds, status, body) of one request."""
        assert self._session is not None
        started = time.perf_counter()
        async with self._session.request(method, f"{self.url}{path}", json=body) as resp:
            data = await resp.json(content_type=None)
        return time.perf_counter() - started, resp.status, data

    async def must(self, method: str, path: str, body: Any = None) -> float:
        took, status, data = await self.call(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {data}")
        return took


class Samples:
    def __init__(self) -> None:
        self.by_name: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.by_name.setdefault(name, []).append(seconds)

    def get(self, name: str) -> list[float]:
        return self.by_name.get(name, [])


async def _ping(ari: AriClient, samples: Samples, count: int = 5) -> None:
    for _ in range(count):
        started = time.perf_counter()
        await ari.ping()
        samples.add("ari_ping", time.perf_counter() - started)


async def _has_transfer(url: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/openapi.json") as resp:
        doc = await resp.json()
    return TRANSFER_PATH in (doc.get("paths") or {})


@dataclass
class Bench:
    desktop: Desktop
    agent_phone: Phone
    customer: Phone
    timeline: AmiTimeline
    ari: AriClient
    samples: Samples
    transfer_to: str | None
    notes: list[str]


async def _one_call(index: int, b: Bench) -> None:
    desktop, agent_phone, customer = b.desktop, b.agent_phone, b.customer
    timeline, ari, samples, transfer_to, notes = (
        b.timeline,
        b.ari,
        b.samples,
        b.transfer_to,
        b.notes,
    )
    agent = agent_id(EXTENSION)
    await customer.dial(CP_NUMBER)
    at_connected, connected = await desktop.event("interaction.connected")
    ix_id = str(connected["data"]["id"])
    await customer.wait_for("established")
    await agent_phone.wait_for("established")
    call = _latest_call(timeline)
    if call is not None and call.agent_answered is not None:
        samples.add("accept_event", at_connected - call.agent_answered)
        if call.bridged is not None:
            samples.add("accept_bridged", call.bridged - call.agent_answered)
    await _ping(ari, samples)
    samples.add("api_floor", await desktop.must("GET", f"/v1/agents/{agent}"))
    samples.add("hold", await desktop.must("POST", f"/v1/interactions/{ix_id}/hold"))
    await desktop.event("interaction.held")
    await _ping(ari, samples)
    samples.add("api_floor", await desktop.must("GET", f"/v1/agents/{agent}"))
    samples.add("resume", await desktop.must("POST", f"/v1/interactions/{ix_id}/resume"))
    await desktop.event("interaction.resumed")
    await _ping(ari, samples)
    transferred = False
    if transfer_to is not None and index % 2 == 1:
        took, status, data = await desktop.call(
            "POST",
            TRANSFER_PATH.format(ix_id=ix_id),
            {"kind": "dial_number", "target": transfer_to},
        )
        if status == 200:
            samples.add("transfer", took)
            transferred = True
        elif not notes:
            notes.append(f"transfer refused ({status}): {data}")
    if transferred:
        await desktop.event("agent.state", lambda e: e["data"]["state"] == "wrap_up")
        await asyncio.sleep(0.3)  # the customer talks to the transfer target
        await customer.hangup()
        await customer.wait_for("closed")
        await agent_phone.wait_for("closed")
    else:
        samples.add("end", await desktop.must("POST", f"/v1/interactions/{ix_id}/end"))
        await desktop.event("agent.state", lambda e: e["data"]["state"] == "wrap_up")
        await customer.wait_for("closed")
        await agent_phone.wait_for("closed")
    await _ping(ari, samples)
    samples.add(
        "wrap_up",
        await desktop.must("POST", f"/v1/interactions/{ix_id}/wrap-up", {"reason": WRAP_UP_REASON}),
    )
    await desktop.event("agent.state", lambda e: e["data"]["state"] == "available")
    await _no_channels(ari)


def _latest_call(timeline: AmiTimeline) -> CallTimes | None:
    return max(timeline.calls.values(), key=lambda c: c.created, default=None)


async def _no_channels(ari: AriClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while await ari.channels():
        if time.monotonic() > deadline:
            raise RuntimeError("channels left in Asterisk after a call")
        await asyncio.sleep(0.05)


async def run(stack: BenchStack, calls: int, transfer_to: str) -> tuple[Samples, list[str]]:
    url = stack.urls[0]
    samples = Samples()
    notes: list[str] = []
    ari = AriClient(devstack.ARI_URL, devstack.ARI_USERNAME, devstack.ARI_PASSWORD, "bench")
    await ari.start()
    await ari.warm()
    timeline = AmiTimeline(devstack.LOOPBACK, devstack.AMI_PORT, AMI_USER, AMI_SECRET)
    await timeline.start()
    desktop = Desktop(url, agent_token(EXTENSION))
    factory = PhoneFactory(RUN_DIR / "phones")
    try:
        has_transfer = await _has_transfer(url)
        if not has_transfer:
            notes.append(f"transfer: n/a: the service has no {TRANSFER_PATH} (openapi.json)")
        await desktop.start()
        agent_phone = await factory.agent(str(EXTENSION), answer_after_ms=0)
        customer = await factory.customer(CUSTOMER_ANI)
        agent = agent_id(EXTENSION)
        await desktop.must("POST", f"/v1/agents/{agent}/login", {"extension": str(EXTENSION)})
        await desktop.must("PUT", f"/v1/agents/{agent}/state", {"state": "available"})
        await desktop.event("agent.state", lambda e: e["data"]["state"] == "available")
        await _ping(ari, samples, 20)  # warm both paths
        samples.by_name.clear()
        bench = Bench(
            desktop,
            agent_phone,
            customer,
            timeline,
            ari,
            samples,
            transfer_to if has_transfer else None,
            notes,
        )
        for index in range(calls):
            await asyncio.wait_for(_one_call(index, bench), timeout=60)
            if (index + 1) % 10 == 0:
                log(f"{index + 1}/{calls} calls")
    finally:
        await factory.close_all()
        await desktop.close()
        await timeline.close()
        await ari.close()
    return samples, notes


ROWS = (
    ("accept (agent up -> interaction.connected event)", "accept_event"),
    ("accept, Asterisk side (agent up -> customer bridged)", "accept_bridged"),
    ("hold (POST .../hold)", "hold"),
    ("resume (POST .../resume)", "resume"),
    ("transfer (POST .../transfer, dial number)", "transfer"),
    ("end (POST .../end)", "end"),
    ("wrap-up (POST .../wrap-up)", "wrap_up"),
    ("API floor (GET /v1/agents/{id})", "api_floor"),
)
TARGET_OVER_PING_MS = 1.5  # an action's p50 at most the ARI ping's p50 + this


def report(samples: Samples, notes: list[str], recording: bool) -> str:
    ping = samples.get("ari_ping")
    p50, p99 = percentile(ping, 50), percentile(ping, 99)
    lines = [
        f"== action latency, {len(samples.get('hold'))} calls, recording "
        f"{'on' if recording else 'off'}",
        f"ARI GET /asterisk/ping: p50 {ms(p50)}, p99 {ms(p99)} (n={len(ping)})",
        f"{'action':56} {'p50':>10} {'p99':>10} {'p50/ping':>9} {'p50-ping':>10}",
    ]
    for label, key in ROWS:
        values = samples.get(key)
        if not values:
            lines.append(f"{label:56} {'n/a':>10}")
            continue
        a50, a99 = percentile(values, 50), percentile(values, 99)
        lines.append(
            f"{label:56} {ms(a50):>10} {ms(a99):>10} "
            f"{(a50 / p50 if p50 and not math.isnan(p50) else math.nan):>8.1f}x "
            f"{ms(a50 - p50):>10}"
        )
    lines += notes
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=40, help="calls (default 40)")
    parser.add_argument("--recording", action="store_true", help="record the calls (REC-1)")
    parser.add_argument("--transfer-to", default="+15551000000", help="dial number to transfer to")
    args = parser.parse_args(argv)
    with machine_lock():
        stack = BenchStack(agents=2, recording=args.recording)
        try:
            stack.start_base()
            stack.flush_redis()
            stack.start_services(1)
            samples, notes = asyncio.run(run(stack, args.calls, args.transfer_to))
        finally:
            log("stopping the stack")
            stack.close()
    print(report(samples, notes, args.recording))
    (RUN_DIR / "latency-samples.json").write_text(json.dumps(samples.by_name))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures(samples, args.recording), indent=2, sort_keys=True) + "\n")
    print(f"figures written to {OUT}")


def figures(samples: Samples, recording: bool) -> dict[str, Any]:
    """The run's figures for build/bench/latency.json: the ARI ping (the
    baseline) and each action's p50 and p99, its p50 over the ping's and
    whether that meets the target."""

    def rounded(seconds: float) -> float | None:
        return None if math.isnan(seconds) else round(seconds * 1000, 3)

    ping = samples.get("ari_ping")
    ping_p50 = percentile(ping, 50)
    actions: dict[str, Any] = {}
    for _label, key in ROWS:
        values = samples.get(key)
        a50 = percentile(values, 50)
        over = rounded(a50 - ping_p50)
        actions[key] = {
            "n": len(values),
            "p50_ms": rounded(a50),
            "p99_ms": rounded(percentile(values, 99)),
            "p50_over_ping_ms": over,
            "meets_target": None if over is None else over <= TARGET_OVER_PING_MS,
        }
    return {
        "recording": recording,
        "ari_ping": {
            "n": len(ping),
            "p50_ms": rounded(ping_p50),
            "p99_ms": rounded(percentile(ping, 99)),
        },
        "target_p50_over_ping_ms": TARGET_OVER_PING_MS,
        "actions": actions,
    }


if __name__ == "__main__":
    main()
