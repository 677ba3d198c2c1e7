"""The benchmarks' stack: the integration tests' stack (same runners, same
fixed ports, same machine-wide lock), with a configuration generated for the
number of agents a run needs.

Asterisk gets, on top of the repository's configuration and only for bench
runs (written into the rootfs after ``install_config``; the next start of
any runner rewrites /etc/asterisk from the repository again):

- agent endpoints 1021.. in the template style of ``pjsip.conf`` (1001..1020
  exist already);
- the app_queue baseline: a queue ``bench`` in ``queues.conf`` with the
  agents as static members, reached only from the bench number
  ``QUEUE_NUMBER`` (dialplan ``bench.conf``: Answer, Queue);
- an AMI user ``bench`` that receives only the few events the timings are
  taken from, each stamped by Asterisk (``timestampevents``).

The control plane gets a tenant ``bench`` with one agent per extension
(``a1001``...; token ``bench-a1001-token``), entry point ``CP_NUMBER``,
no recording, and limits far above the load.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import redis

import devstack
from controlplane.passwords import hash_password

REPO: Final = devstack.REPO_ROOT
RUN_DIR: Final = REPO / "build" / "bench-run"
LOCK_FILE: Final = Path("/tmp/controlplane-integration.lock")
# Set to 1 by a caller that already holds LOCK_FILE for several bench scripts:
#   flock /tmp/controlplane-integration.lock env CONTROLPLANE_LOCK_HELD=1 sh -c '...'
LOCK_HELD_ENV: Final = "CONTROLPLANE_LOCK_HELD"
REDIS_PORT: Final = 6399
SERVICE_PORTS: Final = (8099, 8098)

CP_NUMBER: Final = "8005559000"
QUEUE_NUMBER: Final = "8005559001"
FIRST_EXTENSION: Final = 1001
REPO_AGENT_ENDPOINTS: Final = 20  # 1001..1020 are in asterisk-conf/etc/pjsip.conf
MAX_AGENTS: Final = 1200
TENANT: Final = "bench"
WRAP_UP_REASON: Final = "done"
SUPERVISOR_TOKEN: Final = "bench-supervisor-token"
AMI_USER: Final = "bench"
AMI_SECRET: Final = "bench-ami-secret"  # local bench default, loopback only


def extensions(count: int) -> list[int]:
    if not 1 <= count <= MAX_AGENTS:
        raise ValueError(f"agents must be 1..{MAX_AGENTS}, not {count}")
    return list(range(FIRST_EXTENSION, FIRST_EXTENSION + count))


def agent_id(extension: int) -> str:
    return f"a{extension}"


def agent_password(extension: int) -> str:
    """The desktop password of a bench agent (local bench default)."""
    return f"bench-{agent_id(extension)}-password"


def agent_token(extension: int) -> str:
    return f"bench-a{extension}-token"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def machine_lock(timeout: float = 3600.0) -> Iterator[None]:
    """The integration tests' lock: one stack per machine (fixed ports, one rootfs).

    A blocking wait, like the tests' (a polling waiter would rarely win the
    lock from blocked ones), cut short by SIGALRM after ``timeout``."""
    with _sigterm_stops_cleanly():
        if os.environ.get(LOCK_HELD_ENV) == "1":  # e.g. flock(1) around several scripts
            yield
        else:
            with _locked(timeout):
                yield


@contextlib.contextmanager
def _sigterm_stops_cleanly() -> Iterator[None]:
    """SIGTERM (``timeout``, ``kill``) ends a run like Ctrl-C: every ``finally``
    runs and the stack, SIPp and the phones are stopped."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _locked(timeout: float) -> Iterator[None]:
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for {LOCK_FILE} (an integration run holds it)")

            def expired(_signum: int, _frame: object) -> None:
                raise TimeoutError(f"{LOCK_FILE} still held after {timeout:.0f} s")

            previous = signal.signal(signal.SIGALRM, expired)
            signal.alarm(max(1, int(timeout)))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
            log("got the lock")
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- Asterisk -------------------------------------------------------------------------


class BenchAsterisk(devstack.AsteriskRunner):
    """The integration tests' Asterisk plus the bench additions (module docstring)."""

    def __init__(self, rootfs: Path, run_dir: Path, agents: int, ring_seconds: int) -> None:
        super().__init__(rootfs, run_dir)
        self.agents = agents
        self.ring_seconds = ring_seconds
        # Queue()'s options; "t" (the agent may transfer: a DTMF feature) keeps
        # its calls off the native RTP bridge, on simple_bridge like ours
        self.queue_options = ""

    def install_config(self) -> None:
        super().install_config()
        etc = self.etc_dir
        exts = extensions(self.agents)
        extra = [e for e in exts if e >= FIRST_EXTENSION + REPO_AGENT_ENDPOINTS]
        with (etc / "pjsip.conf").open("a") as f:
            f.write("\n; --- bench: more agent phones, same templates ---\n")
            for ext in extra:
                f.write(
                    f"\n[{ext}](agent-endpoint)\nauth = {ext}\naors = {ext}\n"
                    f"[{ext}](agent-auth)\nusername = {ext}\n[{ext}](agent-aor)\n"
                )
        members = "".join(f"member => PJSIP/{ext}\n" for ext in exts)
        with (etc / "queues.conf").open("a") as f:
            f.write(
                "\n; --- bench: the app_queue baseline ---\n"
                "[bench]\n"
                "strategy = leastrecent\n"  # like the control plane: longest idle first
                "autofill = yes\n"  # ring agents for every waiting caller, not the first alone
                f"timeout = {self.ring_seconds}\n"
                "retry = 1\n"
                "wrapuptime = 0\n"
                "ringinuse = no\n"
                "autopause = no\n"
                "joinempty = yes\n"
                "leavewhenempty = no\n"
                "announce-frequency = 0\n"
                "periodic-announce-frequency = 0\n"
                "announce-holdtime = no\n"
                "announce-position = no\n"
                "musicclass = default\n"
                f"{members}"
            )
        (etc / "bench.conf").write_text(
            "; bench only: the app_queue baseline, reached from this number alone\n"
            "[from-carrier](+)\n"
            f"exten => {QUEUE_NUMBER},1,Answer()\n"
            f" same => n,Queue(bench{',' + self.queue_options if self.queue_options else ''})\n"
            " same => n,Hangup()\n"
        )
        (etc / "bench.conf").chmod(0o644)
        with (etc / "extensions.conf").open("a") as f:
            f.write('\n#include "bench.conf"\n')
        with (etc / "manager.conf").open("a") as f:
            f.write(
                "\n; --- bench: timings only (loopback, read-only) ---\n"
                f"[{AMI_USER}]\n"
                f"secret = {AMI_SECRET}\n"
                "deny = 0.0.0.0/0.0.0.0\n"
                "permit = 127.0.0.1/255.255.255.255\n"
                "read = call,dialplan\n"
                "write = user\n"
                "eventfilter(action(include),name(Newchannel)) =\n"
                "eventfilter(action(include),name(Newstate)) =\n"
                "eventfilter(action(include),name(Hangup)) =\n"
                "eventfilter(action(include),name(BridgeEnter)) =\n"
                "eventfilter(action(include),name(Newexten),header(Application),"
                "method(regex)) = ^(Stasis|Queue)$\n"
            )

    def daemon_pid(self) -> int | None:
        """Host PID of the Asterisk daemon (for its CPU time in /proc)."""
        root = str(self.rootfs)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "root") != root:
                    continue
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"asterisk") and b"-f" in argv:
                return int(entry.name)
        return None


# -- the control plane's configuration ----------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    raise TypeError(type(value))


def write_service_config(
    path: Path,
    *,
    agents: int,
    port: int,
    ring_seconds: int,
    recording: bool = False,
    log_level: str = "INFO",
    desktop_agents: int = 0,
    overload: dict[str, Any] | None = None,
) -> Path:
    """The demo's service and datacenter sections with the bench tenant alone.
    The first ``desktop_agents`` agents get a desktop password
    (``agent_password``)."""
    demo = tomllib.loads((REPO / "config" / "demo.toml").read_text())
    service = dict(demo["service"])
    service.update(
        redis_url=f"redis://127.0.0.1:{REDIS_PORT}/0", listen_port=port, log_level=log_level
    )
    datacenters = demo["datacenters"]
    for dc in datacenters.values():
        dc["max_concurrent_calls"] = 100_000
    exts = extensions(agents)
    tenant = {
        "name": "Bench",
        "datacenter": service["datacenter"],
        "max_concurrent_calls": 100_000,
        "recording": recording,
        "privacy_shield_seconds": 0,
        "after_wrap_up": "available",
        "auto_wrap_up_seconds": 0,
        "wrap_up_reasons": {WRAP_UP_REASON: "Done"},
        "idle_reasons": {"break": "Break"},
        "flows": {"main": {}},
        "queues": {
            "main": {
                "name": "Bench",
                "max_ring_seconds": ring_seconds,
                "teams": ["crew"],
                "recording": recording,
            }
        },
        "entry_points": {
            "main": {"number": CP_NUMBER, "label": "Bench", "flow": "main", "queue": "main"}
        },
        "teams": {"crew": {"name": "Crew"}},
        "profiles": {"basic": {"recording": recording, "outdial": True}},
        "agents": {
            agent_id(ext): {
                "name": f"Agent {ext}",
                "extension": str(ext),
                "team": "crew",
                "profile": "basic",
            }
            for ext in exts
        },
    }
    for ext in exts[:desktop_agents]:
        tenant["agents"][agent_id(ext)]["password_hash"] = hash_password(agent_password(ext))
    tokens: list[dict[str, str]] = [
        {"sha256": _sha(SUPERVISOR_TOKEN), "role": "supervisor", "tenant": TENANT}
    ]
    tokens += [
        {"sha256": _sha(agent_token(e)), "role": "agent", "tenant": TENANT, "agent": agent_id(e)}
        for e in exts
    ]
    data = {
        "service": service,
        "datacenters": datacenters,
        "tenants": {TENANT: tenant},
        "tokens": tokens,
    }
    if overload is not None:  # admission under overload (default: the service's defaults)
        data["overload"] = overload
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key} = {_toml(value)}\n" for key, value in data.items()))
    return path


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the stack ------------------------------------------------------------------------


class BenchStack:
    """Redis, Asterisk and 0..2 service replicas; ``close()`` stops all of them."""

    def __init__(
        self,
        *,
        agents: int,
        ring_seconds: int = 15,
        recording: bool = False,
        log_level: str = "INFO",
        desktop_agents: int = 0,
    ) -> None:
        self.agents = agents
        self.desktop_agents = desktop_agents
        self.ring_seconds = ring_seconds
        self.recording = recording
        self.log_level = log_level
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.redis = devstack.RedisRunner(RUN_DIR, port=REDIS_PORT)
        self.asterisk = BenchAsterisk(devstack.ensure_rootfs(), RUN_DIR, agents, ring_seconds)
        self.services: list[devstack.ServiceRunner] = []
        self.service_nice = 0  # the services' nice value (negative: ahead of Asterisk)
        self.overload: dict[str, Any] | None = None  # the services' [overload] section

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.services]

    def start_base(self) -> None:
        """Redis and a fresh Asterisk (no registered phones)."""
        self.redis.start()
        self.asterisk.start()

    def restart_asterisk(self) -> None:
        """A fresh Asterisk: its memory grows with the calls it handled."""
        self.stop_services()
        self.asterisk.stop()
        self.asterisk.start()

    def flush_redis(self) -> None:
        """Forget the previous run's state (agents, interactions, leases)."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.flushdb()
        finally:
            client.close()

    def start_services(self, replicas: int = 1) -> None:
        for index in range(replicas):
            port = SERVICE_PORTS[index]
            config = write_service_config(
                RUN_DIR / f"bench-{port}.toml",
                agents=self.agents,
                port=port,
                ring_seconds=self.ring_seconds,
                recording=self.recording,
                log_level=self.log_level,
                desktop_agents=self.desktop_agents,
                overload=self.overload,
            )
            # the first replica owns the Stasis app; the others stand by for it
            runner = devstack.ServiceRunner(
                config, RUN_DIR, port=port, stasis_app=devstack.STASIS_APP if index == 0 else None
            )
            runner.start(timeout=60)
            self.services.append(runner)
            if self.service_nice:
                self._renice(runner)

    def _renice(self, runner: devstack.ServiceRunner) -> None:
        """Give every thread of a service the nice value `service_nice`."""
        pid = int(runner.pidfile.read_text().strip())
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.setpriority(os.PRIO_PROCESS, int(task.name), self.service_nice)
        # With autogroups (a session each: the service, Asterisk and SIPp are
        # started in sessions of their own), a thread's nice value weighs only
        # within its session; the session's own nice value weighs between them.
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/autogroup").write_text(f"{self.service_nice}\n")
        log(f"service {runner.port} (pid {pid}) runs at nice {self.service_nice}")

    def stop_services(self) -> None:
        while self.services:
            self.services.pop().stop()

    def close(self) -> None:
        errors: list[Exception] = []
        for stop in (self.stop_services, self.asterisk.stop, self.redis.stop):
            try:
                stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def service_pids(self) -> list[int]:
        pids = []
        for runner in self.services:
            with contextlib.suppress(FileNotFoundError, ValueError):
                pids.append(int(runner.pidfile.read_text().strip()))
        return pids

    def redis_pid(self) -> int | None:
        try:
            return int(self.redis.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
