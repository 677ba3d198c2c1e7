"""One load run: SIPp customers at a steady rate to one number, SIPp agent
phones answering with RTP echo, the agents' desktops wrapping up at once (the
control plane's runs), and the figures taken during the steady part of the
run (after the first calls' hold time, while calls still arrive)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import shutil
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis

import devstack
from bench import sipp
from bench.desktops import Desktops
from bench.measure import (
    AmiTimeline,
    CallTimes,
    CpuMeter,
    ms,
    p50_p99,
    percentile,
    values,
)
from bench.stack import AMI_SECRET, AMI_USER, RUN_DIR, BenchStack, extensions, log
from controlplane.orphans import SWEEP_SECONDS

BENCH_JSON_DIR = devstack.REPO_ROOT / "build" / "bench"
# After the run, the control plane's orphan sweep needs two sweeps to remove a leftover.
LEFTOVER_WAIT_SECONDS = 2 * SWEEP_SECONDS + 5


@dataclass(frozen=True)
class Level:
    rate: float  # calls per second
    duration: float  # seconds of new calls
    hold: float  # seconds from the customer's answer to their hang-up
    ring_ms: int = 0  # how long an agent phone rings before it answers

    @property
    def total(self) -> int:
        return max(1, round(self.rate * self.duration))

    @property
    def concurrent(self) -> int:
        return math.ceil(self.rate * self.hold)

    def describe(self) -> str:
        return (
            f"{self.rate:g} calls/s for {self.duration:g} s, {self.hold:g} s per call "
            f"(~{self.concurrent} concurrent), agents answer after {self.ring_ms} ms"
        )


@dataclass
class Result:
    target: str
    level: Level
    agents: int
    created: int = 0
    successful: int = 0
    failed: int = 0
    calls: list[CallTimes] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    concurrency: list[int] = field(default_factory=list)
    cpu: CpuMeter | None = None
    cpu_names: list[str] = field(default_factory=list)
    desktop_counts: Counter[str] = field(default_factory=Counter)
    desktop_errors: list[str] = field(default_factory=list)
    rtp_channels: tuple[int, int] = (0, 0)  # (channels with RTP both ways, channels looked at)
    leftovers: int = 0  # channels in Asterisk a second after the last call ended
    leftovers_later: int = 0  # ... and after the control plane's orphan sweep (two sweeps)
    bridges_later: int = 0
    service_log: Counter[str] = field(default_factory=Counter)  # failures the services logged
    jobs_pending: list[float] = field(default_factory=list)  # the first service's, each second
    refusing: list[float] = field(default_factory=list)  # ... and its overload gauge (1: refusing)
    signals: dict[str, list[float]] = field(default_factory=dict)  # ... and its load signals
    service_metrics: dict[str, str] = field(default_factory=dict)  # from its /metrics at the end
    profile: list[str] = field(default_factory=list)
    box_events: dict[str, int] = field(default_factory=dict)  # perf stat, the whole box, window
    redis_commands: Counter[str] = field(default_factory=Counter)  # during the window

    @property
    def window_calls(self) -> list[CallTimes]:
        return [c for c in self.calls if self.window[0] <= c.created < self.window[1]]

    def entry_to_ringing(self) -> list[float]:
        return values(c.entry_to_ringing() for c in self.window_calls)

    def answer_to_bridged(self) -> list[float]:
        return values(c.answer_to_bridged() for c in self.window_calls)

    def offers_per_second(self) -> float:
        start, end = self.window
        rung = [c for c in self.calls if c.agent_ringing and start <= c.agent_ringing < end]
        return len(rung) / (end - start) if end > start else math.nan

    def not_bridged(self) -> int:
        return sum(1 for c in self.calls if c.bridged is None)

    def cpu_ms_per_call(self, name: str) -> float:
        if self.cpu is None:
            return math.nan
        n = len(self.window_calls)
        return 1000 * self.cpu.seconds.get(name, math.nan) / n if n else math.nan

    def report(self) -> str:
        entry = self.entry_to_ringing()
        bridged = self.answer_to_bridged()
        sustained = statistics.median(self.concurrency) if self.concurrency else math.nan
        lines = [
            f"== {self.target}: {self.level.describe()}, {self.agents} agents",
            f"calls: {self.created} placed, {self.successful} completed, {self.failed} failed "
            f"(SIPp); {self.not_bridged()} never bridged to an agent",
            f"concurrent calls sustained: {sustained:g} "
            f"(median, max {max(self.concurrency, default=0)})",
            f"offers per second: {self.offers_per_second():.2f}",
            f"call entry (Stasis/Queue) -> agent phone ringing: {p50_p99(entry)}",
            f"agent answer -> customer bridged: {p50_p99(bridged)}",
            f"RTP both ways on {self.rtp_channels[0]}/{self.rtp_channels[1]} channels sampled",
        ]
        if self.cpu is not None:
            parts = []
            for name in self.cpu_names:
                parts.append(
                    f"{name} {self.cpu.percent(name):.1f}% "
                    f"({self.cpu_ms_per_call(name):.2f} ms/call)"
                )
            lines.append(
                f"CPU over the {self.cpu.wall:.0f} s steady window ({len(self.window_calls)} "
                f"calls), % of one core: " + ", ".join(parts)
            )
            lines.append(f"box CPU: {self.cpu.percent('box'):.0f}% of 200%")
        if self.redis_commands:
            n = len(self.window_calls) or 1
            top = ", ".join(f"{k} {v / n:.1f}" for k, v in self.redis_commands.most_common(8))
            lines.append(
                f"Redis commands per call: {sum(self.redis_commands.values()) / n:.1f} ({top})"
            )
        if self.desktop_counts:
            c = self.desktop_counts
            lines.append(
                f"desktops: {c['wrapped_up']} wrap-ups, {c['wrap_up_failed']} failed, "
                f"{c['rona']} RONA, {len(self.desktop_errors)} API errors"
            )
        if self.leftovers or self.leftovers_later or self.bridges_later:
            lines.append(
                f"channels left in Asterisk after the run: {self.leftovers}; "
                f"{LEFTOVER_WAIT_SECONDS:g} s later {self.leftovers_later} channels, "
                f"{self.bridges_later} bridges"
            )
        if self.service_log:
            found = ", ".join(f"{k} {v}" for k, v in sorted(self.service_log.items()))
            lines.append(f"service log: {found}")
        if self.jobs_pending or self.service_metrics:
            jobs = self.jobs_pending or [math.nan]
            found = ", ".join(f"{k} {v}" for k, v in self.service_metrics.items())
            lines.append(
                f"service: jobs pending median {statistics.median(jobs):g}, max {max(jobs):g}; "
                + found
            )
        if self.box_events:
            n = len(self.window_calls) or 1
            found = ", ".join(f"{k} {v / n:,.0f}" for k, v in self.box_events.items())
            lines.append(f"the whole box, per call (perf stat): {found}")
        lines += self.profile
        return "\n".join(lines)

    def total_cpu_ms_per_call(self) -> float:
        """Asterisk + service(s) + Redis."""
        names = ["asterisk", "redis", *(n for n in self.cpu_names if n.startswith("service"))]
        return sum(self.cpu_ms_per_call(n) for n in names)

    def figures(self) -> dict[str, float | int | None]:
        """The run's figures for the JSON report (times in ms; NaN as null)."""
        entry = self.entry_to_ringing()
        bridged = self.answer_to_bridged()

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 3)

        out: dict[str, float | int | None] = {
            "calls": self.created,
            "failed": self.failed,
            "never_bridged": self.not_bridged(),
            "ring_p50_ms": num(1000 * percentile(entry, 50)),
            "ring_p99_ms": num(1000 * percentile(entry, 99)),
            "bridged_p50_ms": num(1000 * percentile(bridged, 50)),
            "bridged_p99_ms": num(1000 * percentile(bridged, 99)),
            "asterisk_cpu_ms_per_call": num(self.cpu_ms_per_call("asterisk")),
            "box_cpu_percent": num(self.cpu.percent("box")) if self.cpu else None,
            "channels_left": self.leftovers,
            "channels_left_later": self.leftovers_later,
            "bridges_left_later": self.bridges_later,
        }
        if any(n.startswith("service") for n in self.cpu_names):
            out["total_cpu_ms_per_call"] = num(self.total_cpu_ms_per_call())
            out["wrap_ups_failed"] = self.desktop_counts["wrap_up_failed"]
            out["api_errors"] = len(self.desktop_errors)
            for what, count in self.service_log.items():
                out[f"log_{_slug(what).replace('-', '_')}"] = count
            if self.jobs_pending:
                out["jobs_pending_max"] = max(self.jobs_pending)
        n = len(self.window_calls)
        for what, count in self.box_events.items():
            out[f"box_{_slug(what).replace('-', '_')}_per_call"] = round(count / n) if n else None
        return out


def write_json(name: str, runs: dict[str, Result], base: str | None = None) -> Path:
    """Write the runs' figures to build/bench/<name>.json, with the ratios of
    each run to `base` (the baseline's run) where given."""
    data: dict[str, object] = {key: result.figures() for key, result in runs.items()}
    if base is not None:
        ref = runs[base].figures()
        ratios: dict[str, dict[str, float | None]] = {}
        for key, result in runs.items():
            if key == base:
                continue
            mine = result.figures()
            pairs = {
                "ring_p50": ("ring_p50_ms", "ring_p50_ms"),
                "ring_p99": ("ring_p99_ms", "ring_p99_ms"),
                "asterisk_cpu_per_call": ("asterisk_cpu_ms_per_call", "asterisk_cpu_ms_per_call"),
                "total_cpu_per_call": ("total_cpu_ms_per_call", "asterisk_cpu_ms_per_call"),
            }
            ratios[key] = {}
            for label, (a, b) in pairs.items():
                x, y = mine.get(a), ref.get(b)
                ratios[key][label] = round(x / y, 3) if x is not None and y else None
        data["ratios"] = ratios
    out = BENCH_JSON_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return out


# What a service's log tells of failures under load (counted after each run).
SERVICE_LOG_PATTERNS: dict[str, re.Pattern[str]] = {
    "jobs failed": re.compile(r"job for \S+ failed"),
    "Redis pool exhausted": re.compile(r"MaxConnectionsError|No connection available"),
    "lease renewals failed": re.compile(r"event-stream lease not renewed"),
    "lease lost": re.compile(r"lost the event-stream lease|lease not renewed and may lapse"),
    "ARI requests failed": re.compile(r"ARI \w+ /\S+: 0 (?!.*again)"),
    "ARI requests sent again": re.compile(r"ARI \w+ /\S+: .*; sending it again"),
    "hang-ups retried": re.compile(r"hang-up of \S+ not confirmed"),
    "orphans removed": re.compile(r"belongs to no live interaction"),
}


def count_service_log(paths: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        with contextlib.suppress(FileNotFoundError), path.open(errors="replace") as lines:
            for line in lines:
                for what, pattern in SERVICE_LOG_PATTERNS.items():
                    if pattern.search(line):
                        counts[what] += 1
    return counts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _redis_commands(stack: BenchStack) -> Counter[str]:
    """Redis's count of calls per command so far (INFO commandstats)."""
    client = redis.Redis.from_url(stack.redis.url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def _rtp_flowing(stack: BenchStack) -> tuple[int, int]:
    """Channels whose RTP counters show packets both ways (``pjsip show channelstats``)."""
    try:
        out = stack.asterisk.cli("pjsip show channelstats")
    except devstack.DevStackError:
        return (0, 0)
    (RUN_DIR / "channelstats.txt").write_text(out)
    both = looked = 0
    for line in out.splitlines():
        # [BridgeId] ChannelId UpTime Codec | Rx: Count Lost Pct Jitter | Tx: Count ...
        fields = line.split()
        codec = next((i for i, f in enumerate(fields) if f in ("ulaw", "alaw")), None)
        if codec != 3 or len(fields) < codec + 6:  # bridged channels only (a BridgeId first)
            continue
        looked += 1
        if int(fields[codec + 1]) > 0 and int(fields[codec + 5]) > 0:
            both += 1
    return (both, looked)


async def _profile(pid: int, seconds: float, out: Path) -> list[str]:
    """py-spy on the service for the window: the functions it spent most time in."""
    spy = shutil.which("py-spy")
    if spy is None:
        return ["(py-spy not found on PATH: no profile)"]
    proc = await asyncio.create_subprocess_exec(
        spy, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "200",
        "-f", "raw", "-o", str(out), "--nonblocking",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    await proc.wait()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    with contextlib.suppress(FileNotFoundError):
        text = await asyncio.to_thread(out.read_text)
        for line in text.splitlines():
            stack_text, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack_text.split(";")
            samples += count
            own[frames[-1]] += count
            for frame in set(frames):
                total[frame] += count
    if not samples:
        return ["(py-spy recorded nothing)"]
    lines = [f"py-spy, service pid {pid}, {samples} samples ({out}); own time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in own.most_common(12)]
    lines.append("  inclusive time:")
    interesting = [
        (f, n)
        for f, n in total.most_common(60)
        if "controlplane" in f or "redis" in f or "aiohttp" in f or "panoramisk" in f
    ]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in interesting[:15]]
    return lines


async def _perf(pid: int, seconds: float, out: Path) -> list[str]:
    """perf on Asterisk for the window: where its CPU time goes, by module and
    function. System-wide sampling, reported for Asterisk's PID alone
    (attaching to the process fails on the threads it starts and ends per call)."""
    perf = shutil.which("perf")
    if perf is None:
        return ["(perf not found on PATH: no Asterisk profile)"]
    with out.with_suffix(".log").open("wb") as perf_log:
        record = await asyncio.create_subprocess_exec(
            perf, "record", "-a", "-F", "499", "-o", str(out), "--", "sleep",
            str(max(1, int(seconds))),
            stdin=subprocess.DEVNULL, stdout=perf_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        await record.wait()
    report = await asyncio.create_subprocess_exec(
        perf, "report", "-i", str(out), "--stdio", "--comm", "asterisk", "--sort", "sym",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    text, _ = await report.communicate()
    symbols: list[tuple[float, str, str]] = []  # (percent of all samples, [k]/[.], name)
    for line in text.decode(errors="replace").splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0].endswith("%") and not line.startswith("#"):
            symbols.append((float(parts[0].rstrip("%")), parts[1], parts[2].strip()))
    total = sum(share for share, _, _ in symbols)
    if not total:
        return [f"(perf recorded nothing for Asterisk; see {out.with_suffix('.log')})"]
    kernel = sum(share for share, where, _ in symbols if where == "[k]")
    lines = [
        f"perf, Asterisk (pid {pid}, {out}): {100 * kernel / total:.0f}% of its samples "
        "in the kernel; top functions (% of Asterisk's samples):"
    ]
    lines += [
        f"  {100 * share / total:5.1f}%  {where} {name}" for share, where, name in symbols[:12]
    ]
    return lines


# Counted for the whole box while the window lasts (`--profile`): what a call
# costs in thread wake-ups and kernel entries, whoever makes them.
BOX_EVENTS = ("sched:sched_wakeup", "context-switches", "raw_syscalls:sys_enter")


async def _perf_stat(seconds: float) -> dict[str, int]:
    perf = shutil.which("perf")
    if perf is None:
        return {}
    stat = await asyncio.create_subprocess_exec(
        perf, "stat", "-a", "-x", ",", "-e", ",".join(BOX_EVENTS), "--", "sleep",
        str(max(1, int(seconds))),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await stat.communicate()
    counts: dict[str, int] = {}
    for line in err.decode(errors="replace").splitlines():
        parts = line.split(",")  # value,unit,event,...
        if len(parts) >= 3 and parts[2] in BOX_EVENTS and parts[0].isdigit():
            counts[parts[2].split(":")[-1]] = int(parts[0])
    return counts


async def run_load(
    stack: BenchStack,
    *,
    target: str,
    number: str,
    level: Level,
    with_desktops: bool,
    profile: bool = False,
) -> Result:
    """Runs one level against whatever answers ``number`` (Asterisk is fresh)."""
    workdir = RUN_DIR / "sipp"
    sipp.write_scenarios(workdir, ring_ms=level.ring_ms, ani_prefix="+1999")
    exts = extensions(stack.agents)
    result = Result(target=target, level=level, agents=len(exts))
    log(f"{target}: registering {len(exts)} agent phones")
    sipp.register_agents(workdir, exts, devstack.AGENT_PHONE_PASSWORD)
    agents = sipp.agent_phones(workdir)
    agents.start()
    desktops: Desktops | None = None
    timeline = AmiTimeline(devstack.LOOPBACK, devstack.AMI_PORT, AMI_USER, AMI_SECRET)
    customers = sipp.customers(
        workdir,
        number=number,
        rate=level.rate,
        total=level.total,
        limit=max(50, 3 * level.concurrent),
        hold_ms=int(level.hold * 1000),
    )
    try:
        await asyncio.sleep(0.5)
        if not agents.running():
            raise RuntimeError(f"the agents' SIPp exited; see {agents.log_path}")
        if with_desktops:
            desktops = Desktops(stack.urls, exts)
            await desktops.start()
            await desktops.ready_all()
            log(f"{target}: {len(exts)} agents available")
        await timeline.start()
        log(f"{target}: {level.describe()}")
        customers.start()
        started = time.time()
        ramp = level.hold + 2 if level.duration > level.hold + 10 else 2.0
        result.window = (started + ramp, started + level.duration)
        pids = {"asterisk": [stack.asterisk.daemon_pid() or 0]}
        for index, pid in enumerate(stack.service_pids()):
            pids[f"service{index + 1}" if len(stack.services) > 1 else "service"] = [pid]
        pids["redis"] = [stack.redis_pid() or 0]
        pids["sipp"] = [agents.pid, customers.pid]
        cpu = CpuMeter(pids)
        result.cpu, result.cpu_names = cpu, [n for n in pids if n != "redis" or stack.services]
        await asyncio.sleep(max(0.0, result.window[0] - time.time()))
        redis_before = _redis_commands(stack)
        cpu.start()
        profilers: list[asyncio.Task[list[str]]] = []
        window = result.window[1] - result.window[0]
        if profile and stack.services:
            profilers.append(
                asyncio.create_task(
                    _profile(stack.service_pids()[0], window, RUN_DIR / "py-spy.txt")
                )
            )
        if profile and pids["asterisk"][0]:
            out = RUN_DIR / f"{_slug(target)}-perf.data"
            profilers.append(asyncio.create_task(_perf(pids["asterisk"][0], window, out)))
        counting = asyncio.create_task(_perf_stat(window)) if profile else None
        half = (result.window[0] + result.window[1]) / 2
        sampled_rtp = False
        while time.time() < result.window[1]:
            if not customers.running():
                break
            result.concurrency.append(timeline.active)
            if stack.services:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    scraped = await _scrape(stack.urls[0])
                    result.jobs_pending.append(scraped.get("cp_jobs_pending", math.nan))
                    result.refusing.append(scraped.get("cp_overload_refusing", math.nan))
                    for name, v in scraped.items():
                        if name.startswith('cp_overload_signal{signal="'):
                            signal = name.split('"')[1]
                            result.signals.setdefault(signal, []).append(v)
            if not sampled_rtp and time.time() >= half:
                result.rtp_channels = await asyncio.to_thread(_rtp_flowing, stack)
                sampled_rtp = True
            await asyncio.sleep(1.0)
        cpu.stop()
        if stack.services:
            result.redis_commands = _redis_commands(stack) - redis_before
        for profiler in profilers:
            result.profile += await profiler
        if counting is not None:
            result.box_events = await counting
        log(f"{target}: steady window over; waiting for the last calls to end")
        code = await asyncio.to_thread(customers.wait, level.hold + 90)
        if code is None:
            log(f"{target}: customers still running after the time allowed; stopping them")
            customers.stop()
        result.created = customers.count("TotalCallCreated")
        result.successful = customers.count("SuccessfulCall(C)")
        result.failed = customers.count("FailedCall(C)")
        deadline = time.monotonic() + 30
        while timeline.active > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        result.leftovers = await _channels_left()
        if stack.services and result.leftovers:
            # what the control plane's orphan sweep leaves (it runs every 10 s)
            await asyncio.sleep(LEFTOVER_WAIT_SECONDS)
            result.leftovers_later = await _channels_left()
            result.bridges_later = await _channels_left("bridges")
        result.service_log = count_service_log([s.log_path for s in stack.services])
        if stack.services:
            for index, url in enumerate(stack.urls):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    figures = _load_figures(await _scrape(url))
                    name = f"replica {index + 1} " if len(stack.urls) > 1 else ""
                    result.service_metrics.update({name + k: v for k, v in figures.items()})
        with contextlib.suppress(devstack.DevStackError):
            text = await asyncio.to_thread(stack.asterisk.cli, "core show taskprocessors")
            await asyncio.to_thread(
                (RUN_DIR / f"{_slug(target)}-taskprocessors.txt").write_text, text
            )
        result.calls = list(timeline.calls.values())
        if not timeline.newexten_seen:
            log("no Newexten events: call entry falls back to channel creation")
            for call in result.calls:
                call.entered = call.created
        if desktops is not None:
            result.desktop_counts = desktops.counts
            result.desktop_errors = desktops.errors
    finally:
        customers.stop()
        agents.stop()
        await timeline.close()
        if desktops is not None:
            await desktops.close()
    return result


async def _scrape(url: str) -> dict[str, float]:
    """A service's /metrics as {sample with labels: value}."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
        session.get(f"{url}/metrics") as resp,
    ):
        text = await resp.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def _bucket_quantile(samples: dict[str, float], metric: str, q: float) -> str:
    """The upper bound of the histogram bucket holding quantile q (all labels summed)."""
    buckets: dict[float, float] = {}
    for name, value in samples.items():
        m = re.match(rf'{metric}_bucket\{{(?:.*,)?le="([^"]+)"', name)
        if m:
            le = float(m[1])
            buckets[le] = buckets.get(le, 0.0) + value
    if not buckets or not buckets.get(math.inf):
        return "n/a"
    total = buckets[math.inf]
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return "> 5 s" if le == math.inf else f"<= {le * 1000:g} ms"
    return "n/a"


def _load_figures(samples: dict[str, float]) -> dict[str, str]:
    return {
        "event-loop lag p99": _bucket_quantile(samples, "cp_event_loop_lag_seconds", 0.99),
        "Stasis event age p50": _bucket_quantile(samples, "cp_ari_event_age_seconds", 0.5),
        "Stasis event age p99": _bucket_quantile(samples, "cp_ari_event_age_seconds", 0.99),
        "ARI request p50": _bucket_quantile(samples, "cp_ari_request_seconds", 0.5),
        "ARI request p99": _bucket_quantile(samples, "cp_ari_request_seconds", 0.99),
        "refused as overloaded": f"{_sum(samples, 'cp_calls_refused_overload_total'):g}",
    }


def _sum(samples: dict[str, float], metric: str) -> float:
    """A counter summed over its labels."""
    return sum(v for name, v in samples.items() if name.split("{", 1)[0] == metric)


async def _channels_left(what: str = "channels") -> int:
    auth = aiohttp.BasicAuth(devstack.ARI_USERNAME, devstack.ARI_PASSWORD)
    headers = {"Authorization": auth.encode()}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{devstack.ARI_URL}/{what}") as resp,
    ):
        channels = await resp.json()
        return len(channels) if isinstance(channels, list) else -1


def compare(base: Result, other: Result) -> str:
    """Ratios of the control plane's figures to app_queue's."""

    def r(a: float, b: float) -> str:
        return "n/a" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}x"

    e_b, e_o = base.entry_to_ringing(), other.entry_to_ringing()
    lines = [
        f"== {other.target} vs {base.target}",
        f"entry -> ringing p50: {ms(percentile(e_o, 50))} vs {ms(percentile(e_b, 50))} "
        f"({r(percentile(e_o, 50), percentile(e_b, 50))}); p99: {ms(percentile(e_o, 99))} "
        f"vs {ms(percentile(e_b, 99))} ({r(percentile(e_o, 99), percentile(e_b, 99))})",
    ]
    b_b, b_o = base.answer_to_bridged(), other.answer_to_bridged()
    lines.append(
        f"answer -> bridged p50: {ms(percentile(b_o, 50))} vs {ms(percentile(b_b, 50))} "
        f"({r(percentile(b_o, 50), percentile(b_b, 50))})"
    )
    if base.cpu is not None and other.cpu is not None:
        ast_b = base.cpu_ms_per_call("asterisk")
        ast_o = other.cpu_ms_per_call("asterisk")
        cp_o = sum(
            other.cpu_ms_per_call(n) for n in other.cpu_names if n.startswith("service")
        ) + other.cpu_ms_per_call("redis")
        lines.append(
            f"Asterisk CPU per call: {ast_o:.2f} ms vs {ast_b:.2f} ms ({r(ast_o, ast_b)}); "
            f"control plane (service + Redis) {cp_o:.2f} ms per call"
        )
        lines.append(
            f"Asterisk + control plane CPU per call: {ast_o + cp_o:.2f} ms vs app_queue's "
            f"Asterisk {ast_b:.2f} ms ({r(ast_o + cp_o, ast_b)})"
        )
    return "\n".join(lines)
