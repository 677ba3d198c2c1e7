"""Asterisk 22 chrooted in its Debian rootfs (see the package's docstring)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from devstack.base import (
    AMI_PORT,
    ARI_PORT,
    ASTERISK_BIN,
    ASTERISK_CONF_DIR,
    BUILD_ROOTFS_SCRIPT,
    DIALPLANS_DIR,
    HOST_PATH,
    LOOPBACK,
    ROOTFS_ENV,
    SIP_PORT,
    DevStackError,
    Runner,
    last_lines,
    mounts_under,
    port_free,
    process_alive,
    processes_rooted_at,
    require_free_ports,
    signal_group,
    spawn_detached,
    wait_dead,
)


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
        output = last_lines(result.stdout + result.stderr)
        raise DevStackError(
            f"{BUILD_ROOTFS_SCRIPT.name} failed with exit code {result.returncode}:\n{output}"
        )
    root = Path(lines[-1])
    if not (root / "usr/sbin/asterisk").is_file():
        raise DevStackError(f"{BUILD_ROOTFS_SCRIPT.name} returned {root}, which has no Asterisk")
    return root


class AsteriskRunner(Runner):
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
        if not (self.rootfs / ASTERISK_BIN.lstrip("/")).is_file():
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
        require_free_ports(
            [("udp", SIP_PORT, "SIP"), ("tcp", ARI_PORT, "HTTP/ARI"), ("tcp", AMI_PORT, "AMI")]
        )
        unshare = shutil.which("unshare", path=HOST_PATH)
        chroot = shutil.which("chroot", path=HOST_PATH)
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
            f"{ASTERISK_BIN} -f -n & wait $!",
        ]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        started = time.monotonic()
        pid = spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")

        deadline = started + timeout
        while True:
            if not self._alive(pid):
                signal_group(pid, signal.SIGKILL)  # anything left of the group
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
            if pid is not None and not wait_dead(self._alive, pid, deadline):
                signal_group(pid, signal.SIGTERM)
                if not wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    signal_group(pid, signal.SIGKILL)
                    if not wait_dead(self._alive, pid, time.monotonic() + 3.0):
                        raise DevStackError(f"Asterisk (pid {pid}) does not die")
        self._forget_pid()
        self._kill_leftovers()
        self._unmount_leftovers()

    def kill(self) -> None:
        """SIGKILL Asterisk, as a crash would: no channel is hung up cleanly."""
        pid = self._running_pid()
        if pid is not None:
            signal_group(pid, signal.SIGKILL)
            wait_dead(self._alive, pid, time.monotonic() + 5.0)
        self._forget_pid()
        self._kill_leftovers()
        self._unmount_leftovers()
        # The kernel tears a killed namespace down asynchronously: wait for
        # its sockets, so that a start right after this one finds them free.
        deadline = time.monotonic() + 5.0
        ports = [("udp", SIP_PORT), ("tcp", ARI_PORT), ("tcp", AMI_PORT)]
        while not all(port_free(proto, port) for proto, port in ports):
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
        chroot = shutil.which("chroot", path=HOST_PATH) or "chroot"
        try:
            return subprocess.run(
                [chroot, str(self.rootfs), ASTERISK_BIN, *args],
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
        return process_alive(pid, lambda cmdline: b"unshare" in cmdline and root in cmdline)

    def _forget_pid(self) -> None:
        self.pidfile.unlink(missing_ok=True)

    def _daemon_pids(self) -> list[int]:
        """Asterisk daemons chrooted into our rootfs (remote consoles excluded)."""
        return [
            pid
            for pid, cmdline in processes_rooted_at(self.rootfs)
            if cmdline.split(b"\0")[0].endswith(b"asterisk") and b"-f" in cmdline.split(b"\0")
        ]

    def _kill_leftovers(self) -> None:
        """SIGKILL whatever still runs chrooted into our rootfs (e.g. after a crash)."""
        for _ in range(50):
            pids = [pid for pid, _ in processes_rooted_at(self.rootfs)]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        raise DevStackError(f"processes chrooted in {self.rootfs} do not die")

    def _unmount_leftovers(self) -> None:
        """Unmount anything still mounted under the rootfs on the host."""
        for mount_point in sorted(mounts_under(self.rootfs), reverse=True):
            subprocess.run(
                ["umount", "--lazy", mount_point],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        left = mounts_under(self.rootfs)
        if left:
            raise DevStackError(f"still mounted under {self.rootfs}: {left}")
