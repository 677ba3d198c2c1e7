"""The same load against Asterisk's own Queue() (app_queue) and against the
control plane, on the same machine, in the same run: the same SIPp customers
(to the bench queue's number, then to the control plane's entry point), the
same SIPp agent phones (the queue's static members), a fresh Asterisk before
each. No control plane runs during the app_queue part. Prints both and the
ratios of answer latency and CPU (Asterisk's from /proc; the control plane's
separately), and writes the figures to build/bench/app_queue.json.

    .venv/bin/python -m bench.app_queue                 # ~100 concurrent, 5 calls/s, 60 s
    .venv/bin/python -m bench.app_queue --full          # ~300 concurrent, 15 calls/s
    .venv/bin/python -m bench.app_queue --full --bridge-control --profile

`--bridge-control` adds a third run: Queue() with its `t` option (the agent
may transfer by DTMF), which keeps its calls off Asterisk's native RTP
bridge and on `simple_bridge`, as the control plane's mixing bridges are;
the difference to the first run prices the bridge alone. `--profile` also
counts the whole box's wake-ups, context switches and system calls per call
in each run (perf stat).
"""

from __future__ import annotations

import argparse
import asyncio

from bench.load import agents_for, control_plane_run, level_of, parse_args
from bench.loadrun import Result, compare, run_load, write_json
from bench.stack import QUEUE_NUMBER, BenchStack, log, machine_lock


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bridge-control",
        action="store_true",
        help="also run Queue() with option t (simple_bridge instead of native RTP)",
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv, doc=__doc__, extra=_extra)
    level = level_of(args)
    agents = agents_for(args, level)
    reports: list[str] = []
    runs: dict[str, Result] = {}
    with machine_lock():
        stack = BenchStack(agents=agents)
        stack.service_nice = args.service_nice
        try:
            stack.start_base()

            def queue_run(key: str, target: str) -> None:
                result = asyncio.run(
                    run_load(
                        stack,
                        target=target,
                        number=QUEUE_NUMBER,
                        level=level,
                        with_desktops=False,
                        profile=args.profile,
                    )
                )
                reports.append(result.report())
                print(reports[-1], flush=True)
                runs[key] = result

            queue_run("app_queue", "app_queue")
            if args.bridge_control:
                stack.asterisk.queue_options = "t"
                stack.restart_asterisk()
                queue_run("app_queue_simple_bridge", "app_queue, option t (simple_bridge)")
                stack.asterisk.queue_options = ""
            ours = asyncio.run(control_plane_run(stack, level, 1, args.profile))
            reports.append(ours.report())
            print(reports[-1], flush=True)
            reports.append(compare(runs["app_queue"], ours))
            runs["controlplane"] = ours
        finally:
            log("stopping the stack")
            stack.close()
    print()
    print("\n\n".join(reports))
    if len(runs) > 1:
        print(f"figures written to {write_json('app_queue', runs, base='app_queue')}")


if __name__ == "__main__":
    main()
