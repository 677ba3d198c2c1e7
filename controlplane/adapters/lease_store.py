"""The event-stream lease of an Asterisk node in Redis: `owner:<node>`,
holding the owning replica's ID and expiring unless renewed. It runs on the
store's lease connections (a pool of their own, see `Store.from_url`)."""

from __future__ import annotations

from controlplane.adapters.store import Store, _script


class LeaseStore:
    def __init__(self, store: Store, node: str) -> None:
        self._redis = store.lease_redis
        self.key = f"{store.prefix}owner:{node}"
        self._renew = self._redis.register_script(_script("lease_renew.lua"))
        self._release = self._redis.register_script(_script("lease_release.lua"))

    async def take(self, replica: str, lease_ms: int) -> bool:
        """True when the lease was free and is now the replica's."""
        return bool(await self._redis.set(self.key, replica, nx=True, px=lease_ms))

    async def renew(self, replica: str, lease_ms: int) -> bool:
        """False when the replica does not hold the lease (any more)."""
        return bool(await self._renew(keys=[self.key], args=[replica, lease_ms]))

    async def release(self, replica: str) -> None:
        await self._release(keys=[self.key], args=[replica])
