"""The supervisor console's figures (SUP-1..SUP-3, SUP-6).

- Every event the notifier publishes passes `count_event`, which queues its
  counts (SUP-1 service level and abandoned calls, SUP-2 RONAs, SUP-3
  refusals) and the record of an ended interaction (SUP-6) on the event's
  own pipeline: counted once, where it happens, atomically.
- Live views: `snapshot` reads queues, agents, limits and the day's totals
  from Redis in two round trips.
- SUP-6: the day's interactions (live and completed), the CSV export and
  the 15-minute chart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from controlplane.adapters.stats_store import StatsStore
from controlplane.adapters.store import AgentRecord, Batch, Store
from controlplane.config import Config
from controlplane.core.agents import Agents
from controlplane.domain import stats as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, NotFound
from controlplane.domain.interaction import Status, iso, now_ms

STATES = [s.value for s in AgentState]


@dataclass(frozen=True, slots=True)
class TenantClock:
    tz: ZoneInfo
    service_levels: dict[str, int]
    retention_days: int
    members: dict[str, list[str]]  # queue -> the agents of its teams
    agent_queues: dict[str, list[str]]  # agent -> the queues their team serves


class Figures:
    """SUP-1..SUP-3, SUP-6: the figures and the day's interactions."""

    def __init__(self, config: Config, *, store: Store, agents: Agents) -> None:
        self.config = config
        self._store = store
        self._agents = agents
        self.stats = StatsStore(store)
        self._clocks: dict[str, TenantClock] = {}
        for tid, tenant in self.config.tenants.items():
            self._clocks[tid] = TenantClock(
                tz=rules.zone(tenant.timezone),
                service_levels={q: cfg.service_level_seconds for q, cfg in tenant.queues.items()},
                retention_days=tenant.record_retention_days
                or self.config.service.record_retention_days,
                members={
                    q: sorted(a for a, ac in tenant.agents.items() if ac.team in qc.teams)
                    for q, qc in tenant.queues.items()
                },
                agent_queues={
                    a: sorted(q for q, qc in tenant.queues.items() if ac.team in qc.teams)
                    for a, ac in tenant.agents.items()
                },
            )

    def clock(self, tenant: str) -> TenantClock:
        try:
            return self._clocks[tenant]
        except KeyError:
            raise NotFound(f"unknown tenant {tenant!r}") from None

    def today(self, tenant: str) -> date:
        return rules.day_of(now_ms(), self.clock(tenant).tz)

    # Counting (a hook of the notifier) ------------------------------------------------

    async def count_event(self, kind: str, tenant: str, data: dict[str, Any], pipe: Batch) -> None:
        """Queue what the event counts on its pipeline (SUP-1, SUP-2, SUP-3)
        and keep an ended interaction's record (SUP-6)."""
        clock = self._clocks.get(tenant)
        if clock is None:
            return
        at = now_ms()
        counting = rules.counting(
            kind, data, at=at, tz=clock.tz, service_level_seconds=clock.service_levels
        )
        ix_id = str(data.get("id") or "")
        if counting is not None:
            self.stats.count_on(pipe, tenant, ix_id, counting, retention_days=clock.retention_days)
        if kind == "interaction.ended" and ix_id:
            ended = rules.parse_iso_ms(data.get("ended_at")) or at
            self.stats.keep_record_on(
                pipe,
                tenant,
                rules.record_of(data),
                ended_at=ended,
                oldest=at - clock.retention_days * 86400 * 1000,
                retention_days=clock.retention_days,
            )
        elif kind == "interaction.wrapped_up" and ix_id:
            reason = data.get("wrap_up_reason")
            if isinstance(reason, str):
                self.stats.update_record_on(pipe, tenant, ix_id, {"wrap_up_reason": reason})

    # Live views (SUP-1, SUP-2, SUP-3) -------------------------------------------------

    async def snapshot(
        self, tenant_id: str, *, team: str | None = None, queue: str | None = None
    ) -> dict[str, Any]:
        """Queues, agents (filtered by team and queue) and limits, now."""
        tenant = self._agents.tenant(tenant_id)
        if team is not None and team not in tenant.teams:
            raise InvalidInput(f"unknown team {team!r}", rule="SUP-2", field="team")
        if queue is not None and queue not in tenant.queues:
            raise InvalidInput(f"unknown queue {queue!r}", rule="SUP-2", field="queue")
        now = now_ms()
        clock = self.clock(tenant_id)
        day = rules.day_of(now, clock.tz)
        queues = sorted(tenant.queues)
        agents = sorted(tenant.agents)
        (
            raw_queues,
            raw_agents,
            raw_calls,
            dc_used,
            tenant_used,
            raw_day,
        ) = await self.stats.live_view(tenant_id, queues, agents, day=day, now=now)
        waiting: dict[str, tuple[int, int | None]] = {}
        for qid, (count, oldest) in zip(queues, raw_queues, strict=True):
            waiting[qid] = (int(count), int(float(oldest)) if oldest else None)
        records: dict[str, AgentRecord] = {}
        calls: dict[str, dict[str, Any]] = {}
        for aid, fields, call in zip(agents, raw_agents, raw_calls, strict=True):
            records[aid] = _agent_record(tenant_id, aid, fields)
            if call and call[0]:  # (an interaction whose record is gone: no call)
                calls[aid] = _call(records[aid], call)
        day_raw = dict(zip(raw_day[::2], raw_day[1::2], strict=True))
        queue_rows = []
        for qid in queues:
            cfg = tenant.queues[qid]
            by_state = dict.fromkeys(STATES, 0)
            members = clock.members[qid]
            for aid in members:
                by_state[records[aid].state.value] += 1
            count, oldest = waiting[qid]
            queue_rows.append(
                {
                    "id": qid,
                    "name": cfg.name,
                    "waiting": count,
                    "oldest_entered_at": iso(oldest) if count else None,
                    "agents": by_state,
                    "agents_total": len(members),
                    "service_level_seconds": cfg.service_level_seconds,
                    "today": rules.queue_day(day_raw, qid).public(),
                }
            )
        agent_rows = []
        for aid in agents:
            cfg_agent = tenant.agents[aid]
            if team is not None and cfg_agent.team != team:
                continue
            agent_queues = clock.agent_queues[aid]
            if queue is not None and queue not in agent_queues:
                continue
            record = records[aid]
            agent_rows.append(
                {
                    "id": aid,
                    "name": cfg_agent.name,
                    "team": cfg_agent.team,
                    "queues": agent_queues,
                    "state": record.state.value,
                    "reason": record.reason,
                    "since": iso(record.since),
                    "extension": record.extension,
                    "ronas_today": rules.ronas(day_raw, aid),
                    "call": calls.get(aid),
                }
            )
        return {
            "tenant": tenant_id,
            "server_time": iso(now),
            "day": day.isoformat(),
            "timezone": tenant.timezone,
            "queues": queue_rows,
            "agents": agent_rows,
            "limits": {
                "datacenter": {
                    "id": self.config.service.datacenter,
                    "used": dc_used,
                    "max": self.config.datacenter.max_concurrent_calls,
                },
                "tenant": {"used": tenant_used, "max": tenant.max_concurrent_calls},
                "refused_today": rules.refusals(day_raw),
            },
        }

    # SUP-6 ------------------------------------------------------------------------------

    def day_range(self, tenant_id: str, day: date | None) -> tuple[date, int, int]:
        clock = self.clock(tenant_id)
        chosen = day or rules.day_of(now_ms(), clock.tz)
        oldest = rules.day_of(now_ms() - clock.retention_days * 86400 * 1000, clock.tz)
        if chosen < oldest or chosen > rules.day_of(now_ms(), clock.tz):
            raise InvalidInput(
                f"records are kept for {clock.retention_days} days: choose a day from "
                f"{oldest.isoformat()} to today",
                rule="SUP-6",
                field="day",
            )
        start, end = rules.day_bounds(chosen, clock.tz)  # (within range: no overflow)
        return chosen, start, end

    async def live_interactions(
        self, tenant_id: str, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """SUP-6: the tenant's interactions going on (queued, ringing, connected...)."""
        store = self._store
        found = await store.interactions(await store.active_interactions())
        out: list[dict[str, Any]] = []
        for ix in found.values():
            if ix.tenant != tenant_id or ix.status is Status.ENDED:
                continue
            data = ix.public()
            record = rules.record_of(data)
            if not rules.matches(record, filters):
                continue
            out.append({**_listed(record, ix.status.value), "held": ix.held})
        out.sort(key=lambda r: str(r["entered_at"] or ""))
        return out

    async def completed_interactions(
        self,
        tenant_id: str,
        day: date | None,
        filters: Mapping[str, str],
        *,
        limit: int,
        cursor: tuple[int, int] | None,
    ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        """SUP-6: completed interactions of the day, newest first, a page."""
        _, start, end = self.day_range(tenant_id, day)
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            rows, cursor = await self.stats.record_page(
                tenant_id, start, end, cursor=cursor, limit=limit, newest_first=True
            )
            out += [_listed(r, "ended") for r in rows if rules.matches(r, filters)]
            if cursor is None:
                break
        return out, cursor

    async def export(
        self, tenant_id: str, day: date | None, filters: Mapping[str, str]
    ) -> AsyncIterator[list[dict[str, str]]]:
        """SUP-6: the day's completed interactions, oldest first, page by page."""
        _, start, end = self.day_range(tenant_id, day)
        async for rows in self.stats.records(tenant_id, start, end):
            chosen = [r for r in rows if rules.matches(r, filters)]
            if chosen:
                yield chosen

    async def chart(self, tenant_id: str, day: date | None, queue: str | None) -> dict[str, Any]:
        """SUP-6: calls per 15 minutes (offered, answered, abandoned) and the
        service level per 15 minutes, for a day."""
        tenant = self._agents.tenant(tenant_id)
        if queue is not None and queue not in tenant.queues:
            raise InvalidInput(f"unknown queue {queue!r}", rule="SUP-6", field="queue")
        chosen, _, _ = self.day_range(tenant_id, day)
        raw = await self.stats.buckets(tenant_id, chosen)
        queues = [queue] if queue else sorted(tenant.queues)
        return {
            "tenant": tenant_id,
            "day": chosen.isoformat(),
            "timezone": tenant.timezone,
            "queues": queues,
            "buckets": rules.chart(raw, queues, chosen, self.clock(tenant_id).tz),
        }


def _listed(record: Mapping[str, str], status: str) -> dict[str, Any]:
    out: dict[str, Any] = {k: (record.get(k) or None) for k in rules.RECORD_FIELDS}
    out["status"] = status
    return out


def _agent_record(tenant: str, agent: str, fields: list[str]) -> AgentRecord:
    state, previous, reason, since, extension, offer, interaction = fields
    return AgentRecord(
        tenant=tenant,
        agent=agent,
        state=AgentState(state or AgentState.LOGGED_OUT.value),
        previous=AgentState(previous) if previous else None,
        reason=reason or None,
        since=int(since) if since else None,
        extension=extension or None,
        offer=offer or None,
        interaction=interaction or None,
    )


def _call(record: AgentRecord, fields: list[str]) -> dict[str, Any]:
    """SUP-2: an agent's current call (queue, direction, since when)."""
    status, queue, direction, kind, entered, connected, held = fields
    return {
        "id": record.interaction or record.offer,
        "status": status or None,
        "queue": queue or None,
        "direction": direction or None,
        "kind": kind or None,
        "entered_at": iso(int(entered)) if entered else None,
        "connected_at": iso(int(connected)) if connected else None,
        "held": held == "True",
    }
