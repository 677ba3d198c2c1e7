"""Operators' dashboards over AMI (OPS-1): queue statistics and limit usage
as AMI `UserEvent`s, so that an AMI dashboard shows them without talking to
the control plane. (Agent state changes go out as `CPAgentState` from the
notifier, once per change, from the replica that made it.)

- `CPQueueStats`, one per queue: calls waiting, the longest wait, and the
  agents of the queue's teams by state.
- `CPLimitUsage`, one for the datacenter and one per tenant: concurrent-call
  slots used and the limit (LIM-1).

Figures come from Redis, so they are the datacenter's, not one replica's.
Only the replica that owns the Stasis event stream publishes them (the same
Redis lease), so several replicas do not repeat each other. Each event is
sent within `CHECK_SECONDS` of a change of its figures (the longest wait
alone does not count as a change), and all of them every `FULL_SECONDS`.
Events carry IDs and counts only: never a call variable or a number.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from controlplane.adapters.ami import AmiClient, AmiError
from controlplane.adapters.store import Store
from controlplane.config import Config
from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import now_ms

log = logging.getLogger(__name__)

QUEUE_STATS = "CPQueueStats"
LIMIT_USAGE = "CPLimitUsage"
CHECK_SECONDS = 1.0
FULL_SECONDS = 5.0

# Field name per agent state in CPQueueStats.
STATE_FIELDS: dict[AgentState, str] = {
    AgentState.LOGGED_OUT: "LoggedOut",
    AgentState.IDLE: "Idle",
    AgentState.AVAILABLE: "Available",
    AgentState.RESERVED: "Reserved",
    AgentState.CONNECTED: "Connected",
    AgentState.WRAP_UP: "WrapUp",
    AgentState.RONA: "Rona",
}
# Fields that change with time alone: no reason to send an event early.
_CLOCK_FIELDS = frozenset({"LongestWaitSeconds"})

UserEvent = tuple[str, dict[str, str]]


@dataclass(frozen=True)
class Figures:
    """What one read of Redis found."""

    now: int
    waiting: dict[tuple[str, str], tuple[int, int | None]]  # (tenant, queue): count, oldest
    agents: dict[tuple[str, str], AgentState]  # (tenant, agent): state
    dc_used: int
    tenant_used: dict[str, int] = field(default_factory=dict)


def queue_stats(config: Config, figures: Figures) -> list[UserEvent]:
    out: list[UserEvent] = []
    for tid, tenant in sorted(config.local_tenants().items()):
        for qid, queue in sorted(tenant.queues.items()):
            count, oldest = figures.waiting.get((tid, qid), (0, None))
            wait = max(0, (figures.now - oldest) // 1000) if count and oldest is not None else 0
            members = [a for a, cfg in tenant.agents.items() if cfg.team in queue.teams]
            by_state = dict.fromkeys(STATE_FIELDS.values(), 0)
            for agent in members:
                state = figures.agents.get((tid, agent), AgentState.LOGGED_OUT)
                by_state[STATE_FIELDS[state]] += 1
            fields = {
                "Datacenter": config.service.datacenter,
                "Tenant": tid,
                "Queue": qid,
                "QueueName": queue.name,
                "Waiting": str(count),
                "LongestWaitSeconds": str(wait),
                "Agents": str(len(members)),
            }
            fields.update({k: str(v) for k, v in by_state.items()})
            out.append((QUEUE_STATS, fields))
    return out


def limit_usage(config: Config, figures: Figures) -> list[UserEvent]:
    dc = config.service.datacenter
    out: list[UserEvent] = [
        (
            LIMIT_USAGE,
            {
                "Datacenter": dc,
                "Scope": "datacenter",
                "Used": str(figures.dc_used),
                "Max": str(config.datacenter.max_concurrent_calls),
            },
        )
    ]
    for tid, tenant in sorted(config.local_tenants().items()):
        out.append(
            (
                LIMIT_USAGE,
                {
                    "Datacenter": dc,
                    "Scope": "tenant",
                    "Tenant": tid,
                    "Used": str(figures.tenant_used.get(tid, 0)),
                    "Max": str(tenant.max_concurrent_calls),
                },
            )
        )
    return out


def _identity(event: UserEvent) -> tuple[str, ...]:
    name, fields = event
    return (name, fields.get("Scope", ""), fields.get("Tenant", ""), fields.get("Queue", ""))


def _comparable(fields: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k not in _CLOCK_FIELDS}


class ChangeFilter:
    """Which events to send now: those whose figures changed since they were
    last sent, and all of them once `full_seconds` have passed."""

    def __init__(self, full_seconds: float = FULL_SECONDS) -> None:
        self._full = full_seconds
        self._sent: dict[tuple[str, ...], dict[str, str]] = {}
        self._last_full: float | None = None

    def reset(self) -> None:
        self._sent.clear()
        self._last_full = None

    def select(self, events: list[UserEvent], clock: float) -> list[UserEvent]:
        if self._last_full is None or clock - self._last_full >= self._full:
            self._last_full = clock
            return list(events)
        return [e for e in events if self._sent.get(_identity(e)) != _comparable(e[1])]

    def sent(self, event: UserEvent) -> None:
        self._sent[_identity(event)] = _comparable(event[1])


class OpsEvents:
    def __init__(
        self,
        config: Config,
        store: Store,
        ami: AmiClient,
        is_owner: Callable[[], Awaitable[bool]],
        *,
        check_seconds: float = CHECK_SECONDS,
        full_seconds: float = FULL_SECONDS,
    ) -> None:
        self._config = config
        self._store = store
        self._ami = ami
        self._is_owner = is_owner
        self._check = check_seconds
        self._filter = ChangeFilter(full_seconds)

    async def read(self) -> Figures:
        store, now = self._store, now_ms()
        tenants = self._config.local_tenants()
        queues = [(t, q) for t, cfg in sorted(tenants.items()) for q in sorted(cfg.queues)]
        agents = [(t, a) for t, cfg in sorted(tenants.items()) for a in sorted(cfg.agents)]
        names = sorted(tenants)
        counts, raw_states, dc_used, used = await store.queue_and_limit_figures(
            queues, agents, names, now
        )
        waiting = dict(zip(queues, counts, strict=True))
        states = {
            key: AgentState(raw) if raw else AgentState.LOGGED_OUT
            for key, raw in zip(agents, raw_states, strict=True)
        }
        tenant_used = dict(zip(names, used, strict=True))
        return Figures(now, waiting, states, dc_used, tenant_used)

    def events(self, figures: Figures) -> list[UserEvent]:
        return queue_stats(self._config, figures) + limit_usage(self._config, figures)

    async def tick(self) -> list[UserEvent]:
        """One round: the events sent."""
        if not self._ami.logged_in or not await self._is_owner():
            self._filter.reset()
            return []
        due = self._filter.select(self.events(await self.read()), time.monotonic())
        sent: list[UserEvent] = []
        for event in due:
            try:
                await self._ami.user_event(*event)
            except AmiError as exc:
                log.warning("AMI UserEvent %s not sent: %s", event[0], exc)
                continue
            self._filter.sent(event)
            sent.append(event)
        return sent

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("queue statistics and limit usage not published: %s", exc)
            await asyncio.sleep(self._check)
