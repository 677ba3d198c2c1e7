"""Agents and their states (ST-1..ST-4): the tenant's configuration, the
agent's record, and every state change, checked and applied atomically."""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from typing import Any

from controlplane.adapters.store import AgentRecord, Store
from controlplane.browser_phone import browser_phone_for
from controlplane.config import Agent as AgentConfig
from controlplane.config import Config, Tenant
from controlplane.core.hooks import Hooks
from controlplane.domain import agent as agent_rules
from controlplane.domain.agent import AgentState, Transition
from controlplane.domain.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation
from controlplane.domain.interaction import now_ms
from controlplane.notifier import Notifier, agent_key, interaction_key
from controlplane.tasks import TaskGroup

log = logging.getLogger(__name__)


class Agents:
    def __init__(
        self, config: Config, *, store: Store, notifier: Notifier, hooks: Hooks, tasks: TaskGroup
    ) -> None:
        self.config = config
        self._store = store
        self._notifier = notifier
        self._hooks = hooks
        self._tasks = tasks

    def tenant(self, tenant_id: str) -> Tenant:
        try:
            return self.config.tenants[tenant_id]
        except KeyError:
            raise NotFound(f"unknown tenant {tenant_id!r}") from None

    def agent_config(self, tenant_id: str, agent_id: str) -> AgentConfig:
        cfg = self.tenant(tenant_id).agents.get(agent_id)
        if cfg is None:
            raise NotFound(f"unknown agent {agent_id!r}", agent=agent_id)
        return cfg

    async def agent(self, tenant_id: str, agent_id: str) -> AgentRecord:
        self.agent_config(tenant_id, agent_id)
        return await self._store.agent(tenant_id, agent_id)

    async def apply(
        self,
        tenant_id: str,
        agent_id: str,
        change: Transition,
        *,
        offer: str | None = None,
        keep_available_since: bool = False,
        fields: dict[str, str] | None = None,
        event_beside: bool = False,
        **event_extra: Any,
    ) -> bool:
        """Apply a checked transition atomically; publish it if it took effect
        (`event_beside`: beside the caller's next steps, before the agent's
        and the interaction's later events)."""
        team = self.agent_config(tenant_id, agent_id).team
        at = now_ms()
        applied, _, seq = await self._store.transition_agent(
            tenant_id,
            agent_id,
            team,
            expected=(change.previous,),
            new=change.state,
            reason=change.reason,
            now=at,
            offer=offer,
            keep_available_since=keep_available_since,
            fields=fields,
        )
        if applied:
            log.info(
                "agent %s/%s: %s -> %s (%s)",
                tenant_id,
                agent_id,
                change.previous.value,
                change.state.value,
                change.reason,
            )
            publish = partial(
                self._notifier.agent_state, tenant_id, agent_id, change, at, seq, **event_extra
            )
            if event_beside:
                keys = [agent_key(tenant_id, agent_id)]
                ix_id = event_extra.get("interaction")
                if isinstance(ix_id, str) and ix_id:
                    keys.append(interaction_key(ix_id))
                self._tasks.spawn(
                    f"agent-state:{tenant_id}:{agent_id}:{seq}",
                    self._notifier.deferred(keys, publish),
                )
            else:
                await publish()
        return applied

    async def login(self, tenant_id: str, agent_id: str, extension: str) -> AgentRecord:
        cfg = self.agent_config(tenant_id, agent_id)
        allowed = {cfg.extension}
        with contextlib.suppress(RuleViolation):  # (PH-1: the agent has no browser phone)
            allowed.add(browser_phone_for(self.config, tenant_id, agent_id)[0])
        if extension not in allowed:
            raise InvalidInput(
                f"extension {extension!r} is not the extension of agent {agent_id!r}",
                rule="ST-1",
                field="extension",
            )
        current = await self._store.agent(tenant_id, agent_id)
        change = agent_rules.login(current.state)
        if not await self.apply(tenant_id, agent_id, change, fields={"extension": extension}):
            raise InvalidTransition("the agent's state changed meanwhile; try again", rule="ST-1")
        return await self._store.agent(tenant_id, agent_id)

    async def change_state(
        self, tenant_id: str, agent_id: str, wanted: AgentState, reason: str | None
    ) -> AgentRecord:
        tenant = self.tenant(tenant_id)
        current = await self.agent(tenant_id, agent_id)
        change = agent_rules.change_by_agent(current.state, wanted, reason, tenant.idle_reasons)
        fields = {"extension": ""} if change.state is AgentState.LOGGED_OUT else None
        if not await self.apply(tenant_id, agent_id, change, fields=fields):
            raise InvalidTransition("the agent's state changed meanwhile; try again", rule="ST-1")
        if change.state is AgentState.AVAILABLE:
            for available in self._hooks.agent_available:
                await available(tenant_id)
        return await self._store.agent(tenant_id, agent_id)
