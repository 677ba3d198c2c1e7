"""Wrap-up (END-2, OD-7, TR-6): an agent enters it after a call they
handled or transferred, and leaves it by applying a reason - their own, or
the system's `auto` once the tenant's `auto_wrap_up_seconds` are over (one
durable timer per agent and interaction, so it happens even when the service
restarts meanwhile). The rules are in `controlplane.domain.wrapup`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from controlplane.adapters.store import AgentRecord, Store
from controlplane.core.agents import Agents
from controlplane.core.hooks import Hooks
from controlplane.core.interactions import Interactions
from controlplane.core.routing import Routing
from controlplane.domain import agent as agent_rules
from controlplane.domain import wrapup as rules
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.errors import InvalidTransition, RuleViolation
from controlplane.domain.interaction import Interaction
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer
from controlplane.timers import Timers

log = logging.getLogger(__name__)

# Who may wrap up, checked on the interaction and the agent's record as the
# job reads them (raises the refusal).
Check = Callable[[Interaction, AgentRecord], None]
T = TypeVar("T")
U = TypeVar("U")


async def _both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Two independent reads at once; the first one's error wins."""
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    if isinstance(a, BaseException):
        raise a
    if isinstance(b, BaseException):
        raise b
    return a, b


class WrapUp:
    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        timers: Timers,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        routing: Routing,
        hooks: Hooks,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._timers = timers
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._routing = routing
        self._hooks = hooks
        for kind in (rules.TIMER, *rules.EARLIER_TIMERS):
            timers.on(kind, self._auto)

    async def enter(self, ix: Interaction, agent_id: str, change: Transition | None = None) -> bool:
        """END-2, TR-6: the agent's call ended (or they transferred it): the
        agent is in wrap-up for it, and the tenant's auto wrap-up starts.
        False when the agent's state had changed meanwhile."""
        if change is None:
            change = agent_rules.system_transition(AgentState.CONNECTED, Trigger.CALL_ENDED)
        if not await self._agents.apply(ix.tenant, agent_id, change, interaction=ix.id):
            return False
        seconds = rules.auto_seconds(self._agents.tenant(ix.tenant))
        if seconds is not None:
            await self._timers.schedule_in(rules.TIMER, rules.timer_key(ix.id, agent_id), seconds)
        return True

    async def apply(
        self,
        tenant_id: str,
        agent_id: str,
        ix_id: str,
        reason: str,
        *,
        by_system: bool = False,
        check: Check | None = None,
    ) -> AgentRecord:
        """END-2: the agent applies one of the tenant's wrap-up reasons (or the
        system its reserved one: auto wrap-up). `check` (who may act) sees the
        interaction and the agent as the job reads them, before the rules.

        The answer waits for the interaction and the agent, read together;
        the interaction saved; the agent's change; then the history, the
        event and the agent as it is now, together. The routing step that
        may offer the agent the next call runs after the answer."""
        tenant = self._agents.tenant(tenant_id)

        async def job() -> AgentRecord:
            ix, current = await _both(
                self._interactions.get(tenant_id, ix_id), self._agents.agent(tenant_id, agent_id)
            )
            if check is not None:
                check(ix, current)
            if not by_system:
                rules.require_reason(reason, tenant.wrap_up_reasons)
            for before in self._hooks.before_wrap_up:  # CO-5
                before(ix, agent_id)
            # TR-6: the agent's own part in the call counts, not who has it now
            # (an agent who transferred it wraps up while it goes on)
            if current.interaction != ix.id:
                raise RuleViolation("this interaction is not in the agent's wrap-up", rule="END-2")
            change = None
            for decide in self._hooks.after_wrap_up:  # OD-7
                change = await decide(ix, agent_id, current.state)
                if change is not None:
                    break
            if change is None:
                change = rules.finish(current.state, tenant.after_wrap_up.value)
            if ix.agent == agent_id:
                ix.wrap_up_reason = reason
            ix.wrap_ups[agent_id] = reason
            await self._store.save_interaction(ix)
            if not await self._agents.apply(
                tenant_id, agent_id, change, fields={"interaction": ""}, interaction=ix.id
            ):
                raise InvalidTransition("the agent's state changed meanwhile", rule="END-2")
            _, _, record = await asyncio.gather(
                self._store.add_history(tenant_id, agent_id, ix.id),
                self._notifier.publish(
                    "interaction.wrapped_up", tenant_id, ix.public(), agent=agent_id
                ),
                self._store.agent(tenant_id, agent_id),
            )
            return record

        record: AgentRecord = await self._serial.run(ix_id, job)
        if record.state is AgentState.AVAILABLE:
            self._serial.submit(f"dispatch:{tenant_id}", partial(self._routing.dispatch, tenant_id))
        return record

    async def _auto(self, key: str) -> None:
        """END-2: the agent chose no wrap-up reason in time: the system applies
        the reserved reason `auto`; the agent goes on as after any wrap-up."""
        ix_id, agent_id = rules.timer_target(key)
        ix = await self._store.interaction(ix_id)
        if ix is None:
            return
        agent_id = agent_id or ix.agent
        if agent_id is None or not rules.still_open(ix, agent_id):
            return
        try:
            await self.apply(ix.tenant, agent_id, ix.id, rules.AUTO_REASON, by_system=True)
        except RuleViolation as exc:
            log.debug("no auto wrap-up of %s for %s: %s", ix_id, agent_id, exc.message)
            return
        log.info("interaction %s: auto wrap-up for %s", ix.id, agent_id)
