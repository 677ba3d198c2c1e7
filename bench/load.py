"""Load: SIPp customers call the control plane's bench entry point at a steady
rate; SIPp agent phones answer with RTP echo; the agents wrap up at once
through the API. Prints concurrent calls sustained, offers per second, call
entry (StasisStart) -> agent phone ringing p50/p99, CPU per call and failed
calls; with one replica, then with two.

    .venv/bin/python -m bench.load                      # ~100 concurrent, 5 calls/s, 60 s
    .venv/bin/python -m bench.load --full               # ~300 concurrent, 15 calls/s
    .venv/bin/python -m bench.load --rate 10 --hold 20 --duration 90 --replicas 1
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Callable

from bench.loadrun import Level, Result, run_load, write_json
from bench.stack import CP_NUMBER, MAX_AGENTS, BenchStack, log, machine_lock


def parse_args(
    argv: list[str] | None = None,
    *,
    doc: str | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=5.0, help="calls per second (default 5)")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds per call (default 20)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds of new calls (default 60)"
    )
    parser.add_argument(
        "--full", action="store_true", help="the target level: 15 calls/s, 20 s, 90 s (~300)"
    )
    parser.add_argument(
        "--agents", type=int, default=0, help="agents (default: concurrent calls x 1.2 + 10)"
    )
    parser.add_argument("--ring-ms", type=int, default=0, help="agent phones answer after (ms)")
    parser.add_argument(
        "--replicas",
        type=int,
        nargs="+",
        default=[1, 2],
        choices=[1, 2],
        help="service replica counts to run (default: 1 2)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy on the service, perf on Asterisk (steady window)",
    )
    parser.add_argument(
        "--service-nice",
        type=int,
        default=0,
        help="nice value of the services' threads (e.g. -5: ahead of Asterisk's; default 0)",
    )
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.full:
        args.rate, args.hold, args.duration = 15.0, 20.0, 90.0
    return args


def level_of(args: argparse.Namespace) -> Level:
    return Level(rate=args.rate, duration=args.duration, hold=args.hold, ring_ms=args.ring_ms)


def agents_for(args: argparse.Namespace, level: Level) -> int:
    wanted = args.agents or math.ceil(level.concurrent * 1.2) + 10
    return min(MAX_AGENTS, wanted)


async def control_plane_run(
    stack: BenchStack, level: Level, replicas: int, profile: bool
) -> Result:
    """A fresh Asterisk and Redis state, ``replicas`` services, one run."""
    stack.restart_asterisk()
    stack.flush_redis()
    stack.start_services(replicas)
    try:
        name = f"control plane, {replicas} replica{'s' if replicas > 1 else ''}"
        return await run_load(
            stack, target=name, number=CP_NUMBER, level=level, with_desktops=True, profile=profile
        )
    finally:
        stack.stop_services()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    level = level_of(args)
    agents = agents_for(args, level)
    reports: list[str] = []
    runs: dict[str, Result] = {}
    with machine_lock():
        stack = BenchStack(agents=agents)
        stack.service_nice = args.service_nice
        try:
            stack.start_base()
            for replicas in args.replicas:
                result = asyncio.run(control_plane_run(stack, level, replicas, args.profile))
                reports.append(result.report())
                print(reports[-1], flush=True)
                runs[f"controlplane_{replicas}_replica{'s' if replicas > 1 else ''}"] = result
        finally:
            log("stopping the stack")
            stack.close()
    print()
    print("\n\n".join(reports))
    if runs:
        print(f"figures written to {write_json('load', runs)}")


if __name__ == "__main__":
    main()
