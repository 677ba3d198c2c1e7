"""Durable timers: due-times in Redis, so they survive a restart of the service.

A timer is a (kind, key) pair with a due time in one sorted set. Every
replica polls it; a due timer is claimed atomically (removed from the set)
by exactly one replica, which runs the handler registered for its kind.
Handlers must re-check the state they act on: a timer may fire after the
world has moved on (the call ended, the agent acted already).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from controlplane.adapters.store import Store
from controlplane.adapters.timer_store import TimerStore
from controlplane.domain.interaction import now_ms

log = logging.getLogger(__name__)

Handler = Callable[[str], Awaitable[None]]


class Timers:
    def __init__(self, store: Store, *, poll_seconds: float = 0.1) -> None:
        self._db = TimerStore(store)
        self._handlers: dict[str, Handler] = {}
        self._poll = poll_seconds

    def on(self, kind: str, handler: Handler) -> None:
        """Run `handler(key)` when a timer of this kind is due."""
        if "|" in kind:
            raise ValueError("a timer kind has no '|'")
        self._handlers[kind] = handler

    async def schedule(self, kind: str, key: str, due_ms: int) -> None:
        """Set (or move) the timer (kind, key) to fire at `due_ms`."""
        await self._db.schedule(f"{kind}|{key}", due_ms)

    async def schedule_in(self, kind: str, key: str, seconds: float) -> int:
        due = now_ms() + int(seconds * 1000)
        await self.schedule(kind, key, due)
        return due

    async def cancel(self, kind: str, key: str) -> bool:
        return await self._db.cancel(f"{kind}|{key}")

    async def run(self) -> None:
        while True:
            try:
                claimed = await self._db.claim_due(now_ms(), 100)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("timers: cannot reach Redis: %s", exc)
                claimed = []
            for member in claimed:
                kind, _, key = member.partition("|")
                handler = self._handlers.get(kind)
                if handler is None:
                    log.error("timer of unknown kind %r dropped", kind)
                    continue
                try:
                    await handler(key)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("timer %s for %s failed", kind, key)
            await asyncio.sleep(self._poll)
