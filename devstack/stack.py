"""The whole local stack: `controlplane dev up` / `dev down`."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Final

from devstack.asterisk import AsteriskRunner, ensure_rootfs
from devstack.base import (
    AMI_PORT,
    ARI_URL,
    DEFAULT_RUN_DIR,
    LOOPBACK,
    SIP_PORT,
    DevStackError,
    read_path,
)
from devstack.redis_server import RedisRunner
from devstack.service import ServiceRunner


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
        config = read_path(run_dir / f"service-{port}.config")
        if config is not None:
            ServiceRunner(config, run_dir, port=port).stop()
    rootfs = read_path(run_dir / "asterisk.rootfs")
    if rootfs is not None:
        AsteriskRunner(rootfs, run_dir).stop()
    for pidfile in sorted(run_dir.glob("redis-*.pid")):
        RedisRunner(run_dir, port=int(pidfile.stem.removeprefix("redis-"))).stop()


# -- helpers --------------------------------------------------------------------
