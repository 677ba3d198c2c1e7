"""Where one call's latency goes inside the service: strace (``-tt -yy``) on
the service while one customer calls and one agent answers (real phones),
then the service's socket traffic in order, classified (ARI event received,
ARI request, Redis command, AMI action, API/WebSocket), from the customer's
StasisStart to the agent's phone being called, and from the agent's
StasisStart to the customer being bridged.

strace stops the process at every system call, so the times here are
inflated; the order and the number of round trips on the critical path are
what this shows.

    .venv/bin/python -m bench.trace_call
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from dataclasses import dataclass

import devstack
from bench.latency import CUSTOMER_ANI, EXTENSION, Desktop
from bench.stack import (
    CP_NUMBER,
    REDIS_PORT,
    RUN_DIR,
    BenchStack,
    agent_id,
    agent_token,
    log,
    machine_lock,
)
from tests.support.phones import PhoneFactory

_LINE = re.compile(
    r"^(?:\d+\s+)?(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d\.\d+) "
    r"(?P<call>sendto|recvfrom|sendmsg|write|writev|read)"
    r"\((?P<fd>\d+)<TCP:\[(?P<local>[^\]]*)->(?P<peer>[^\]]*)\]>, "
    r"(?:\[\{iov_base=)?\"(?P<data>(?:[^\"\\]|\\.)*)\"(?:\.\.\.)?, "
)


@dataclass
class Io:
    at: float
    direction: str  # "out" or "in"
    peer: str  # "ari", "redis", "ami", "api"
    what: str


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[-1])


def _classify(match: re.Match[str], api_port: int) -> Io | None:
    at = int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])
    out = match["call"] not in ("recvfrom", "read")
    local, peer = _port(match["local"]), _port(match["peer"])
    data = match["data"].encode().decode("unicode_escape", errors="replace")
    if peer == devstack.ARI_PORT:
        if out:
            return Io(at, "out", "ari", data.split("\r\n", 1)[0].removesuffix(" HTTP/1.1"))
        kinds = re.findall(r'"type":\s*"(\w+)"', data)
        if kinds:
            args = re.search(r'"args":\s*\[([^\]]*)\]', data)
            extra = f" args [{args[1]}]" if args and "StasisStart" in kinds else ""
            return Io(at, "in", "ari", f"event {'+'.join(kinds)}{extra}")
        return Io(at, "in", "ari", data.split("\r\n", 1)[0])
    if peer == REDIS_PORT:
        if not out:
            return None
        commands = re.findall(r"\*\d+\r\n\$\d+\r\n([A-Za-z]+)", data)
        return Io(at, "out", "redis", " ".join(commands) or data[:40])
    if peer == devstack.AMI_PORT:
        if out:
            return Io(at, "out", "ami", data.split("\r\n", 1)[0])
        return None
    if local == api_port and out:
        return Io(at, "out", "api", data[:60].replace("\r\n", " "))
    return None


def _section(events: list[Io], start: int, until: str) -> tuple[list[str], int]:
    """Lines from events[start] up to the first ARI request containing ``until``."""
    t0 = events[start].at
    lines: list[str] = []
    counts = {"redis": 0, "ari": 0}
    end = start
    for index in range(start, len(events)):
        ev = events[index]
        if ev.direction == "out" and ev.peer in counts:
            counts[ev.peer] += 1
        arrow = "->" if ev.direction == "out" else "<-"
        lines.append(f"  {1000 * (ev.at - t0):8.2f} ms  {arrow} {ev.peer:5} {ev.what[:90]}")
        end = index
        if ev.direction == "out" and ev.peer == "ari" and until in ev.what:
            break
    lines.append(
        f"  = {1000 * (events[end].at - t0):.2f} ms under strace: "
        f"{counts['redis']} Redis writes, {counts['ari']} ARI requests"
    )
    return lines, end


async def trace(stack: BenchStack) -> list[str]:
    strace = shutil.which("strace")
    if strace is None:
        return ["strace not found"]
    url = stack.urls[0]
    pid = stack.service_pids()[0]
    out = RUN_DIR / "service.strace"
    desktop = Desktop(url, agent_token(EXTENSION))
    factory = PhoneFactory(RUN_DIR / "phones")
    tracer: asyncio.subprocess.Process | None = None
    try:
        await desktop.start()
        agent_phone = await factory.agent(str(EXTENSION), answer_after_ms=300)
        customer = await factory.customer(CUSTOMER_ANI)
        agent = agent_id(EXTENSION)
        await desktop.must("POST", f"/v1/agents/{agent}/login", {"extension": str(EXTENSION)})
        await desktop.must("PUT", f"/v1/agents/{agent}/state", {"state": "available"})
        await desktop.event("agent.state", lambda e: e["data"]["state"] == "available")
        # (the service's event loop, uvloop, writes and reads its sockets with
        # write, writev and read; redis-py and aiohttp on asyncio's with send/recv)
        calls = "trace=sendto,recvfrom,sendmsg,write,writev,read"
        tracer = await asyncio.create_subprocess_exec(
            strace, "-f", "-tt", "-yy", "-s", "4000", "-e", calls,
            "-p", str(pid), "-o", str(out),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1.0)
        await customer.dial(CP_NUMBER)
        _, connected = await desktop.event("interaction.connected")
        await agent_phone.wait_for("established")
        await asyncio.sleep(0.5)
        ix_id = connected["data"]["id"]
        await desktop.must("POST", f"/v1/interactions/{ix_id}/end")
        await customer.wait_for("closed")
        await desktop.event("agent.state", lambda e: e["data"]["state"] == "wrap_up")
        await asyncio.sleep(0.5)
    finally:
        if tracer is not None and tracer.returncode is None:
            tracer.terminate()
            try:
                await asyncio.wait_for(tracer.wait(), 5)
            except TimeoutError:
                tracer.kill()
                await tracer.wait()
        await factory.close_all()
        await desktop.close()
    text = await asyncio.to_thread(out.read_text, errors="replace")
    events = [
        io
        for line in text.splitlines()
        if (m := _LINE.match(line)) and (io := _classify(m, stack.services[0].port))
    ]
    lines: list[str] = []
    for label, marker, until in (
        ("customer's StasisStart -> the agent's phone is called", "'inbound'", "/channels?"),
        ("agent's StasisStart -> customer and agent bridged", "'agent'", "/addChannel"),
    ):
        start = next(
            (
                i
                for i, ev in enumerate(events)
                if "StasisStart" in ev.what and marker in ev.what.replace('"', "'")
            ),
            None,
        )
        if start is None:
            lines.append(f"{label}: not found in {out}")
            continue
        section, _ = _section(events, start, until)
        lines += [f"== {label}", *section]
    return lines


def main() -> None:
    with machine_lock():
        stack = BenchStack(agents=2)
        try:
            stack.start_base()
            stack.flush_redis()
            stack.start_services(1)
            lines = asyncio.run(trace(stack))
        finally:
            log("stopping the stack")
            stack.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
