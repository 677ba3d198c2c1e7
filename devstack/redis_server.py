"""Redis for the local stack and the tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from pathlib import Path

from devstack.base import (
    HOST_PATH,
    LOOPBACK,
    DevStackError,
    Runner,
    process_alive,
    require_free_ports,
    signal_group,
    spawn_detached,
    wait_dead,
)


class RedisRunner(Runner):
    """A Redis on 127.0.0.1 for tests and demos: an append-only file (fsync
    every second), no RDB snapshots."""

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
        require_free_ports([("tcp", self.port, "Redis")])
        search_path = os.environ.get("PATH", "") + os.pathsep + HOST_PATH
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
        env = {"PATH": os.environ.get("PATH", HOST_PATH), "LANG": "C.UTF-8"}
        pid = spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")
        deadline = time.monotonic() + timeout
        while not self._ping():
            if not self._alive(pid):
                signal_group(pid, signal.SIGKILL)  # anything left of the group
                self.pidfile.unlink(missing_ok=True)
                raise DevStackError(f"redis-server exited during start-up:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise DevStackError(f"Redis did not answer within {timeout:.0f} s")
            time.sleep(0.02)

    def stop(self) -> None:
        pid = self._running_pid()
        if pid is not None:
            signal_group(pid, signal.SIGTERM)
            if not wait_dead(self._alive, pid, time.monotonic() + 5.0):
                signal_group(pid, signal.SIGKILL)
                if not wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    raise DevStackError(f"redis-server (pid {pid}) does not die")
        self.pidfile.unlink(missing_ok=True)

    def is_running(self) -> bool:
        return self._running_pid() is not None

    def _alive(self, pid: int) -> bool:
        # Redis rewrites its title to "redis-server 127.0.0.1:PORT" once up.
        port = str(self.port).encode()
        return process_alive(
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
