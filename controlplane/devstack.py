"""Local development stack: Asterisk 22 in a chroot, and Redis.

Used by the pytest fixtures and by ``controlplane dev up/down``. Everything
here is synchronous and uses the standard library only. Three runners, each
with a pidfile and a log in its run directory, all refusing to start on a
port that is taken: ``AsteriskRunner``, ``RedisRunner`` and ``ServiceRunner``
(the control plane itself, ``python -m controlplane serve``).

Asterisk runs from the Debian rootfs built by ``asterisk-conf/build-rootfs.sh``
as ``unshare --pid --fork --kill-child --mount-proc=ROOT/proc chroot ROOT
/bin/sh -c "asterisk -f & wait"``:

- its own mount namespace: the /proc it needs is mounted only inside it, so
  nothing is ever left mounted on the host;
- its own PID namespace, whose PID 1 is that small root shell. If the
  ``unshare`` process dies, ``--kill-child`` kills the shell and the kernel
  then kills everything else in the namespace. (Asterisk itself cannot be
  PID 1 here: it drops to the ``asterisk`` user, and a change of user clears
  the parent-death signal that ``--kill-child`` relies on.)

It listens on loopback only: SIP 127.0.0.1:5060/udp, HTTP/ARI (and SIP
over WebSocket, /ws) 127.0.0.1:8088 and AMI 127.0.0.1:5038. Browser
phones' media uses the WebRTC media address given to ``AsteriskRunner``
(``dev up``: ``$CONTROLPLANE_WEBRTC_MEDIA``), else loopback.

The credentials below are the local-demo defaults of ``asterisk-conf/etc``;
they are valid only on this machine's loopback interface.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path
from typing import Final

REPO_ROOT: Final[Path] = Path(__file__).resolve().parent.parent
ASTERISK_CONF_DIR: Final[Path] = REPO_ROOT / "asterisk-conf"
DIALPLANS_DIR: Final[Path] = REPO_ROOT / "dialplans"
BUILD_ROOTFS_SCRIPT: Final[Path] = ASTERISK_CONF_DIR / "build-rootfs.sh"
DEFAULT_RUN_DIR: Final[Path] = REPO_ROOT / "build" / "run"

# Environment variable naming a ready rootfs; ensure_rootfs() then builds
# nothing.
ROOTFS_ENV: Final[str] = "CONTROLPLANE_ASTERISK_ROOTFS"

LOOPBACK: Final[str] = "127.0.0.1"
SIP_PORT: Final[int] = 5060
ARI_PORT: Final[int] = 8088
AMI_PORT: Final[int] = 5038
ARI_URL: Final[str] = f"http://{LOOPBACK}:{ARI_PORT}/ari"
ARI_USERNAME: Final[str] = "controlplane"
ARI_PASSWORD: Final[str] = "demo-ari-secret"
AMI_USERNAME: Final[str] = "controlplane"
AMI_SECRET: Final[str] = "demo-ami-secret"
STASIS_APP: Final[str] = "controlplane"
# Customers' calls come from the carrier's address (pjsip.conf identify).
CARRIER_IP: Final[str] = "127.0.0.2"
AGENT_EXTENSIONS: Final[tuple[str, ...]] = tuple(str(n) for n in range(1001, 1021))
AGENT_PHONE_PASSWORD: Final[str] = "demo-phone-secret"

_ASTERISK_BIN: Final[str] = "/usr/sbin/asterisk"
_HOST_PATH: Final[str] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LOG_TAIL_LINES: Final[int] = 40


class DevStackError(Exception):
    """The local stack could not be built, started, queried or stopped."""


def ensure_rootfs() -> Path:
    """Return the Asterisk rootfs, building it first if it is not cached.

    Honours ``CONTROLPLANE_ASTERISK_ROOTFS`` (a ready rootfs) and
    ``CONTROLPLANE_CACHE`` (where the build script caches rootfs trees).
    A first build downloads Debian packages and takes a minute or less.
    """
    preset = os.environ.get(ROOTFS_ENV)
    if preset:
        root = Path(preset)
        if not (root / "usr/sbin/asterisk").is_file():
            raise DevStackError(f"{ROOTFS_ENV}={preset} is not an Asterisk rootfs")
        return root
    try:
        result = subprocess.run(
            [str(BUILD_ROOTFS_SCRIPT)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise DevStackError(f"cannot run {BUILD_ROOTFS_SCRIPT}: {exc}") from exc
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        output = _tail(result.stdout + result.stderr)
        raise DevStackError(
            f"{BUILD_ROOTFS_SCRIPT.name} failed with exit code {result.returncode}:\n{output}"
        )
    root = Path(lines[-1])
    if not (root / "usr/sbin/asterisk").is_file():
        raise DevStackError(f"{BUILD_ROOTFS_SCRIPT.name} returned {root}, which has no Asterisk")
    return root


class _Runner:
    """A process of the stack: its pidfile and its log in ``run_dir``."""

    def __init__(self, run_dir: Path, name: str) -> None:
        self.run_dir = run_dir
        self.pidfile = run_dir / f"{name}.pid"
        self.log_path = run_dir / f"{name}.log"

    def _alive(self, pid: int) -> bool:
        """Whether `pid` is this runner's process (not a reused PID)."""
        raise NotImplementedError

    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._alive(pid) else None

    def _new_log(self) -> None:
        """Keep the previous run's log beside the new one."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))

    def _log_tail(self) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return "(no log)"


class AsteriskRunner(_Runner):
    """Runs Asterisk chrooted in ``rootfs``; pidfile and logs go to ``run_dir``."""

    def __init__(
        self, rootfs: Path, run_dir: Path, webrtc_media: tuple[str, str] | None = None
    ) -> None:
        """``webrtc_media``: (address, network) where browser phones reach
        Asterisk's media, e.g. ("10.99.0.1", "10.99.0.0/30"); by default the
        shipped loopback files, with which no browser gets audio."""
        super().__init__(run_dir, "asterisk")
        self.rootfs = rootfs.resolve()
        self.webrtc_media = webrtc_media
        self.last_boot_seconds: float | None = None

    # -- paths ----------------------------------------------------------------

    @property
    def etc_dir(self) -> Path:
        return self.rootfs / "etc/asterisk"

    @property
    def recording_dir(self) -> Path:
        """Host path of the directory where ARI stores live recordings."""
        return self.rootfs / "var/spool/asterisk/recording"

    @property
    def messages_log(self) -> Path:
        """Host path of Asterisk's own log file (logger.conf: messages.log)."""
        return self.rootfs / "var/log/asterisk/messages.log"

    @property
    def astdb_path(self) -> Path:
        return self.rootfs / "var/lib/asterisk/astdb.sqlite3"

    # -- configuration --------------------------------------------------------

    def install_config(self) -> None:
        """Install our configs and dialplans as the only files in /etc/asterisk."""
        sources = sorted((ASTERISK_CONF_DIR / "etc").glob("*.conf"))
        dialplans = sorted(DIALPLANS_DIR.glob("*.conf"))
        if not sources:
            raise DevStackError(f"no Asterisk configs found in {ASTERISK_CONF_DIR / 'etc'}")
        clashes = {p.name for p in sources} & {p.name for p in dialplans}
        if clashes:
            raise DevStackError(f"dialplan files clash with config files: {sorted(clashes)}")
        if not (self.rootfs / _ASTERISK_BIN.lstrip("/")).is_file():
            raise DevStackError(f"{self.rootfs} is not an Asterisk rootfs")

        # Replace the package's sample configs wholesale: only ours are active.
        if self.etc_dir.exists():
            shutil.rmtree(self.etc_dir)
        self.etc_dir.mkdir(mode=0o755)
        for source in (*sources, *dialplans):
            shutil.copyfile(source, self.etc_dir / source.name)
            (self.etc_dir / source.name).chmod(0o644)
        if self.webrtc_media is not None:
            address, network = self.webrtc_media
            (self.etc_dir / "pjsip_webrtc.conf").write_text(
                f"media_address = {address}\nbind_rtp_to_media_address = yes\n"
            )
            (self.etc_dir / "rtp_webrtc.conf").write_text(
                f"ice_deny = 0.0.0.0/0\nice_deny = ::/0\nice_permit = {network}\n"
            )

        uid, gid = self._asterisk_ids()
        # /var/run is an absolute symlink to /run inside the rootfs: always
        # address the real directory so nothing lands on the host's /run.
        for rel in (
            "run/asterisk",
            "var/spool/asterisk/recording",
            "var/log/asterisk",
            "var/lib/asterisk",
            "var/cache/asterisk",
        ):
            path = self.rootfs / rel
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)

        # Without /etc/hosts PJSIP resolves names through DNS on every call.
        hostname = socket.gethostname()
        hosts = [f"{LOOPBACK}\tlocalhost", "127.0.1.1\tasterisk-dev"]
        if hostname not in ("localhost", "asterisk-dev"):
            hosts[-1] += f" {hostname}"
        hosts.append("::1\tlocalhost ip6-localhost ip6-loopback")
        (self.rootfs / "etc/hosts").write_text("\n".join(hosts) + "\n")

    def clear_registrations(self) -> None:
        """Forget every registered phone contact (astdb keeps them across restarts)."""
        if self.is_running():
            raise DevStackError("clear_registrations() needs Asterisk stopped")
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.astdb_path}{suffix}").unlink(missing_ok=True)

    # -- life cycle -------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Install the config and start Asterisk; return once it is fully booted."""
        pid = self._running_pid()
        if pid is not None:
            raise DevStackError(f"Asterisk from {self.run_dir} is already running (pid {pid})")
        strays = self._daemon_pids()
        if strays:
            raise DevStackError(
                f"an Asterisk from {self.rootfs} is still running (pids {strays}); stop() ends it"
            )
        _require_free_ports(
            [("udp", SIP_PORT, "SIP"), ("tcp", ARI_PORT, "HTTP/ARI"), ("tcp", AMI_PORT, "AMI")]
        )
        unshare = shutil.which("unshare", path=_HOST_PATH)
        chroot = shutil.which("chroot", path=_HOST_PATH)
        if unshare is None or chroot is None:
            raise DevStackError("unshare and chroot (util-linux, coreutils) are required")

        self.install_config()
        self.clear_registrations()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # One log per run, so that a run's errors are easy to find.
        for log in (self.log_path, self.messages_log):
            if log.exists():
                log.replace(log.with_name(log.name + ".1"))

        argv = [
            unshare,
            "--pid",
            "--fork",
            "--kill-child",
            f"--mount-proc={self.rootfs / 'proc'}",
            chroot,
            str(self.rootfs),
            "/bin/sh",
            "-c",
            # -f: stay in the foreground (no daemon fork); -n: no ANSI colours.
            f"{_ASTERISK_BIN} -f -n & wait $!",
        ]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        started = time.monotonic()
        pid = _spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")

        deadline = started + timeout
        while True:
            if not self._alive(pid):
                _signal_group(pid, signal.SIGKILL)  # anything left of the group
                self._forget_pid()
                raise DevStackError(f"Asterisk exited during start-up:\n{self._log_tail()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise DevStackError(
                    f"Asterisk did not boot fully within {timeout:.0f} s:\n{self._log_tail()}"
                )
            result = self._remote(["-rx", "core waitfullybooted"], timeout=remaining)
            if result is not None and result.returncode == 0 and "fully booted" in result.stdout:
                break
            time.sleep(0.05)
        self.last_boot_seconds = time.monotonic() - started

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Asterisk: ``core stop now``, then SIGTERM, then SIGKILL. Idempotent.

        Also ends an Asterisk left over from a crashed runner (found by its
        root directory), and leaves no process and no mount behind.
        """
        pid = self._running_pid()
        if pid is not None or self._daemon_pids():
            deadline = time.monotonic() + timeout
            self._remote(["-rx", "core stop now"], timeout=max(0.5, timeout / 2))
            # A leftover daemon without our unshare parent: give it the same time.
            while self._daemon_pids() and time.monotonic() < deadline:
                time.sleep(0.02)
            if pid is not None and not _wait_dead(self._alive, pid, deadline):
                _signal_group(pid, signal.SIGTERM)
                if not _wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    _signal_group(pid, signal.SIGKILL)
                    if not _wait_dead(self._alive, pid, time.monotonic() + 3.0):
                        raise DevStackError(f"Asterisk (pid {pid}) does not die")
        self._forget_pid()
        self._kill_leftovers()
        self._unmount_leftovers()

    def kill(self) -> None:
        """SIGKILL Asterisk, as a crash would: no channel is hung up cleanly."""
        pid = self._running_pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            _wait_dead(self._alive, pid, time.monotonic() + 5.0)
        self._forget_pid()
        self._kill_leftovers()
        self._unmount_leftovers()
        # The kernel tears a killed namespace down asynchronously: wait for
        # its sockets, so that a start right after this one finds them free.
        deadline = time.monotonic() + 5.0
        ports = [("udp", SIP_PORT), ("tcp", ARI_PORT), ("tcp", AMI_PORT)]
        while not all(_port_free(proto, port) for proto, port in ports):
            if time.monotonic() > deadline:
                raise DevStackError("Asterisk's ports are still taken after the kill")
            time.sleep(0.05)

    def is_running(self) -> bool:
        return self._running_pid() is not None or bool(self._daemon_pids())

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one Asterisk CLI command and return its output."""
        if not self.is_running():
            raise DevStackError("Asterisk is not running")
        result = self._remote(["-rx", command], timeout=timeout)
        if result is None:
            raise DevStackError(f"CLI command {command!r} timed out after {timeout} s")
        if result.returncode != 0:
            raise DevStackError(
                f"CLI command {command!r} failed ({result.returncode}): "
                f"{(result.stdout + result.stderr).strip()}"
            )
        return result.stdout

    # -- internals --------------------------------------------------------------

    def _asterisk_ids(self) -> tuple[int, int]:
        """uid/gid of the rootfs's ``asterisk`` user (not the host's)."""
        for line in (self.rootfs / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise DevStackError(f"no asterisk user in {self.rootfs / 'etc/passwd'}")

    def _remote(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
        """Run ``asterisk -r...`` in the chroot; None on timeout."""
        chroot = shutil.which("chroot", path=_HOST_PATH) or "chroot"
        try:
            return subprocess.run(
                [chroot, str(self.rootfs), _ASTERISK_BIN, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None

    def _alive(self, pid: int) -> bool:
        root = str(self.rootfs).encode()
        return _process_alive(pid, lambda cmdline: b"unshare" in cmdline and root in cmdline)

    def _forget_pid(self) -> None:
        self.pidfile.unlink(missing_ok=True)

    def _daemon_pids(self) -> list[int]:
        """Asterisk daemons chrooted into our rootfs (remote consoles excluded)."""
        return [
            pid
            for pid, cmdline in _processes_rooted_at(self.rootfs)
            if cmdline.split(b"\0")[0].endswith(b"asterisk") and b"-f" in cmdline.split(b"\0")
        ]

    def _kill_leftovers(self) -> None:
        """SIGKILL whatever still runs chrooted into our rootfs (e.g. after a crash)."""
        for _ in range(50):
            pids = [pid for pid, _ in _processes_rooted_at(self.rootfs)]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        raise DevStackError(f"processes chrooted in {self.rootfs} do not die")

    def _unmount_leftovers(self) -> None:
        """Unmount anything still mounted under the rootfs on the host."""
        for mount_point in sorted(_mounts_under(self.rootfs), reverse=True):
            subprocess.run(
                ["umount", "--lazy", mount_point],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        left = _mounts_under(self.rootfs)
        if left:
            raise DevStackError(f"still mounted under {self.rootfs}: {left}")


class RedisRunner(_Runner):
    """A throw-away Redis on 127.0.0.1 with no persistence, for tests and demos."""

    def __init__(self, run_dir: Path, port: int = 6379, *, fresh: bool = False) -> None:
        """Redis with an append-only file in ``run_dir``, so that a restart keeps
        the state; ``fresh`` starts from an empty database instead."""
        super().__init__(run_dir, f"redis-{port}")
        self.fresh = fresh
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        pid = self._running_pid()
        if pid is not None:
            raise DevStackError(f"Redis on port {self.port} is already running (pid {pid})")
        _require_free_ports([("tcp", self.port, "Redis")])
        search_path = os.environ.get("PATH", "") + os.pathsep + _HOST_PATH
        server = shutil.which("redis-server", path=search_path)
        if server is None:
            raise DevStackError("redis-server is not installed (apt-get install redis-server)")
        self._new_log()
        if self.fresh:
            shutil.rmtree(self.run_dir / f"appendonly-{self.port}", ignore_errors=True)
        argv = [
            server,
            "--bind",
            LOOPBACK,
            "--port",
            str(self.port),
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--appenddirname",
            f"appendonly-{self.port}",
            "--dir",
            str(self.run_dir.resolve()),
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]
        env = {"PATH": os.environ.get("PATH", _HOST_PATH), "LANG": "C.UTF-8"}
        pid = _spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")
        deadline = time.monotonic() + timeout
        while not self._ping():
            if not self._alive(pid):
                _signal_group(pid, signal.SIGKILL)  # anything left of the group
                self.pidfile.unlink(missing_ok=True)
                raise DevStackError(f"redis-server exited during start-up:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise DevStackError(f"Redis did not answer within {timeout:.0f} s")
            time.sleep(0.02)

    def stop(self) -> None:
        pid = self._running_pid()
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            if not _wait_dead(self._alive, pid, time.monotonic() + 5.0):
                _signal_group(pid, signal.SIGKILL)
                if not _wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    raise DevStackError(f"redis-server (pid {pid}) does not die")
        self.pidfile.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return self._running_pid() is not None

    def _alive(self, pid: int) -> bool:
        # Redis rewrites its title to "redis-server 127.0.0.1:PORT" once up.
        port = str(self.port).encode()
        return _process_alive(
            pid,
            lambda cmdline: (
                b"redis-server" in cmdline
                and (b":" + port in cmdline or b"\0" + port + b"\0" in cmdline)
            ),
        )

    def _ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class ServiceRunner(_Runner):
    """The control plane (``python -m controlplane serve --config CONFIG``) as a process.

    ``start()`` returns once ``GET /health`` answers 200 (Redis, ARI and AMI
    reachable) and, unless ``stasis_app`` is None, the service's Stasis app
    is registered in Asterisk (its ARI WebSocket is connected).
    """

    def __init__(
        self,
        config: Path,
        run_dir: Path,
        port: int = 8080,
        stasis_app: str | None = STASIS_APP,
    ) -> None:
        super().__init__(run_dir, f"service-{port}")
        self.config = config.resolve()
        self.port = port
        self.stasis_app = stasis_app

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        pid = self._running_pid()
        if pid is not None:
            raise DevStackError(f"the service on port {self.port} is already running (pid {pid})")
        _require_free_ports([("tcp", self.port, "control plane HTTP")])
        if not self.config.is_file():
            raise DevStackError(f"no config file {self.config}")
        self._new_log()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        argv = [sys.executable, "-m", "controlplane", "serve", "--config", str(self.config)]
        pid = _spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")

        deadline = time.monotonic() + timeout
        waiting_for = "GET /health to answer 200"
        while True:
            if not self._alive(pid):
                _signal_group(pid, signal.SIGKILL)
                self.pidfile.unlink(missing_ok=True)
                raise DevStackError(f"the service exited during start-up:\n{self._log_tail()}")
            if _http_status(f"{self.url}/health") == 200:
                if self.stasis_app is None:
                    return
                waiting_for = f"Stasis app {self.stasis_app!r} to be registered in Asterisk"
                status = _http_status(
                    f"{ARI_URL}/applications/{self.stasis_app}",
                    basic_auth=(ARI_USERNAME, ARI_PASSWORD),
                )
                if status == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise DevStackError(
                    f"the service did not get ready within {timeout:.0f} s "
                    f"(waiting for {waiting_for}):\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        pid = self._running_pid()
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            if not _wait_dead(self._alive, pid, time.monotonic() + timeout):
                _signal_group(pid, signal.SIGKILL)
                if not _wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    raise DevStackError(f"the service (pid {pid}) does not die")
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the service, as a crash would: nothing of it gets to clean up."""
        pid = self._running_pid()
        if pid is None:
            raise DevStackError(f"the service on port {self.port} is not running")
        _signal_group(pid, signal.SIGKILL)
        if not _wait_dead(self._alive, pid, time.monotonic() + 5.0):
            raise DevStackError(f"the service (pid {pid}) does not die")
        self.pidfile.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return self._running_pid() is not None

    @property
    def pid(self) -> int | None:
        """The service's process ID while it runs."""
        return self._running_pid()

    def _alive(self, pid: int) -> bool:
        config = str(self.config).encode()
        return _process_alive(pid, lambda cmdline: b"controlplane" in cmdline and config in cmdline)


# -- the whole stack -------------------------------------------------------------


def up(config: Path, *, redis_port: int, service_port: int, run_dir: Path = DEFAULT_RUN_DIR) -> str:
    """Start Redis, Asterisk and the service (each unless already running).
    Returns a short description of what runs where."""
    run_dir.mkdir(parents=True, exist_ok=True)
    redis = RedisRunner(run_dir, port=redis_port)
    if not redis.is_running():
        redis.start()
    rootfs = ensure_rootfs()
    (run_dir / "asterisk.rootfs").write_text(f"{rootfs}\n")
    asterisk = AsteriskRunner(rootfs, run_dir, webrtc_media=webrtc_media_from_env())
    if not asterisk.is_running():
        asterisk.start()
    service = ServiceRunner(config, run_dir, port=service_port)
    (run_dir / f"service-{service_port}.config").write_text(f"{service.config}\n")
    if not service.is_running():
        service.start()
    return (
        f"Redis     {redis.url}\n"
        f"Asterisk  SIP udp/{LOOPBACK}:{SIP_PORT}, ARI {ARI_URL}, AMI {LOOPBACK}:{AMI_PORT}\n"
        f"service   {service.url} (log {service.log_path})"
    )


WEBRTC_MEDIA_ENV: Final[str] = "CONTROLPLANE_WEBRTC_MEDIA"


def webrtc_media_from_env() -> tuple[str, str] | None:
    """``CONTROLPLANE_WEBRTC_MEDIA=<address>/<prefix>`` (an address of this
    host that browsers reach, e.g. ``10.0.0.5/24``): where browser phones
    get their media; unset: loopback, which gives a browser no audio."""
    value = os.environ.get(WEBRTC_MEDIA_ENV, "").strip()
    if not value:
        return None
    try:
        interface = ipaddress.ip_interface(value)
    except ValueError as exc:
        raise DevStackError(f"{WEBRTC_MEDIA_ENV}={value!r}: {exc}") from None
    return str(interface.ip), str(interface.network)


def down(run_dir: Path = DEFAULT_RUN_DIR) -> None:
    """Stop every service process, Asterisk and Redis started from ``run_dir``."""
    for pidfile in sorted(run_dir.glob("service-*.pid")):
        port = int(pidfile.stem.removeprefix("service-"))
        config = _read_path(run_dir / f"service-{port}.config")
        if config is not None:
            ServiceRunner(config, run_dir, port=port).stop()
    rootfs = _read_path(run_dir / "asterisk.rootfs")
    if rootfs is not None:
        AsteriskRunner(rootfs, run_dir).stop()
    for pidfile in sorted(run_dir.glob("redis-*.pid")):
        RedisRunner(run_dir, port=int(pidfile.stem.removeprefix("redis-"))).stop()


# -- helpers --------------------------------------------------------------------


def _read_path(sidecar: Path) -> Path | None:
    try:
        return Path(sidecar.read_text().strip())
    except FileNotFoundError:
        return None


def _spawn_detached(argv: list[str], env: dict[str, str], log_path: Path) -> int:
    """Start ``argv`` in a new session with stdout/stderr appended to ``log_path``.

    posix_spawn rather than subprocess.Popen: the process is meant to outlive
    this object (``controlplane dev up`` exits and leaves it running), and a
    Popen object would warn about a child still running when collected.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        return os.posix_spawn(argv[0], argv, env, file_actions=file_actions, setsid=True)
    except OSError as exc:
        raise DevStackError(f"cannot start {argv[0]}: {exc}") from exc


def _process_alive(pid: int, matches: Callable[[bytes], bool]) -> bool:
    """Is ``pid`` a live (non-zombie) process whose command line ``matches``?

    A child of this process is judged by waitpid alone (and reaped once it has
    exited): right after spawning, its command line may still be ours. For
    any other pid (one read from a pidfile written by another process), the
    command line guards against the pid having been reused.
    """
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    else:
        return reaped == 0
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        return False
    return matches(cmdline)


def _wait_dead(alive: Callable[[int], bool], pid: int, deadline: float) -> bool:
    """Wait until ``alive(pid)`` is false; False if ``deadline`` passed first."""
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (it was started with setsid)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise DevStackError(f"not allowed to signal process group {pid}: {exc}") from exc


def _require_free_ports(ports: list[tuple[str, int, str]]) -> None:
    """Raise DevStackError naming every (protocol, port) on 127.0.0.1 already in use."""
    busy = [
        f"{LOOPBACK}:{port}/{proto} ({what})"
        for proto, port, what in ports
        if not _port_free(proto, port)
    ]
    if busy:
        raise DevStackError(
            f"port(s) already in use: {', '.join(busy)}; "
            "another instance is probably running: stop it first"
        )


def _port_free(proto: str, port: int) -> bool:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # Like the servers themselves: TIME_WAIT leftovers do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _processes_rooted_at(root: Path) -> list[tuple[int, bytes]]:
    """(pid, command line) of every live process whose root directory is ``root``."""
    found = []
    target = str(root)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "root") != target:
                continue
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append((int(entry.name), cmdline))
    return found


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        mount_point = fields[1].replace("\\040", " ")
        if mount_point == str(root) or mount_point.startswith(prefix):
            found.append(mount_point)
    return found


def _http_status(url: str, basic_auth: tuple[str, str] | None = None) -> int | None:
    """HTTP status of a GET on ``url`` (loopback only); None if nothing answers."""
    request = urllib.request.Request(url)
    if basic_auth is not None:
        token = b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    # Never through a proxy from the environment: these are loopback URLs.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


__all__ = [
    "AGENT_EXTENSIONS",
    "AGENT_PHONE_PASSWORD",
    "AMI_PORT",
    "AMI_SECRET",
    "AMI_USERNAME",
    "ARI_PASSWORD",
    "ARI_PORT",
    "ARI_URL",
    "ARI_USERNAME",
    "CARRIER_IP",
    "DEFAULT_RUN_DIR",
    "REPO_ROOT",
    "SIP_PORT",
    "STASIS_APP",
    "AsteriskRunner",
    "DevStackError",
    "RedisRunner",
    "ServiceRunner",
    "ensure_rootfs",
]
