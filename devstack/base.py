"""What the runners share: the local-demo constants, the error, the runner
base (pidfile and log) and process, port and mount helpers."""

from __future__ import annotations

import errno
import os
import signal
import socket
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

ASTERISK_BIN: Final[str] = "/usr/sbin/asterisk"
HOST_PATH: Final[str] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_TAIL_LINES: Final[int] = 40


class DevStackError(Exception):
    """The local stack could not be built, started, queried or stopped."""


class Runner:
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
            return last_lines(self.log_path.read_text(errors="replace"))
        except FileNotFoundError:
            return "(no log)"


def read_path(sidecar: Path) -> Path | None:
    try:
        return Path(sidecar.read_text().strip())
    except FileNotFoundError:
        return None


def spawn_detached(argv: list[str], env: dict[str, str], log_path: Path) -> int:
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


def process_alive(pid: int, matches: Callable[[bytes], bool]) -> bool:
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


def wait_dead(alive: Callable[[int], bool], pid: int, deadline: float) -> bool:
    """Wait until ``alive(pid)`` is false; False if ``deadline`` passed first."""
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (it was started with setsid)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise DevStackError(f"not allowed to signal process group {pid}: {exc}") from exc


def require_free_ports(ports: list[tuple[str, int, str]]) -> None:
    """Raise DevStackError naming every (protocol, port) on 127.0.0.1 already in use."""
    busy = [
        f"{LOOPBACK}:{port}/{proto} ({what})"
        for proto, port, what in ports
        if not port_free(proto, port)
    ]
    if busy:
        raise DevStackError(
            f"port(s) already in use: {', '.join(busy)}; "
            "another instance is probably running: stop it first"
        )


def port_free(proto: str, port: int) -> bool:
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


def processes_rooted_at(root: Path) -> list[tuple[int, bytes]]:
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


def mounts_under(root: Path) -> list[str]:
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


def http_status(url: str, basic_auth: tuple[str, str] | None = None) -> int | None:
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


def last_lines(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
