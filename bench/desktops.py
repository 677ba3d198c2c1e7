"""The agents' desktops under load: a small asyncio driver that logs every
bench agent in, makes them available, and applies a wrap-up reason the moment
an agent enters wrap-up (so an agent is free again at once). Agents are
spread over the replicas' APIs; one supervisor WebSocket sees the tenant's
events, whichever replica made them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import Any

import aiohttp

from bench.stack import SUPERVISOR_TOKEN, WRAP_UP_REASON, agent_id, agent_token


class Desktops:
    def __init__(self, urls: list[str], exts: list[int]) -> None:
        self.urls = urls
        self.exts = exts
        self._by_agent = {agent_id(e): e for e in exts}
        self.counts: Counter[str] = Counter()
        self.wrap_up_latencies: list[float] = []
        self.errors: list[str] = []
        self._session: aiohttp.ClientSession | None = None
        self._ws_task: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(64)

    def _url(self, ext: int) -> str:
        return self.urls[ext % len(self.urls)]

    def _headers(self, ext: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {agent_token(ext)}"}

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=64)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        )
        ws = await self._session.ws_connect(
            f"{self.urls[0]}/v1/events",
            headers={"Authorization": f"Bearer {SUPERVISOR_TOKEN}"},
            heartbeat=15,
            max_msg_size=0,
        )
        hello = await ws.receive_json(timeout=10)
        if hello.get("type") != "hello":
            raise RuntimeError(f"events WebSocket said {hello}")
        self._ws_task = asyncio.create_task(self._events(ws), name="supervisor-events")

    async def close(self) -> None:
        if self._ws_task is not None:
            self._ws_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ws_task
        if self._jobs:
            await asyncio.wait(self._jobs, timeout=10)
        if self._session is not None:
            await self._session.close()

    async def _call(self, ext: int, method: str, path: str, body: Any = None) -> int:
        assert self._session is not None
        async with (
            self._limit,
            self._session.request(
                method, f"{self._url(ext)}{path}", json=body, headers=self._headers(ext)
            ) as resp,
        ):
            text = await resp.text()
            if resp.status != 200:
                self.errors.append(f"{method} {path}: {resp.status} {text[:200]}")
            return resp.status

    async def ready_all(self) -> None:
        """Log every agent in and make them available (a failure stops the run)."""

        async def ready(ext: int) -> None:
            agent = agent_id(ext)
            if (
                await self._call(ext, "POST", f"/v1/agents/{agent}/login", {"extension": str(ext)})
                != 200
            ):
                raise RuntimeError(f"login of {agent} failed: {self.errors[-1]}")
            if (
                await self._call(ext, "PUT", f"/v1/agents/{agent}/state", {"state": "available"})
                != 200
            ):
                raise RuntimeError(f"{agent} could not go available: {self.errors[-1]}")

        await asyncio.gather(*(ready(e) for e in self.exts))

    async def _events(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            event = json.loads(msg.data)
            kind = event.get("type", "")
            self.counts[kind] += 1
            if kind != "agent.state":
                continue
            data = event.get("data") or {}
            state = data.get("state")
            ext = self._by_agent.get(str(data.get("agent")))
            if ext is None:
                continue
            if state == "wrap_up" and data.get("interaction"):
                self._spawn(self._wrap_up(ext, str(data["interaction"])))
            elif state == "rona":
                self.counts["rona"] += 1
                self._spawn(self._available(ext))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _wrap_up(self, ext: int, ix_id: str) -> None:
        started = time.perf_counter()
        status = await self._call(
            ext, "POST", f"/v1/interactions/{ix_id}/wrap-up", {"reason": WRAP_UP_REASON}
        )
        if status == 200:
            self.counts["wrapped_up"] += 1
            self.wrap_up_latencies.append(time.perf_counter() - started)
        else:
            self.counts["wrap_up_failed"] += 1

    async def _available(self, ext: int) -> None:
        """An agent left in `rona` (a failure worth counting) is made available again."""
        await self._call(ext, "PUT", f"/v1/agents/{agent_id(ext)}/state", {"state": "available"})
