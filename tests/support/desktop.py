"""An agent desktop or supervisor console, as the tests drive it: the REST API
and the WebSocket of events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp

Event = dict[str, Any]


class ApiError(AssertionError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"API answered {status}: {body}")
        self.status = status
        self.body = body


class Desktop:
    def __init__(self, base_url: str, token: str, agent: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.agent = agent
        self.events: list[Event] = []
        self._consumed: set[int] = set()
        self._new = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Desktop:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=15),
        )
        self._ws = await self._session.ws_connect(f"{self.base_url}/v1/events")
        hello = await self._ws.receive_json(timeout=5)
        assert hello["type"] == "hello", hello
        self._reader = asyncio.create_task(self._read(), name="desktop-events")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                async with self._new:
                    self.events.append(json.loads(msg.data))
                    self._new.notify_all()

    async def event(
        self, kind: str, where: Callable[[Event], bool] = lambda _e: True, timeout: float = 10.0
    ) -> Event:
        """The oldest event of that kind matching `where` that no earlier call
        returned (events are kept from the start, so order of waiting is free)."""
        found: list[Event] = []

        def find() -> bool:
            for i, ev in enumerate(self.events):
                if i not in self._consumed and ev["type"] == kind and where(ev):
                    self._consumed.add(i)
                    found.append(ev)
                    return True
            return False

        async with self._new:
            try:
                await asyncio.wait_for(self._new.wait_for(find), timeout)
            except TimeoutError:
                pending = [
                    (e["type"], e["data"].get("state"))
                    for i, e in enumerate(self.events)
                    if i not in self._consumed
                ]
                raise AssertionError(
                    f"no {kind} event within {timeout}s; unread events: {pending}"
                ) from None
        return found[0]

    async def state_event(self, state: str, timeout: float = 10.0) -> Event:
        return await self.event("agent.state", lambda e: e["data"]["state"] == state, timeout)

    async def call(self, method: str, path: str, body: Any = None, *, expect: int = 200) -> Any:
        assert self._session is not None
        async with self._session.request(method, f"{self.base_url}{path}", json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status != expect:
                raise ApiError(resp.status, data)
            return data

    # Agent actions ---------------------------------------------------------------

    async def login(self, extension: str) -> Any:
        return await self.call("POST", f"/v1/agents/{self.agent}/login", {"extension": extension})

    async def available(self) -> Any:
        return await self.call("PUT", f"/v1/agents/{self.agent}/state", {"state": "available"})

    async def idle(self, reason: str) -> Any:
        return await self.call(
            "PUT", f"/v1/agents/{self.agent}/state", {"state": "idle", "reason": reason}
        )

    async def logout(self) -> Any:
        return await self.call("PUT", f"/v1/agents/{self.agent}/state", {"state": "logged_out"})

    async def wrap_up(self, interaction: str, reason: str) -> Any:
        return await self.call(
            "POST", f"/v1/interactions/{interaction}/wrap-up", {"reason": reason}
        )

    async def end(self, interaction: str) -> Any:
        return await self.call("POST", f"/v1/interactions/{interaction}/end")

    async def me(self) -> Any:
        return await self.call("GET", f"/v1/agents/{self.agent}")
