"""Calling the parties of an interaction beyond its first two legs, in one
place for every feature that does it.

- `ring_party`: a consulted or transfer-target party: an agent's phone or a
  number through the node's outbound endpoint (TR-2, TR-5, CO-1).
- `dial_customer`: the customer of a callback or an outdial, once the agent
  answered; the agent hears ringback meanwhile (CB-2, OD-4).
- `party_answered`: a consulted party or transfer target answered.

(`Calls.customer_answered` bridges a dialled customer with the agent.)

Numbers reach these only after the dial-number rules (DN-1..4) passed them.
"""

from __future__ import annotations

import logging

from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.adapters.store import Store
from controlplane.config import AsteriskNode
from controlplane.core.agents import Agents
from controlplane.core.interactions import Interactions
from controlplane.domain import interaction as ix_rules
from controlplane.domain import legs as leg_rules
from controlplane.domain.interaction import (
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
)
from controlplane.domain.legs import LegKind
from controlplane.notifier import Notifier

log = logging.getLogger(__name__)

DIALING_EVENT = "interaction.dialing"
# Legs whose Dial status tells why they were not answered: a callback's or
# an outdial's customer, a consulted party, a transfer target.
_DIAL_STATUS_ROLES = frozenset(
    {LegKind.CALLBACK, LegKind.OUTDIAL, LegKind.CONSULT, LegKind.TRANSFER}
)


class LegDialer:
    def __init__(
        self,
        *,
        node: AsteriskNode,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        agents: Agents,
        interactions: Interactions,
    ) -> None:
        self._node = node
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._agents = agents
        self._interactions = interactions
        self._dial_status: dict[str, str] = {}

    def on_dial(self, event: Event) -> None:
        """A Dial event (in Asterisk's order): keep the last status of the
        legs whose failure is told by it."""
        peer = event.get("peer") or {}
        leg, status = str(peer.get("id") or ""), event.get("dialstatus")
        if status and leg_rules.leg_kind(leg) in _DIAL_STATUS_ROLES:
            self._dial_status[leg] = str(status)

    def dial_status(self, channel_id: str) -> str | None:
        """The leg's last Dial status, forgotten as it is read (the leg was
        answered or is gone)."""
        return self._dial_status.pop(channel_id, None)

    async def hang_up(self, channel_id: str | None) -> None:
        """Hang up a leg; one that is gone already is no error."""
        if not channel_id:
            return
        try:
            await self._ari.hangup(channel_id)
        except AriError as exc:
            log.warning("hang-up of %s failed: %s", channel_id, exc)

    async def party_answered(
        self, ix_id: str, channel_id: str, *, role: LegRole, status: Status
    ) -> tuple[Interaction, Leg] | None:
        """A consulted party or a transfer target answered. The interaction and
        the leg while the leg still rings and the interaction is in `status`;
        the leg's agent (if any) is `connected` then. Else the leg is hung up
        and None returned."""
        self.dial_status(channel_id)  # (answered: its dial status is done)
        ix = await self._store.interaction(ix_id)
        leg = leg_rules.leg_of(ix, channel_id) if ix is not None else None
        if (
            ix is None
            or ix.status is not status
            or leg is None
            or leg.role is not role
            or leg.state is not LegState.RINGING
        ):
            log.info("%s leg %s answered after it stopped standing", role.value, channel_id)
            await self.hang_up(channel_id)
            return None
        if leg.agent is not None and not await self._agents.apply(
            ix.tenant,
            leg.agent,
            leg_rules.answered(),
            offer=leg.channel,
            fields={"offer": "", "interaction": ix.id},
            interaction=ix.id,
        ):
            log.warning("interaction %s: %s agent %s changed state", ix.id, role.value, leg.agent)
            await self.hang_up(channel_id)
            return None
        return ix, leg

    async def agent_endpoint(
        self, tenant_id: str, agent_id: str, extension: str | None = None
    ) -> str:
        """The agent's phone: the extension they logged in with (read unless
        given), else their own."""
        if extension is None:
            extension = (await self._store.agent(tenant_id, agent_id)).extension
        extension = extension or self._agents.tenant(tenant_id).agents[agent_id].extension
        return self._node.agent_endpoint.format(extension=extension)

    def number_endpoint(self, number: str) -> str:
        return self._node.outbound_endpoint.format(number=number)

    async def ring_party(
        self, ix: Interaction, leg: Leg, *, purpose: str, caller: str, ring_seconds: int
    ) -> None:
        """Call the leg's agent or number on the leg's channel; AriError when
        Asterisk does not place the call."""
        self._interactions.track(leg.channel, ix.id)
        await self._store.index_channel(leg.channel, ix.id)
        if leg.agent is not None:
            endpoint = await self.agent_endpoint(ix.tenant, leg.agent)
        else:
            endpoint = self.number_endpoint(leg.number or "")
        await self._ari.originate(
            endpoint,
            channel_id=leg.channel,
            app_args=f"{purpose},{ix.id}",
            caller_id=caller,
            timeout=ring_seconds,
            variables={"CP_INTERACTION": ix.id},
        )

    async def dial_customer(
        self,
        ix: Interaction,
        agent_channel: str,
        *,
        number: str,
        leg: str,
        purpose: str,
        caller: str,
        ring_seconds: int,
    ) -> None:
        """The agent answered: the interaction is `dialing` on a new customer
        leg, the agent hears ringback, the customer's phone rings. AriError
        when Asterisk does not place the call."""
        ix_rules.change_status(ix, Status.DIALING)
        ix.customer_channel = leg
        await self._store.save_interaction(ix, new_channel=leg)
        self._interactions.track(leg, ix.id)
        await self._notifier.publish(DIALING_EVENT, ix.tenant, ix.public(), agent=ix.agent)
        try:
            await self._ari.ring(agent_channel)  # ringback on the answered phone
        except AriError as exc:
            log.info("no ringback for %s: %s", agent_channel, exc)
        await self._ari.originate(
            self.number_endpoint(number),
            channel_id=leg,
            app_args=f"{purpose},{ix.id}",
            caller_id=caller,
            timeout=ring_seconds,
            variables={"CP_INTERACTION": ix.id},
        )
