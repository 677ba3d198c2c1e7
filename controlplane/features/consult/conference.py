"""What a consult becomes: a conference of all three in the interaction's
bridge (CF-1, CF-2), which agent 1 ends for everyone (CF-6) or agent 2
leaves (CF-5); or the call handed over to the consulted party while agent 1
leaves (CO-4, CF-4). The consult's own life is in `service.py`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.core.calls import Calls
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.domain import consult as rules
from controlplane.domain import legs as leg_rules
from controlplane.domain.consult import Action, Role
from controlplane.domain.errors import InvalidTransition, Unavailable
from controlplane.domain.interaction import EndCause, Interaction, Leg, LegRole, LegState
from controlplane.features.consult.parties import Parties
from controlplane.features.media.service import MediaService
from controlplane.features.transfers.service import TransferService
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSFERRED_EVENT = "interaction.transferred"


class ConsultOver(Protocol):
    """The consult ends while the call goes on (agent 2 out, agent 1 back
    with the customer)."""

    async def __call__(
        self, ix: Interaction, leg: Leg, reason: str, *, by: str | None = None
    ) -> None: ...


class Conference:
    def __init__(
        self,
        *,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        serial: KeyedSerializer,
        interactions: Interactions,
        legs: LegDialer,
        calls: Calls,
        media: MediaService,
        transfers: TransferService,
        parties: Parties,
        consult_over: ConsultOver,
    ) -> None:
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._serial = serial
        self._interactions = interactions
        self._legs = legs
        self._calls = calls
        self._media = media
        self._transfers = transfers
        self._parties = parties
        self._consult_over = consult_over

    async def start(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CF-1: the customer is taken off hold and all three are in the
        interaction's bridge; CF-2: both agents get the conference's variables."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            rules.require(ix, leg, agent_id, Action.CONFERENCE)
            assert leg is not None
            try:
                if leg.state is LegState.CONSULTING:
                    await self._parties.leave_consult_bridge(ix, leg)
                    await self._media.resume_customer(ix)
                    await self._ari.add_to_bridge(
                        ix.bridge or ix.id, [c for c in (ix.agent_channel, leg.channel) if c]
                    )
                else:  # consult_held: agent 1 is with the customer already
                    await self._ari.stop_moh(leg.channel)
                    await self._ari.add_to_bridge(ix.bridge or ix.id, [leg.channel])
            except AriError as exc:
                raise Unavailable("the conference cannot be started", rule="CF-1") from exc
            leg.state = LegState.CONFERENCE
            ix.held = False
            await self._store.save_interaction(ix)
            log.info("interaction %s: conference with %s", ix.id, leg.agent or leg.number)
            await self._parties.conference_started(ix, leg)
            return ix

        return await self._run(ix_id, job)

    async def end(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CF-6: agent 1 ends the conference for everyone (agent 1 to
        wrap-up, agent 2 out without); CF-5: agent 2 leaves it and the call
        goes on between agent 1 and the customer."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            if leg is None or leg.state is not LegState.CONFERENCE:
                raise InvalidTransition("there is no conference on this call", rule="CF-1")
            role = rules.role_of(ix, leg, agent_id)
            if role is Role.CONSULTING:
                rules.require(ix, leg, agent_id, Action.END_CALL)
                await self._calls.finish(ix, EndCause.AGENT_END)
                return ix
            rules.require(ix, leg, agent_id, Action.LEAVE)
            await self._consult_over(ix, leg, "left", by=agent_id)
            return ix

        return await self._run(ix_id, job)

    async def hand_over(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CO-4, CF-4: agent 1 leaves (wrap-up, TR-6); the customer and the
        consulted party go on in the interaction's bridge, and the consulted
        agent is the interaction's agent from now on."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            rules.require(ix, leg, agent_id, Action.TRANSFER)
            assert leg is not None
            was = leg.state
            old_channel = ix.agent_channel
            try:
                if was is LegState.CONSULTING:
                    await self._parties.leave_consult_bridge(ix, leg)
                    await self._media.resume_customer(ix)
                elif was is LegState.CONSULT_HELD:
                    await self._ari.stop_moh(leg.channel)
                if was is not LegState.CONFERENCE:
                    await self._ari.add_to_bridge(ix.bridge or ix.id, [leg.channel])
                if old_channel and was is not LegState.CONSULTING:
                    await self._ari.remove_from_bridge(ix.bridge or ix.id, [old_channel])
            except AriError as exc:
                raise Unavailable("the call cannot be transferred", rule="CO-4") from exc
            ix.legs.remove(leg)
            ix.held = False
            if leg.agent is not None:
                ix.agent, ix.agent_channel = leg.agent, leg.channel
            else:  # a number takes over the call: no agent is left on it
                ix.agent, ix.agent_channel = None, None
                leg.role, leg.state = LegRole.PARTY, LegState.CONNECTED
                ix.legs.append(leg)
            await self._store.save_interaction(ix)
            log.info("interaction %s: %s transferred to %s", ix.id, agent_id, leg.agent or "number")
            await self._legs.hang_up(old_channel)
            await self._transfers.agent_left(ix, agent_id)
            target = {"kind": leg.target, "agent": leg.agent, "number": leg.number}
            data = {**ix.public(), "from_agent": agent_id, "target": target, "was": was.value}
            await self._notifier.publish(TRANSFERRED_EVENT, ix.tenant, data, agent=agent_id)
            if leg.agent is not None:
                await self._notifier.publish(
                    TRANSFERRED_EVENT, ix.tenant, data, agent=leg.agent, private=True
                )
            return ix

        return await self._run(ix_id, job)

    async def _run(self, ix_id: str, job: Callable[[], Awaitable[T]]) -> T:
        result: T = await self._serial.run(ix_id, job)
        return result
