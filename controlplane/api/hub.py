"""The event fan-out: every event of the datacenter, from Redis, to the
WebSocket clients of this replica allowed to see it."""

from __future__ import annotations

import asyncio
import json
import logging

from controlplane.adapters.store import Store
from controlplane.api.auth import Principal
from controlplane.sessions import SESSION_EVENTS

log = logging.getLogger(__name__)

CLOSE = "\x00close"  # (queued after an event that ends a desktop session's socket)


class EventHub:
    """Receives every event of the datacenter from Redis and hands each to the
    WebSocket clients of this replica allowed to see it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._clients: dict[int, tuple[Principal, asyncio.Queue[str]]] = {}
        self.ready = asyncio.Event()

    def subscribe(self, principal: Principal) -> tuple[int, asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        key = id(queue)
        self._clients[key] = (principal, queue)
        return key, queue

    def unsubscribe(self, key: int) -> None:
        self._clients.pop(key, None)

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._store.subscription(self._store.events_channel) as pubsub:
                    self.ready.set()
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        self._fan_out(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event subscription lost: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _fan_out(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        session = event.get("session")  # DSK-1: for one desktop session only
        for principal, queue in list(self._clients.values()):
            if principal.may_see_event(
                event.get("tenant", ""), event.get("agent"), bool(event.get("private")), session
            ):
                if queue.full():
                    log.warning("a WebSocket client is too slow; dropping an event for it")
                    continue
                queue.put_nowait(data)
                if session is not None and event.get("type") in SESSION_EVENTS:
                    queue.put_nowait(CLOSE)  # the session is over: close its socket
