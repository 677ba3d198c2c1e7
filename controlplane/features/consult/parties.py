"""The parties of a consult: moving agent 1 between the interaction's
bridge and the consult's own, the consulted agent's state changes, and what
each party's desktop is told (CO-2, CO-3, CF-2)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.core.agents import Agents
from controlplane.domain import bridges as bridge_rules
from controlplane.domain import consult as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import Interaction, Leg, LegState, iso
from controlplane.features.variables.service import CallVariables
from controlplane.notifier import Notifier

log = logging.getLogger(__name__)

CONFERENCE_EVENT = "interaction.conference_started"  # both (private): CF-2 variables


class Parties:
    def __init__(
        self,
        *,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        agents: Agents,
        variables: CallVariables,
    ) -> None:
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._agents = agents
        self._variables = variables

    async def offer_payload(self, ix: Interaction, leg: Leg) -> dict[str, object]:
        """CO-2: the consulted agent's desktop shows the consult with at most
        nine variables: the consulting agent's name, directory number and
        team, and at most six the flow configures."""
        tenant = self._agents.tenant(ix.tenant)
        by = tenant.agents.get(leg.by or "")
        record = await self._store.agent(ix.tenant, leg.by or "") if by else None
        team = tenant.teams.get(by.team) if by else None
        shown = await self._variables.shown(ix, reveal_secure=True)
        variables = rules.consult_variables(
            by.name if by else "",
            (record.extension if record and record.extension else "")
            or (by.extension if by else ""),
            team.name if team else (by.team if by else ""),
            shown,
            self._variables.flow(ix).consult_variables,
        )
        payload: dict[str, object] = {
            "interaction_id": ix.id,
            "kind": "consult",
            "label": f"Consult: {by.name}" if by else "Consult",
            "direction": ix.direction.value,
            "ani": ix.ani,
            "dnis": ix.dnis,
            "queue": leg.queue or ix.queue,
            "queue_name": tenant.queues[leg.queue].name if leg.queue else ix.queue_name,
            "status": LegState.RINGING.value,
            "entered_at": iso(ix.entered_at),
            "from_agent": leg.by,
            "consult": leg.public(),
            "variables": variables,
        }
        return payload

    def describe(
        self, ix: Interaction, leg: Leg | None, viewer: str | None = None
    ) -> dict[str, Any]:
        role = rules.role_of(ix, leg, viewer)
        return {
            "interaction_id": ix.id,
            "status": ix.status.value,
            "agent": ix.agent,
            "role": role.value if role else None,
            "customer": {"ani": ix.ani, "state": rules.customer_state(ix, leg)},
            "consult": leg.public() if leg is not None else None,
        }

    async def conference_started(self, ix: Interaction, leg: Leg) -> None:
        """CF-2: the consult's variables plus the consulted agent's name and
        directory number, to both agents (private: the call's values)."""
        tenant = self._agents.tenant(ix.tenant)
        by = tenant.agents.get(leg.by or "")
        record = await self._store.agent(ix.tenant, leg.by) if leg.by else None
        shown = await self._variables.shown(ix, reveal_secure=True)
        consult = rules.consult_variables(
            by.name if by else "",
            (record.extension if record else None) or (by.extension if by else ""),
            (tenant.teams[by.team].name if by and by.team in tenant.teams else ""),
            shown,
            self._variables.flow(ix).consult_variables,
        )
        consulted = tenant.agents.get(leg.agent or "")
        if consulted is not None and leg.agent is not None:
            rec2 = await self._store.agent(ix.tenant, leg.agent)
            name, dn = consulted.name, rec2.extension or consulted.extension
        else:
            name, dn = leg.number or "", leg.number or ""
        variables = rules.conference_variables(consult, name, dn)
        data = {**self.describe(ix, leg), "variables": variables}
        for agent in {a for a in (ix.agent, leg.agent) if a}:
            await self._notifier.publish(
                CONFERENCE_EVENT, ix.tenant, data, agent=agent, private=True
            )

    async def join_consult(self, ix: Interaction, leg: Leg) -> None:
        """Agent 1 leaves the interaction's bridge for the consult's own."""
        bridge = rules.consult_bridge_id(leg)
        await self._ari.create_bridge(
            bridge, name=f"consult-{ix.id}", kind=bridge_rules.SHARED_TYPE
        )
        if ix.agent_channel:
            await self._ari.remove_from_bridge(ix.bridge or ix.id, [ix.agent_channel])
        await self._ari.add_to_bridge(bridge, [c for c in (ix.agent_channel, leg.channel) if c])
        leg.state = LegState.CONSULTING

    async def leave_consult_bridge(self, ix: Interaction, leg: Leg) -> None:
        """Both agents leave the consult's bridge, which goes away."""
        bridge = rules.consult_bridge_id(leg)
        with contextlib.suppress(AriError):
            await self._ari.remove_from_bridge(
                bridge, [c for c in (ix.agent_channel, leg.channel) if c]
            )
        await self._ari.destroy_bridge(bridge)

    async def agent_to_main(self, ix: Interaction) -> None:
        if ix.agent_channel:
            await self._ari.add_to_bridge(ix.bridge or ix.id, [ix.agent_channel])

    async def agent(
        self, ix: Interaction, agent: str, change: Any, leg: Leg, *, offer: bool = False
    ) -> bool:
        """Apply a consulted (or offered) agent's state change, checked against
        the state it was decided on (and the offer, while it rings)."""
        fields = {"offer": ""} if offer else {"interaction": ""}
        applied = await self._agents.apply(
            ix.tenant,
            agent,
            change,
            offer=leg.channel if offer else None,
            keep_available_since=True,
            fields=fields,
            interaction=ix.id,
        )
        return applied and change.state is AgentState.AVAILABLE

    async def post_dial(self, leg: Leg) -> None:
        """DN-1: the digits after ':' go to the number once it answered."""
        if leg.post_dial:
            try:
                await self._ari.request(
                    "POST", f"/channels/{leg.channel}/dtmf", params={"dtmf": leg.post_dial}
                )
            except AriError as exc:
                log.warning("post-dial digits on %s not sent: %s", leg.channel, exc)

    async def tell(self, ix: Interaction, leg: Leg, kind: str, **extra: object) -> None:
        """An event for agent 1 (and the tenant's supervisors) and a private
        copy for agent 2."""
        data = {**self.describe(ix, leg), **{k: v for k, v in extra.items() if v is not None}}
        agent1 = leg.by or ix.agent
        await self._notifier.publish(kind, ix.tenant, data, agent=agent1)
        if leg.agent is not None and leg.agent != agent1:
            await self._notifier.publish(kind, ix.tenant, data, agent=leg.agent, private=True)

    async def publish_ix(self, kind: str, ix: Interaction) -> None:
        await self._notifier.publish(kind, ix.tenant, ix.public(), agent=ix.agent)
