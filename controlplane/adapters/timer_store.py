"""Durable timers in Redis: `timers`, one sorted set of `<kind>|<key>` members
scored by their due time (ms); `timers_claim.lua` takes the due ones."""

from __future__ import annotations

from controlplane.adapters.store import Store, _script


class TimerStore:
    def __init__(self, store: Store) -> None:
        self._redis = store.redis
        self._key = f"{store.prefix}timers"
        self._claim = store.redis.register_script(_script("timers_claim.lua"))

    async def schedule(self, member: str, due_ms: int) -> None:
        """Set (or move) the timer to fire at `due_ms`."""
        await self._redis.zadd(self._key, {member: due_ms})

    async def cancel(self, member: str) -> bool:
        return bool(await self._redis.zrem(self._key, member))

    async def claim_due(self, now: int, limit: int) -> list[str]:
        """Remove and return up to `limit` timers due at `now`, in one step."""
        return [str(member) for member in await self._claim(keys=[self._key], args=[now, limit])]
