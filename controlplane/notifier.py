"""The one place that publishes events.

Desktop events go to Redis (pub/sub), from where every replica fans them out
to its WebSocket clients; agent state changes also go to AMI as UserEvents
for operators' dashboards.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from controlplane.adapters.ami import AmiClient, AmiError
from controlplane.adapters.store import Batch, Store
from controlplane.audit import AuditLog
from controlplane.domain.agent import Transition
from controlplane.domain.interaction import iso, now_ms
from controlplane.tasks import KeyedSerializer

log = logging.getLogger(__name__)

# Called for every event with its pipeline: queues what the event counts
# (the supervisor's figures, SUP-1..SUP-3) in the same round trip.
EventHook = Callable[[str, str, dict[str, Any], Batch], Awaitable[None]]

# The deferred publish running in this task (it does not wait for itself).
_running: contextvars.ContextVar[asyncio.Future[None] | None] = contextvars.ContextVar(
    "deferred_publish", default=None
)


def interaction_key(ix_id: str) -> str:
    return f"ix:{ix_id}"


def agent_key(tenant: str, agent: str) -> str:
    return f"agent:{tenant}/{agent}"


class Notifier:
    def __init__(self, store: Store, ami: AmiClient | None) -> None:
        self._store = store
        self._ami = ami
        self.audit = AuditLog(store)  # every change also goes to the audit trail
        self.hooks: list[EventHook] = []
        # per interaction / agent: the last deferred publish not finished yet
        self._pending: dict[str, asyncio.Future[None]] = {}

    def deferred(
        self, keys: Iterable[str], publish: Callable[[], Awaitable[None]]
    ) -> Coroutine[Any, Any, None]:
        """A publish taken off the caller's path, to run as a task: it follows
        the earlier deferred publishes of the same interactions and agents
        (`keys`), and every later publish of them waits until it is out, so
        that their events keep the order in which they were decided. A
        failure is logged, as the caller's own would be."""
        keys = tuple(keys)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before = {self._pending[k] for k in keys if k in self._pending}
        for key in keys:
            self._pending[key] = done

        async def run() -> None:
            _running.set(done)
            try:
                for earlier in before:
                    await asyncio.shield(earlier)
                await publish()
            except Exception:
                log.exception("event not published")
            finally:
                done.set_result(None)
                for key in keys:
                    if self._pending.get(key) is done:
                        del self._pending[key]

        return run()

    def after_answer(
        self,
        serial: KeyedSerializer,
        ix_id: str,
        keys: list[str],
        publish: Callable[[], Awaitable[None]],
    ) -> None:
        """An action's event leaves the answer's path but keeps its order: it
        follows the earlier deferred events of the same interaction and agents
        (`keys`), and their later events wait for it; it is published for the
        action's caller (the audit trail names them) and a failure is logged."""
        out = self.deferred(keys, publish)
        caller = contextvars.copy_context()
        serial.submit(
            f"event:{ix_id}", lambda: asyncio.get_running_loop().create_task(out, context=caller)
        )

    async def _after_deferred(self, tenant: str, agent: str | None, data: dict[str, Any]) -> None:
        """Wait for the deferred publishes this event must follow (a deferred
        publish itself waited for its own before it started)."""
        if not self._pending or _running.get() is not None:
            return
        keys = [interaction_key(str(data.get(f))) for f in ("id", "interaction_id", "interaction")]
        if agent is not None:
            keys.append(agent_key(tenant, agent))
        for key in keys:
            earlier = self._pending.get(key)
            if earlier is not None:
                await asyncio.shield(earlier)

    async def publish(
        self,
        kind: str,
        tenant: str,
        data: dict[str, Any],
        *,
        agent: str | None = None,
        private: bool = False,
        audit: Callable[[Batch], Awaitable[None]] | None = None,
    ) -> None:
        """An event for the agent named (if any) and the tenant's supervisors;
        a private event (one that may carry secure values) only for that agent."""
        event: dict[str, Any] = {
            "type": kind,
            "tenant": tenant,
            "agent": agent,
            "at": iso(now_ms()),
            "data": data,
        }
        if private:
            event["private"] = True
        await self._after_deferred(tenant, agent, data)
        # The event and its audit record in one round trip.
        async with self._store.batch() as pipe:
            self._store.publish_on(pipe, event)
            if audit is None:
                await self.audit.event(kind, tenant, agent, data, pipe=pipe)
            else:
                await audit(pipe)
            hooked = len(pipe)
            await self._run_hooks(kind, tenant, data, pipe)
            results = await pipe.execute(raise_on_error=False)
        published, audited = results[0], results[1]
        if isinstance(published, Exception):
            raise published
        if isinstance(audited, Exception):
            log.warning("audit record of %s for %s not written: %s", kind, tenant, audited)
        for result in results[hooked:]:
            if isinstance(result, Exception):
                log.warning("figures of %s for %s not counted: %s", kind, tenant, result)

    async def _run_hooks(self, kind: str, tenant: str, data: dict[str, Any], pipe: Batch) -> None:
        for hook in self.hooks:
            try:
                await hook(kind, tenant, data, pipe)
            except Exception as exc:  # a hook never fails the event
                log.warning("event hook for %s failed: %s", kind, exc)

    async def count_only(self, kind: str, tenant: str, data: dict[str, Any]) -> None:
        """Count what an event would count, for something that is not published
        as an event (an outdial refused by a limit: its agent gets the error)."""
        async with self._store.batch() as pipe:
            await self._run_hooks(kind, tenant, data, pipe)
            if len(pipe):
                for result in await pipe.execute(raise_on_error=False):
                    if isinstance(result, Exception):
                        log.warning("figures of %s for %s not counted: %s", kind, tenant, result)

    async def agent_state(
        self, tenant: str, agent: str, change: Transition, at: int, seq: int, **extra: Any
    ) -> None:
        """ST-1: every change carries previous state, new state, reason and time;
        `seq` numbers an agent's changes, so a client can order events that
        reached it out of order (they may come from different replicas)."""
        data = {
            "agent": agent,
            "seq": seq,
            "previous": change.previous.value,
            "state": change.state.value,
            "reason": change.reason,
            "timestamp": iso(at),
            **extra,
        }
        await self.publish(
            "agent.state",
            tenant,
            data,
            agent=agent,
            audit=lambda pipe: self.audit.agent_state(tenant, agent, change, at, seq, pipe=pipe),
        )
        if self._ami is not None and self._ami.logged_in:
            try:
                await self._ami.user_event(
                    "CPAgentState",
                    {
                        "Tenant": tenant,
                        "Agent": agent,
                        "Previous": change.previous.value,
                        "State": change.state.value,
                        "Reason": change.reason or "",
                        # (not "Timestamp": AMI adds its own header of that name)
                        "ChangedAt": iso(at) or "",
                        "Seq": str(seq),
                    },
                )
            except AmiError as exc:
                log.warning("AMI UserEvent not sent: %s", exc)
