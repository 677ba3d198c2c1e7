"""Capacity step test: the same load against Asterisk's own Queue() and
against the control plane, raised step by step (calls per second, and so
concurrency) until a step is not clean; prints each system's last clean
step. A step is clean when no call failed, every call reached an agent,
entry -> agent ringing p99 stayed within the limit (100 ms by default), and
for the control plane no API error, no failed wrap-up and no channel left
in Asterisk after the run. Fresh Asterisk (and Redis state) before each
step; figures also in build/bench/capacity.json.

    .venv/bin/python -m bench.capacity                       # 10, 15, 20, 25, 30 calls/s
    .venv/bin/python -m bench.capacity --steps 5 10 --duration 30   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import math
from dataclasses import dataclass

from bench.load import control_plane_run
from bench.loadrun import Level, Result, run_load, write_json
from bench.measure import percentile
from bench.stack import MAX_AGENTS, QUEUE_NUMBER, BenchStack, log, machine_lock


@dataclass(frozen=True)
class Verdict:
    clean: bool
    why: str


def judge(result: Result, ring_p99_ms: float) -> Verdict:
    """Whether a step was clean, and if not, why not."""
    reasons: list[str] = []
    if result.failed:
        reasons.append(f"{result.failed} calls failed")
    if result.not_bridged():
        reasons.append(f"{result.not_bridged()} never bridged")
    p99 = 1000 * percentile(result.entry_to_ringing(), 99)
    if math.isnan(p99) or p99 > ring_p99_ms:
        reasons.append(f"ring p99 {p99:.1f} ms")
    if result.desktop_errors:
        reasons.append(f"{len(result.desktop_errors)} API errors")
    if result.desktop_counts["wrap_up_failed"]:
        reasons.append(f"{result.desktop_counts['wrap_up_failed']} wrap-ups failed")
    if result.leftovers:
        reasons.append(f"{result.leftovers} channels left")
    return Verdict(not reasons, ", ".join(reasons) or "clean")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps",
        type=float,
        nargs="+",
        default=[10.0, 15.0, 20.0, 25.0, 30.0],
        help="calls per second of each step (default 10 15 20 25 30)",
    )
    parser.add_argument("--hold", type=float, default=20.0, help="seconds per call (default 20)")
    parser.add_argument(
        "--duration", type=float, default=45.0, help="seconds of new calls per step (default 45)"
    )
    parser.add_argument(
        "--ring-p99-ms",
        type=float,
        default=100.0,
        help="entry -> ringing p99 a clean step stays within (default 100 ms)",
    )
    parser.add_argument(
        "--only",
        choices=["app_queue", "controlplane"],
        help="step one system only (default: both, app_queue first)",
    )
    return parser.parse_args(argv)


async def _step(stack: BenchStack, system: str, level: Level) -> Result:
    if system == "app_queue":
        stack.restart_asterisk()
        return await run_load(
            stack, target="app_queue", number=QUEUE_NUMBER, level=level, with_desktops=False
        )
    return await control_plane_run(stack, level, 1, False)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    steps = sorted(args.steps)
    top = Level(rate=steps[-1], duration=args.duration, hold=args.hold)
    agents = min(MAX_AGENTS, math.ceil(top.concurrent * 1.2) + 10)
    systems = [args.only] if args.only else ["app_queue", "controlplane"]
    runs: dict[str, Result] = {}
    lines: list[str] = []
    last_clean: dict[str, float | None] = {}
    with machine_lock():
        stack = BenchStack(agents=agents)
        try:
            stack.start_base()
            for system in systems:
                last_clean[system] = None
                for rate in steps:
                    level = Level(rate=rate, duration=args.duration, hold=args.hold)
                    result = asyncio.run(_step(stack, system, level))
                    verdict = judge(result, args.ring_p99_ms)
                    runs[f"{system}_{rate:g}_cps"] = result
                    line = f"{system} at {rate:g} calls/s (~{level.concurrent}): {verdict.why}"
                    log(line)
                    lines.append(line)
                    if not verdict.clean:
                        break
                    last_clean[system] = rate
        finally:
            log("stopping the stack")
            stack.close()
    print()
    print("\n".join(lines))
    for system, rate in last_clean.items():
        print(f"last clean step of {system}: " + (f"{rate:g} calls/s" if rate else "none"))
    print(f"figures written to {write_json('capacity', runs)}")


if __name__ == "__main__":
    main()
