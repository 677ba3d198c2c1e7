"""Supervisor figures and interaction records in Redis (SUP-1, SUP-3, SUP-6).

Keys (the datacenter's hash tag, like every key of the store):

- `stats:<tenant>:<day>`: the tenant's day totals (hash): per queue
  `q:<queue>:offered|answered|answered_in_sl|abandoned`, `refused:26`,
  `refused:27`, `rona:<agent>`;
- `stats:<tenant>:<day>:b`: the day's 15-minute buckets (hash):
  `<queue>:<bucket>:<metric>`;
- `stats:mark:<interaction>`: which once-per-interaction counts were made
  (a hash, two days);
- `rec:<tenant>`: completed interactions by end time (sorted set), and
  `rec:<tenant>:<interaction>`: one record each (hash), both kept for the
  retention.

Counts are queued on the caller's pipeline (the notifier's, which publishes
the event in the same round trip), each group in one Lua step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Any, cast

from redis.asyncio.client import Pipeline

from controlplane.adapters.store import Store, _script
from controlplane.domain import stats as rules

MARK_SECONDS = 2 * 86400
DAY_SECONDS = 86400
PAGE = 500  # records read per round trip when exporting


class StatsStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.redis = store.redis
        self.prefix = store.prefix
        # The scripts queued on an event's batch go as EVAL, not EVALSHA: a
        # registered script would make the batch ask Redis for its scripts
        # first (SCRIPT EXISTS), one more round trip per event.
        self._count_source = _script("stats_count.lua")
        self._keep_source = _script("record_keep.lua")
        self._update_source = _script("record_update.lua")
        self._view = store.redis.register_script(_script("supervisor_view.lua"))

    # Keys ----------------------------------------------------------------------------

    def day_key(self, tenant: str, day: date) -> str:
        return f"{self.prefix}stats:{tenant}:{day.isoformat()}"

    def buckets_key(self, tenant: str, day: date) -> str:
        return f"{self.day_key(tenant, day)}:b"

    def mark_key(self, ix_id: str) -> str:
        return f"{self.prefix}stats:mark:{ix_id}"

    def records_key(self, tenant: str) -> str:
        return f"{self.prefix}rec:{tenant}"

    def record_key(self, tenant: str, ix_id: str) -> str:
        return f"{self.records_key(tenant)}:{ix_id}"

    # Counting ------------------------------------------------------------------------

    def count_on(
        self,
        pipe: Pipeline,
        tenant: str,
        ix_id: str,
        counting: rules.Counting,
        *,
        retention_days: int,
    ) -> None:
        """Queue the counts of one event on `pipe` (one Lua step per mark)."""
        keys = [
            self.mark_key(ix_id or "-"),
            self.day_key(tenant, counting.day),
            self.buckets_key(tenant, counting.day),
        ]
        lifetime = (retention_days + 2) * DAY_SECONDS
        for mark, counts in counting.groups().items():
            args: list[str | int] = [mark if ix_id else "", MARK_SECONDS, lifetime]
            for count in counts:
                args += [3 if count.bucket is not None else 2, count.field]
            pipe.eval(self._count_source, len(keys), *keys, *args)

    def keep_record_on(
        self,
        pipe: Pipeline,
        tenant: str,
        record: Mapping[str, str],
        *,
        ended_at: int,
        oldest: int,
        retention_days: int,
    ) -> None:
        """Queue keeping an ended interaction's record (and trimming old ones)."""
        ix_id = record["id"]
        args: list[str | int] = [
            ix_id,
            ended_at,
            oldest,
            (retention_days + 1) * DAY_SECONDS,
            f"{self.records_key(tenant)}:",
        ]
        for key, value in record.items():
            args += [key, value]
        keys = [self.records_key(tenant), self.record_key(tenant, ix_id)]
        pipe.eval(self._keep_source, len(keys), *keys, *args)

    def update_record_on(
        self, pipe: Pipeline, tenant: str, ix_id: str, fields: Mapping[str, str]
    ) -> None:
        """Queue an update of a kept record (the wrap-up reason comes after
        the end); nothing happens when there is no record."""
        key = self.record_key(tenant, ix_id)
        args: list[str] = []
        for k, v in fields.items():
            args += [k, v]
        pipe.eval(self._update_source, 1, key, *args)

    # Reading -------------------------------------------------------------------------

    async def live_view(
        self, tenant: str, queues: list[str], agents: list[str], *, day: date, now: int
    ) -> list[Any]:
        """SUP-1..SUP-3: queues, agents with their calls, slots used and the
        day's totals in one round trip (see supervisor_view.lua)."""
        args: list[str | int] = [
            self.prefix,
            tenant,
            now + 1,
            self.day_key(tenant, day),
            len(queues),
            *queues,
            len(agents),
            *agents,
        ]
        return cast(list[Any], await self._view(keys=[], args=args))

    async def day(self, tenant: str, day: date) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(self.day_key(tenant, day)))

    async def buckets(self, tenant: str, day: date) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(self.buckets_key(tenant, day)))

    async def record_page(
        self,
        tenant: str,
        start: int,
        end: int,
        *,
        cursor: tuple[int, int] | None = None,
        limit: int = PAGE,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, str]], tuple[int, int] | None]:
        """One page of the records of interactions that ended in [start, end)
        and the cursor of the next page (None at the end). A cursor is (end
        time, how many records with that end time were read already): records
        ending in the same millisecond keep their order (by ID)."""
        key = self.records_key(tenant)
        edge, skip = cursor if cursor is not None else (end - 1 if newest_first else start, 0)
        if newest_first:
            page = cast(
                list[tuple[str, float]],
                await self.redis.zrevrangebyscore(
                    key, edge, start, start=skip, num=limit, withscores=True
                ),
            )
        else:
            page = cast(
                list[tuple[str, float]],
                await self.redis.zrangebyscore(
                    key, edge, f"({end}", start=skip, num=limit, withscores=True
                ),
            )
        if not page:
            return [], None
        async with self.redis.pipeline(transaction=False) as pipe:
            for ix_id, _ in page:
                pipe.hgetall(self.record_key(tenant, ix_id))
            rows = cast(list[dict[str, str]], await pipe.execute())
        following: tuple[int, int] | None = None
        if len(page) == limit:
            last = int(page[-1][1])
            ties = sum(1 for _, score in page if int(score) == last)
            following = (last, ties + (skip if last == edge else 0))
        return [row for row in rows if row], following

    async def records(
        self, tenant: str, start: int, end: int
    ) -> AsyncIterator[list[dict[str, str]]]:
        """Every record of interactions that ended in [start, end), oldest
        first, a page at a time (two round trips a page, whatever the size)."""
        cursor: tuple[int, int] | None = None
        while True:
            rows, cursor = await self.record_page(tenant, start, end, cursor=cursor)
            if rows:
                yield rows
            if cursor is None:
                return

    async def record_count(self, tenant: str, start: int, end: int) -> int:
        return int(await self.redis.zcount(self.records_key(tenant), start, f"({end}"))
