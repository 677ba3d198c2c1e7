"""The audit trail in Redis: one capped stream per tenant
(`audit:<tenant>`, `XADD MAXLEN ~`), newest read first."""

from __future__ import annotations

from typing import Any, cast

from controlplane.adapters.store import Batch, Store

MAX_RECORDS = 10_000  # per tenant, approximately (MAXLEN ~)


class AuditStore:
    def __init__(self, store: Store) -> None:
        self._redis = store.redis
        self._prefix = store.prefix

    def key(self, tenant: str) -> str:
        return f"{self._prefix}audit:{tenant}"

    def append_on(self, batch: Batch, tenant: str, record: dict[str, str]) -> None:
        """Queue the record on a batch its owner executes (and checks)."""
        batch.xadd(self.key(tenant), cast(Any, record), maxlen=MAX_RECORDS, approximate=True)

    async def append(self, tenant: str, record: dict[str, str]) -> None:
        await self._redis.xadd(
            self.key(tenant), cast(Any, record), maxlen=MAX_RECORDS, approximate=True
        )

    async def newest(self, tenant: str, limit: int) -> list[tuple[str, dict[str, str]]]:
        """Up to `limit` records (ID, fields), newest first."""
        rows = await self._redis.xrevrange(self.key(tenant), count=limit)
        return cast(list[tuple[str, dict[str, str]]], rows)
