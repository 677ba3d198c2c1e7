"""How the service runs: its event loop is uvloop's, and once it listens,
what start-up built is out of the garbage collector's full collections
(`gc.freeze`), which otherwise stop the loop for 13-17 ms each."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from pathlib import Path

import pytest
import uvloop
from aiohttp import web

from controlplane import app as app_module
from controlplane.cli import run
from controlplane.config import Config, load_config

REPO = Path(__file__).resolve().parents[2]


def test_the_service_loop_is_uvloop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        seen.append(asyncio.get_running_loop())

    run(main())
    assert isinstance(seen[0], uvloop.Loop)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _watched(obj: object) -> bool:
    """Whether full collections still walk the object (gc.get_objects()
    leaves out the frozen ones)."""
    return any(o is obj for o in gc.get_objects())


def _config(port: int) -> Config:
    config = load_config(REPO / "config" / "demo.toml")
    service = config.service.model_copy(
        update={"listen_host": "127.0.0.1", "extra_listen_hosts": (), "listen_port": port}
    )
    return config.model_copy(update={"service": service})


async def test_serve_freezes_the_start_up_heap_once_listening(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _free_port()
    monkeypatch.setattr(app_module, "build", lambda _config: web.Application())
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    built: list[list[str]] = [[] for _ in range(3)]  # what start-up leaves
    assert _watched(built)
    serving = asyncio.create_task(app_module.serve(_config(port)))
    try:
        for _ in range(200):
            if gc.get_freeze_count() > 0:
                break
            await asyncio.sleep(0.01)
        frozen = gc.get_freeze_count()
        later: list[list[str]] = [[]]  # what calls create afterwards
        # frozen once listening: the port answers
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
        assert frozen > 0 and not _watched(built)
        assert _watched(later)  # once, not per request
        assert not serving.done()
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # the service's own stop
        await asyncio.wait_for(serving, 5)
        gc.unfreeze()
