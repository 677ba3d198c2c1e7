"""The control plane itself as a process of the local stack."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from devstack.base import (
    ARI_PASSWORD,
    ARI_URL,
    ARI_USERNAME,
    LOOPBACK,
    REPO_ROOT,
    STASIS_APP,
    DevStackError,
    Runner,
    http_status,
    process_alive,
    require_free_ports,
    signal_group,
    spawn_detached,
    wait_dead,
)


class ServiceRunner(Runner):
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
        require_free_ports([("tcp", self.port, "control plane HTTP")])
        if not self.config.is_file():
            raise DevStackError(f"no config file {self.config}")
        self._new_log()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        argv = [sys.executable, "-m", "controlplane", "serve", "--config", str(self.config)]
        pid = spawn_detached(argv, env, self.log_path)
        self.pidfile.write_text(f"{pid}\n")

        deadline = time.monotonic() + timeout
        waiting_for = "GET /health to answer 200"
        while True:
            if not self._alive(pid):
                signal_group(pid, signal.SIGKILL)
                self.pidfile.unlink(missing_ok=True)
                raise DevStackError(f"the service exited during start-up:\n{self._log_tail()}")
            if http_status(f"{self.url}/health") == 200:
                if self.stasis_app is None:
                    return
                waiting_for = f"Stasis app {self.stasis_app!r} to be registered in Asterisk"
                status = http_status(
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
            signal_group(pid, signal.SIGTERM)
            if not wait_dead(self._alive, pid, time.monotonic() + timeout):
                signal_group(pid, signal.SIGKILL)
                if not wait_dead(self._alive, pid, time.monotonic() + 3.0):
                    raise DevStackError(f"the service (pid {pid}) does not die")
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the service, as a crash would: nothing of it gets to clean up."""
        pid = self._running_pid()
        if pid is None:
            raise DevStackError(f"the service on port {self.port} is not running")
        signal_group(pid, signal.SIGKILL)
        if not wait_dead(self._alive, pid, time.monotonic() + 5.0):
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
        return process_alive(pid, lambda cmdline: b"controlplane" in cmdline and config in cmdline)
