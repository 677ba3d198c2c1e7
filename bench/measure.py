"""What the benchmarks measure with: percentiles, CPU time from /proc, and a
timeline of calls built from Asterisk's own time-stamped AMI events."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- statistics -------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def p50_p99(values: Sequence[float]) -> str:
    return f"p50 {ms(percentile(values, 50))}, p99 {ms(percentile(values, 99))} (n={len(values)})"


def ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


# -- CPU time -------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    # after "(comm)": state is fields[0]; utime and stime are stat fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run_queue_wait_seconds(pid: int) -> float:
    """Time the threads of a process waited, runnable, for a CPU (schedstat), in seconds."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return math.nan
    for task in tasks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def box_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (all cores), in seconds."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def pids_named(fragment: bytes) -> list[int]:
    """PIDs whose command line contains ``fragment`` (to find SIPp children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if fragment in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@dataclass
class CpuMeter:
    """CPU used by named processes (and the box) between ``start()`` and ``stop()``."""

    pids: dict[str, list[int]]
    _start: dict[str, float] = field(default_factory=dict)
    _box: float = 0.0
    _t0: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    _wait_start: dict[str, float] = field(default_factory=dict)
    waited: dict[str, float] = field(default_factory=dict)  # run-queue wait, seconds

    def _read_waits(self) -> dict[str, float]:
        return {
            name: sum(run_queue_wait_seconds(pid) for pid in pids)
            for name, pids in self.pids.items()
        }

    def _read(self) -> dict[str, float]:
        return {
            name: sum(process_cpu_seconds(pid) for pid in pids) for name, pids in self.pids.items()
        }

    def start(self) -> None:
        self._start = self._read()
        self._wait_start = self._read_waits()
        self._box = box_cpu_seconds()
        self._t0 = time.monotonic()

    def stop(self) -> None:
        end = self._read()
        self.wall = time.monotonic() - self._t0
        self.seconds = {name: end[name] - self._start[name] for name in end}
        self.seconds["box"] = box_cpu_seconds() - self._box
        waits = self._read_waits()
        self.waited = {name: waits[name] - self._wait_start[name] for name in waits}

    def percent(self, name: str) -> float:
        """Percent of one core (a 2-core box has 200%)."""
        return 100 * self.seconds.get(name, math.nan) / self.wall if self.wall else math.nan


# -- AMI timeline ----------------------------------------------------------------------


@dataclass
class CallTimes:
    """One customer call as Asterisk saw it (AMI ``Timestamp``s, epoch seconds)."""

    uniqueid: str
    ani: str
    created: float
    entered: float | None = None  # Newexten Stasis / Queue: the call reaches the app
    agent_ringing: float | None = None  # first agent leg ringing (180 from the phone)
    agent_answered: float | None = None  # first agent leg up (200 from the phone)
    agent_leg: str | None = None
    bridged: float | None = None  # the customer enters the talk bridge
    ended: float | None = None
    cause: str = ""
    rings: int = 0  # agent legs rung for this call (more than one: RONA)

    def entry_to_ringing(self) -> float | None:
        if self.entered is None or self.agent_ringing is None:
            return None
        return self.agent_ringing - self.entered

    def answer_to_bridged(self) -> float | None:
        if self.agent_answered is None or self.bridged is None:
            return None
        return self.bridged - self.agent_answered


class AmiTimeline:
    """Reads the bench AMI user's events (a plain socket: light, and nothing
    between Asterisk's time stamp and us but the socket) into per-call times.

    Customer channels are ``PJSIP/carrier-*``; an agent leg is matched to its
    call by the customer's number, which both the control plane (the
    originate's caller ID) and app_queue give the agent's channel."""

    CARRIER_PREFIX = "PJSIP/carrier-"

    def __init__(self, host: str, port: int, user: str, secret: str) -> None:
        self._host, self._port, self._user, self._secret = host, port, user, secret
        self.calls: dict[str, CallTimes] = {}
        self._by_ani: dict[str, CallTimes] = {}
        self._agent_legs: dict[str, CallTimes] = {}
        self.agent_up: dict[str, float] = {}  # agent leg uniqueid -> time up
        self.bridge_enter: dict[str, float] = {}  # uniqueid -> first BridgeEnter
        self.active = 0
        self.events = 0
        self.newexten_seen = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        await self._reader.readline()  # banner
        self._writer.write(
            (
                f"Action: Login\r\nUsername: {self._user}\r\nSecret: {self._secret}\r\n"
                "Events: on\r\n\r\n"
            ).encode()
        )
        reply = await self._message()
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login of {self._user} refused: {reply}")
        self._task = asyncio.create_task(self._read(), name="ami-timeline")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def _message(self) -> dict[str, str]:
        assert self._reader is not None
        raw = await self._reader.readuntil(b"\r\n\r\n")
        message: dict[str, str] = {}
        for line in raw.decode(errors="replace").split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                message.setdefault(key, value)
        return message

    async def _read(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                self.on_event(await self._message())

    def on_event(self, e: dict[str, str]) -> None:
        kind = e.get("Event")
        if kind is None:
            return
        self.events += 1
        at = float(e.get("Timestamp") or time.time())
        uid = e.get("Uniqueid", "")
        channel = e.get("Channel", "")
        if kind == "Newchannel" and channel.startswith(self.CARRIER_PREFIX):
            call = CallTimes(uniqueid=uid, ani=e.get("CallerIDNum", ""), created=at)
            self.calls[uid] = call
            self._by_ani[call.ani] = call
            self.active += 1
        elif kind == "Newexten":
            self.newexten_seen = True
            entering = self.calls.get(uid)
            if entering is not None and entering.entered is None:
                entering.entered = at
        elif kind == "Newstate" and not channel.startswith(self.CARRIER_PREFIX):
            state = e.get("ChannelState")
            if state == "5":  # Ringing: the phone sent 180
                found = self._by_ani.get(e.get("CallerIDNum", "")) or self._by_ani.get(
                    e.get("ConnectedLineNum", "")
                )
                if found is not None and uid not in self._agent_legs:
                    self._agent_legs[uid] = found
                    found.rings += 1
                    if found.agent_ringing is None:
                        found.agent_ringing = at
            elif state == "6":  # Up: the phone answered
                self.agent_up.setdefault(uid, at)
                leg_call = self._agent_legs.get(uid)
                if leg_call is not None and leg_call.agent_answered is None:
                    leg_call.agent_answered = at
                    leg_call.agent_leg = uid
        elif kind == "BridgeEnter":
            self.bridge_enter.setdefault(uid, at)
            joining = self.calls.get(uid)
            if joining is not None and joining.bridged is None:
                joining.bridged = at
        elif kind == "Hangup":
            ending = self.calls.get(uid)
            if ending is not None and ending.ended is None:
                ending.ended = at
                ending.cause = e.get("Cause-txt", e.get("Cause", ""))
                self.active -= 1

    def between(self, start: float, end: float) -> list[CallTimes]:
        """Calls created in [start, end) (epoch seconds)."""
        return [c for c in self.calls.values() if start <= c.created < end]


def values(items: Iterable[float | None]) -> list[float]:
    return [v for v in items if v is not None]
