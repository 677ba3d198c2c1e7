"""Overload step: twice the last clean load for 60 s against the control
plane (one replica, its default admission thresholds), then every call's
fate by kind and what is left behind afterwards.

The target: every call either served or refused cleanly at the entry point
(the dialplan's busy path, SIP 503, Asterisk cause 34), no API error, no
channel, bridge, reserved agent or limit slot left behind, and ringing
latency bounded for the calls admitted. "The last clean load" is the
control plane's last clean step in build/bench/capacity.json (written by
`bench.capacity`), else 10 calls/s. Figures also in build/bench/overload.json.

    .venv/bin/python -m bench.overload                 # 2 x the last clean step, 60 s
    .venv/bin/python -m bench.overload --rate 20 --duration 60
    .venv/bin/python -m bench.overload --no-admission  # the same load, admission control off
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import redis

from bench.load import control_plane_run
from bench.loadrun import BENCH_JSON_DIR, Level, Result
from bench.measure import CallTimes, p50_p99, percentile
from bench.stack import (
    MAX_AGENTS,
    RUN_DIR,
    SERVICE_PORTS,
    TENANT,
    BenchStack,
    log,
    machine_lock,
)
from controlplane.config import Overload
from controlplane.domain.interaction import now_ms

DEFAULT_CLEAN_RATE = 10.0


def last_clean_rate() -> float:
    """The control plane's last clean step of the latest capacity run."""
    try:
        data = json.loads((BENCH_JSON_DIR / "capacity.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_CLEAN_RATE
    clean: list[float] = []
    for key, figures in data.items():
        if not key.startswith("controlplane_") or not isinstance(figures, dict):
            continue
        rate = float(key.removeprefix("controlplane_").removesuffix("_cps"))
        spotless = not any(
            figures.get(k)
            for k in ("failed", "never_bridged", "api_errors", "wrap_ups_failed", "channels_left")
        )
        p99 = figures.get("ring_p99_ms")
        if spotless and p99 is not None and p99 <= 100:
            clean.append(rate)
    return max(clean, default=DEFAULT_CLEAN_RATE)


def fate(call: CallTimes) -> str:
    """What became of one customer call, as Asterisk saw it."""
    if call.bridged is not None:
        return "served"
    if call.ended is None:
        return "still up after the run"
    refused = "congestion" in call.cause.lower() or call.cause == "34"
    if refused and call.agent_ringing is None:
        return "refused at the entry point"
    if call.agent_ringing is not None:
        return "rung, never bridged"
    return f"ended waiting ({call.cause or 'no cause'})"


@dataclass
class Leftovers:
    reserved_agents: int = 0
    slots: int = 0
    interactions: int = 0
    agents_by_state: Counter[str] = field(default_factory=Counter)


def leftovers(stack: BenchStack) -> Leftovers:
    """What the control plane still holds in Redis after the run."""
    client = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    found = Leftovers()
    try:
        prefix = "cp:{dc1}:"
        for key in client.scan_iter(f"{prefix}agent:{TENANT}:*"):
            if client.type(key) == "hash":
                state = client.hget(key, "state") or "logged_out"
                found.agents_by_state[str(state)] += 1
        found.reserved_agents = found.agents_by_state["reserved"]
        # unexpired concurrent-call slots of the datacenter
        found.slots = int(client.zcount(f"{prefix}slots:dc", now_ms() + 1, "+inf"))
        found.interactions = int(client.scard(f"{prefix}active") or 0)
    finally:
        client.close()
    return found


def overload_episodes() -> Counter[str]:
    """How often the service started refusing, by the signals it named."""
    found: Counter[str] = Counter()
    path = RUN_DIR / f"service-{SERVICE_PORTS[0]}.log"
    with contextlib.suppress(OSError), path.open(errors="replace") as lines:
        for line in lines:
            match = re.search(r"overloaded \(([^)]*)\): refusing new calls", line)
            if match:
                found[match[1]] += 1
    return found


def report(
    result: Result, left: Leftovers, refused_by_service: float
) -> tuple[str, dict[str, object]]:
    fates = Counter(fate(c) for c in result.calls)
    admitted = [c for c in result.window_calls if fate(c) != "refused at the entry point"]
    ring = [v for v in (c.entry_to_ringing() for c in admitted) if v is not None]
    refused = fates["refused at the entry point"]
    episodes = overload_episodes()
    sampled = [r for r in result.refusing if not math.isnan(r)]
    refusing_share = sum(sampled) / len(sampled) if sampled else math.nan
    unexplained_sipp_failures = max(0, result.failed - refused)
    lines = [
        result.report(),
        "",
        "== overload: every call's fate (Asterisk's view)",
        *(f"  {kind}: {n}" for kind, n in fates.most_common()),
        f"  SIPp: {result.failed} failed, of which not refusals: {unexplained_sipp_failures}",
        f"  refusals counted by the service (cp_calls_refused_overload_total): "
        f"{refused_by_service:g}",
        f"admitted calls, entry -> agent ringing: {p50_p99(ring)}",
        f"the service refused new calls in {100 * refusing_share:.0f}% of the steady window's "
        "seconds; refusal episodes by the signals that started them: "
        + (", ".join(f"{k} {v}" for k, v in episodes.most_common()) or "none"),
        "the service's load signals, sampled each second (p50 / p90 / max): "
        + "; ".join(
            f"{name} {_quantiles(samples)}" for name, samples in sorted(result.signals.items())
        ),
        "run-queue wait (runnable, waiting for a CPU) per second of CPU used: "
        + ", ".join(f"{name} {w:.2f} s" for name, w in _waits(result).items()),
        f"API errors: {len(result.desktop_errors)}; wrap-ups failed: "
        f"{result.desktop_counts['wrap_up_failed']}",
        f"left behind: channels {result.leftovers} (after the sweep {result.leftovers_later}), "
        f"bridges {result.bridges_later}, agents reserved {left.reserved_agents}, "
        f"slots {left.slots}, live interactions {left.interactions}",
    ]
    figures: dict[str, object] = {
        **result.figures(),
        "rate": result.level.rate,
        "duration_s": result.level.duration,
        "fates": dict(fates),
        "served": fates["served"],
        "refused": refused,
        "refused_by_service": refused_by_service,
        "sipp_failed_not_refused": unexplained_sipp_failures,
        "admitted_ring_p50_ms": _ms(percentile(ring, 50)),
        "admitted_ring_p99_ms": _ms(percentile(ring, 99)),
        "agents_reserved_after": left.reserved_agents,
        "slots_after": left.slots,
        "interactions_after": left.interactions,
        "service_metrics": result.service_metrics,
        "refusing_share": None if math.isnan(refusing_share) else round(refusing_share, 3),
        "refusal_episodes": dict(episodes),
        "run_queue_wait_per_cpu_second": {k: round(v, 3) for k, v in _waits(result).items()},
        "signals_p50_p90_max": {
            name: [round(percentile(v, q), 4) for q in (50, 90, 100)]
            for name, v in sorted(result.signals.items())
        },
    }
    return "\n".join(lines), figures


def _waits(result: Result) -> dict[str, float]:
    """Per process: seconds its threads waited for a CPU per second of CPU they used."""
    cpu = result.cpu
    if cpu is None:
        return {}
    return {
        name: cpu.waited[name] / cpu.seconds[name]
        for name in result.cpu_names
        if cpu.seconds.get(name) and name in cpu.waited
    }


def _quantiles(samples: list[float]) -> str:
    return " / ".join(f"{percentile(samples, q):.3g}" for q in (50, 90, 100))


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(1000 * seconds, 3)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="calls per second (default: 2 x the last clean)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of new calls")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds per call (default 20)")
    parser.add_argument(
        "--no-admission", action="store_true", help="admission control off (for comparison)"
    )
    parser.add_argument(
        "--service-nice",
        type=int,
        default=0,
        help="nice value of the service's threads (e.g. -5: ahead of Asterisk's; default 0)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    clean = last_clean_rate()
    rate = args.rate or 2 * clean
    level = Level(rate=rate, duration=args.duration, hold=args.hold)
    agents = min(MAX_AGENTS, math.ceil(level.concurrent * 1.2) + 10)
    log(f"overload step: {rate:g} calls/s (last clean step {clean:g} calls/s), {agents} agents")
    with machine_lock():
        stack = BenchStack(agents=agents)
        stack.service_nice = args.service_nice
        if args.no_admission:
            stack.overload = {"enabled": False}
        try:
            stack.start_base()
            result = asyncio.run(control_plane_run(stack, level, 1, False))
            left = leftovers(stack)
        finally:
            log("stopping the stack")
            stack.close()
    refused_by_service = float(result.service_metrics.get("refused as overloaded", "nan"))
    text, figures = report(result, left, refused_by_service)
    # the service's [overload] section as it ran (thresholds included)
    figures["overload_config"] = Overload.model_validate(
        {"enabled": False} if args.no_admission else {}
    ).model_dump()
    figures["service_nice"] = args.service_nice
    print(text)
    name = "overload_no_admission" if args.no_admission else "overload"
    if args.service_nice:
        name += f"_nice{args.service_nice}"
    out = BENCH_JSON_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"controlplane": figures}, indent=2, sort_keys=True) + "\n")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
