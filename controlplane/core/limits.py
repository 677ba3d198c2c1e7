"""Concurrent-call limits (LIM-1..LIM-3): a slot per live call, leased in
Redis, for the datacenter and the tenant."""

from __future__ import annotations

from controlplane import metrics
from controlplane.adapters.store import RouteBehind, Store, StoreError, Writes
from controlplane.config import Config
from controlplane.domain.errors import NotFound, Unavailable
from controlplane.domain.interaction import Interaction, now_ms
from controlplane.domain.limits import SLOT_LEASE_MS, LimitCode, LimitReached


class Limits:
    def __init__(self, config: Config, *, store: Store) -> None:
        self._config = config
        self._store = store

    async def admit(
        self, ix: Interaction, *, writes: Writes = (), route: RouteBehind | None = None
    ) -> None:
        """LIM-1..3: take a concurrent-call slot for the interaction (and make
        `writes` with it, in one atomic step), or raise LimitReached (26
        datacenter, 27 tenant) and write nothing. Without Redis nothing is
        admitted: refusing is safer than going over a limit. `route`: a
        routing step to run behind the admission in its round trip."""
        tenant = self._config.tenants.get(ix.tenant)
        if tenant is None:
            raise NotFound(f"unknown tenant {ix.tenant!r}")
        try:
            code = await self._store.admit(
                ix.id,
                ix.tenant,
                dc_limit=self._config.datacenter.max_concurrent_calls,
                tenant_limit=tenant.max_concurrent_calls,
                now=now_ms(),
                lease_ms=SLOT_LEASE_MS,
                writes=writes,
                route=route,
            )
        except StoreError as exc:
            raise Unavailable(f"admission is not possible right now: {exc}", rule="LIM-3") from exc
        metrics.admission(ix.tenant, code)
        if code:
            raise LimitReached(LimitCode(code))

    async def release(self, ix: Interaction) -> None:
        """LIM-3: the interaction's slot is free again."""
        await self._store.release(ix.id, ix.tenant)

    async def renew_slots(self) -> None:
        """Extend the slot leases of the interactions still going on."""
        await self._store.renew(await self._store.live_calls(), expiry=now_ms() + SLOT_LEASE_MS)
