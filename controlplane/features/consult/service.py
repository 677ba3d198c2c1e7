"""Consult and conference (CO-1..CO-6, CF-1..CF-7, HOLD-3).

The consulting agent (agent 1, the interaction's agent) consults an agent,
a queue (the request waits there for an available agent, like a call) or a
number. The customer is held at once (HOLD-3). The consulted party's leg
(``<interaction>-k<n>``) is kept with its state in the interaction's record
(`Leg`), so any replica, and the service after a restart, knows it.

Asterisk side:

* the interaction's mixing bridge (ID = interaction ID) holds the customer
  and agent 1, and the recorder if the call is recorded;
* while agent 1 talks with agent 2 (``consulting``), both are in the
  consult's own mixing bridge (``<leg>-bridge``) and the customer, out of any
  bridge, hears music on hold;
* agent 1 back with the customer (``consult_held``): agent 1 is in the
  interaction's bridge again and agent 2, out of any bridge, hears music;
* conference: all three in the interaction's bridge (CF-1), so the
  recording covers it too.

Everything about one interaction runs in its serializer, in order with the
Stasis events of its channels. The core calls in here through the hooks
`plugin.py` registers (the consulted leg answered or gone, the interaction
ending, a queue consult's agent reserved, reconciliation), and so do hold
and resume (`MediaService.on_hold`/`on_resume`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.config import AsteriskNode, Config, Tenant
from controlplane.core.agents import Agents
from controlplane.core.calls import Calls
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.routing import Routing
from controlplane.domain import consult as rules
from controlplane.domain import legs as leg_rules
from controlplane.domain import transfer as targets
from controlplane.domain.agent import AgentState
from controlplane.domain.consult import Action, Hangup, Role
from controlplane.domain.errors import InvalidTransition, Unavailable
from controlplane.domain.interaction import (
    EndCause,
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
    caller_id,
    now_ms,
)
from controlplane.domain.transfer import TargetKind
from controlplane.features.consult.conference import Conference
from controlplane.features.consult.parties import Parties
from controlplane.features.media.service import MediaService
from controlplane.features.transfers.service import TransferService
from controlplane.features.variables.service import CallVariables
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer

log = logging.getLogger(__name__)

T = TypeVar("T")

REQUESTED_EVENT = "interaction.consult_requested"  # agent 1: waits (queue) or rings
OFFERED_EVENT = "interaction.consult_offered"  # agent 2 (private): CO-2
CONNECTED_EVENT = "interaction.consult_connected"  # both: agent 2 answered
HELD_EVENT = "interaction.consult_held"  # both: agent 1 went back to the customer
RESUMED_EVENT = "interaction.consult_resumed"  # both: agent 1 back with agent 2
ENDED_EVENT = "interaction.consult_ended"  # both: why (reason) and from which state


class ConsultService:
    def __init__(
        self,
        config: Config,
        *,
        node: AsteriskNode,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        routing: Routing,
        calls: Calls,
        media: MediaService,
        variables: CallVariables,
        transfers: TransferService,
    ) -> None:
        self._config = config
        self._node = node
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._routing = routing
        self._calls = calls
        self._media = media
        self._variables = variables
        self._transfers = transfers
        self._parties = Parties(
            ari=ari, store=store, notifier=notifier, agents=agents, variables=variables
        )
        self._conference = Conference(
            ari=ari,
            store=store,
            notifier=notifier,
            serial=serial,
            interactions=interactions,
            legs=legs,
            calls=calls,
            media=media,
            transfers=transfers,
            parties=self._parties,
            consult_over=self._consult_over,
        )
        # what the desktops see (CO-2, CO-3)
        self.describe = self._parties.describe
        self.offer_payload = self._parties.offer_payload

    # CO-1: starting a consult -------------------------------------------------------

    async def start(
        self, tenant_id: str, agent_id: str, ix_id: str, kind: TargetKind, target: str
    ) -> Interaction:
        """CO-1: consult an agent, a queue or a number; the customer is held
        at once (HOLD-3). Every refusal comes before anything changes."""
        tenant = self._agents.tenant(tenant_id)
        targets.require_consult_kind(kind)
        number = None
        if kind in (TargetKind.DIAL_NUMBER, TargetKind.ADDRESS_BOOK):
            number = targets.resolve_number(self._config, tenant, kind, target, "CO-1")
        elif kind is TargetKind.AGENT:
            targets.find_agent(tenant, target, "CO-1")
            targets.require_other_agent(target, agent_id, "CO-1")
        else:
            targets.find_queue(tenant, target, "CO-1")

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            targets.require_handling_agent(ix, agent_id, "CO-1", "consult")
            targets.require_no_other_leg(ix, "CO-1")
            if kind is TargetKind.AGENT:
                leg = await self._reserve(ix, tenant, target, agent_id)
            elif kind is TargetKind.QUEUE:
                leg = Leg(
                    channel=leg_rules.next_leg_id(ix, leg_rules.LegKind.CONSULT),
                    role=LegRole.CONSULT,
                    state=LegState.QUEUED,
                    target=kind.value,
                    queue=target,
                    by=agent_id,
                )
            else:
                assert number is not None
                leg = Leg(
                    channel=leg_rules.next_leg_id(ix, leg_rules.LegKind.CONSULT),
                    role=LegRole.CONSULT,
                    state=LegState.RINGING,
                    target=TargetKind.DIAL_NUMBER.value,
                    number=number.number,
                    post_dial=number.post_dial,
                    by=agent_id,
                )
            try:
                if not ix.held:
                    await self._media.hold_customer(ix)  # HOLD-3
            except Unavailable:
                if leg.agent is not None:
                    withdrawn = leg_rules.withdrawn(leg.prior)
                    await self._parties.agent(ix, leg.agent, withdrawn, leg, offer=True)
                raise
            ix.legs.append(leg)
            await self._store.save_interaction(ix)
            log.info("interaction %s: %s consults %s %s", ix.id, agent_id, kind.value, target)
            if leg.state is LegState.QUEUED:
                await self._store.enqueue_request(ix.tenant, target, leg.channel, ix.entered_at)
                await self._parties.tell(ix, leg, REQUESTED_EVENT)
                await self._routing.dispatch(ix.tenant)
                return ix
            if not await self._ring(ix, leg):
                raise Unavailable("the consulted party cannot be called right now", rule="CO-1")
            await self._parties.tell(ix, leg, REQUESTED_EVENT)
            return ix

        return await self._run(ix_id, job)

    async def _reserve(self, ix: Interaction, tenant: Tenant, target: str, by: str) -> Leg:
        """CO-1, ST-2, ST-4: the consulted agent is reserved in one atomic step
        against the state checked; they return to it when the consult ends."""
        record = await self._store.agent(ix.tenant, target)
        extension = record.extension or tenant.agents[target].extension
        busy = await self._store.device_busy(extension)
        targets.require_consult_target_state(target, record.state, busy)
        leg = Leg(
            channel=leg_rules.next_leg_id(ix, leg_rules.LegKind.CONSULT),
            role=LegRole.CONSULT,
            state=LegState.RINGING,
            target=TargetKind.AGENT.value,
            agent=target,
            by=by,
            prior=leg_rules.prior_state(record.state, record.reason),
        )
        change = leg_rules.offered(record.state, transfer=False)
        if not await self._agents.apply(
            ix.tenant, target, change, fields={"offer": leg.channel}, interaction=ix.id
        ):
            raise InvalidTransition(
                f"agent {target!r} changed state meanwhile; try again", rule="CO-1", agent=target
            )
        return leg

    async def _ring(self, ix: Interaction, leg: Leg) -> bool:
        """Call the consulted party: the agent's phone (showing who consults)
        or the number through the node's outbound endpoint. False (and the
        consult is over, the customer back with agent 1) when it cannot be
        called."""
        tenant = self._agents.tenant(ix.tenant)
        by = tenant.agents.get(leg.by or "")
        if leg.agent is not None:
            name = f"Consult: {by.name}" if by else "Consult"
            caller = caller_id(name, by.extension if by else ix.dnis)
        else:
            caller = caller_id(tenant.name, tenant.default_ani or ix.dnis)
        try:
            await self._legs.ring_party(
                ix,
                leg,
                purpose="consult",
                caller=caller,
                ring_seconds=tenant.transfer_ring_seconds,
            )
        except AriError as exc:
            log.warning("interaction %s: cannot call the consulted party: %s", ix.id, exc)
            await self._consult_over(ix, leg, "failed", outcome="unreachable")
            return False
        if leg.agent is not None:
            await self._offer(ix, leg)
        return True

    async def _offer(self, ix: Interaction, leg: Leg) -> None:
        payload = await self._parties.offer_payload(ix, leg)
        await self._notifier.publish(
            OFFERED_EVENT, ix.tenant, payload, agent=leg.agent, private=True
        )

    async def queue_offer(self, tenant_id: str, member: str, agent_id: str) -> None:
        """CO-1: routing reserved an available agent for a queue consult (ST-2):
        ring them, unless the consult was cancelled or ended meanwhile."""
        ix = await self._store.interaction(rules.request_owner(member))
        leg = leg_rules.consult_leg(ix) if ix is not None else None
        if (
            ix is None
            or ix.status is not Status.CONNECTED
            or leg is None
            or leg.channel != member
            or leg.state is not LegState.QUEUED
        ):
            log.info("queue consult %s no longer waits: %s is free again", member, agent_id)
            await self._agents.apply(
                tenant_id,
                agent_id,
                leg_rules.withdrawn(AgentState.AVAILABLE.value),
                offer=member,
                keep_available_since=True,
                fields={"offer": ""},
            )
            await self._routing.dispatch(tenant_id)
            return
        leg.agent, leg.state, leg.prior = agent_id, LegState.RINGING, AgentState.AVAILABLE.value
        await self._store.save_interaction(ix)
        if await self._ring(ix, leg):
            await self._parties.tell(ix, leg, REQUESTED_EVENT)

    # The consulted party answers ---------------------------------------------------

    async def leg_answered(self, ix_id: str, channel_id: str) -> None:
        """CO-3: agent 2 answered: agent 1 moves to the consult's bridge and
        talks with agent 2 while the customer stays held; if agent 1 resumed
        the customer meanwhile, agent 2 is held instead (never both talk)."""
        found = await self._legs.party_answered(
            ix_id, channel_id, role=LegRole.CONSULT, status=Status.CONNECTED
        )
        if found is None:
            return
        ix, leg = found
        leg.connected_at = now_ms()
        try:
            if ix.held:
                await self._parties.join_consult(ix, leg)
            else:
                await self._ari.start_moh(leg.channel, self._node.moh_class)
                leg.state = LegState.CONSULT_HELD
        except (AriError, Unavailable) as exc:
            log.warning("interaction %s: consult could not be connected: %s", ix.id, exc)
            await self._legs.hang_up(channel_id)
            return
        await self._store.save_interaction(ix)
        log.info("interaction %s: consult %s %s", ix.id, leg.channel, leg.state.value)
        await self._parties.tell(ix, leg, CONNECTED_EVENT)
        await self._parties.post_dial(leg)

    # CO-3: switching between the customer and the consulted party --------------

    async def on_hold(self, ix: Interaction, agent: str) -> Interaction | None:
        """HOLD-1 during a consult (in the interaction's serializer): holding
        the customer while agent 1 is with them means going back to agent 2
        (HOLD-3); nobody is held in a conference (CF-3). None: plain hold."""
        leg = leg_rules.consult_leg(ix)
        if leg is None or agent != ix.agent:
            return None
        if leg.state is LegState.CONFERENCE:
            rules.require(ix, leg, agent, Action.HOLD_CUSTOMER)  # raises CF-3
        if leg.state is not LegState.CONSULT_HELD:
            return None
        return await self._resume_consulted(ix, leg)

    async def on_resume(self, ix: Interaction, agent: str) -> Interaction | None:
        """HOLD-2 during a consult: resuming the customer holds agent 2
        (HOLD-3); nobody is held in a conference (CF-3). None: plain resume."""
        leg = leg_rules.consult_leg(ix)
        if leg is None or agent != ix.agent:
            return None
        if leg.state is LegState.CONFERENCE:
            rules.require(ix, leg, agent, Action.RESUME_CUSTOMER)  # raises CF-3
        if leg.state is not LegState.CONSULTING:
            return None
        return await self._hold_consulted(ix, leg)

    async def hold_consulted(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CO-3: agent 1 holds the consulted party and is back with the customer."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            rules.require(ix, leg, agent_id, Action.HOLD_CONSULTED)
            assert leg is not None
            return await self._hold_consulted(ix, leg)

        return await self._run(ix_id, job)

    async def resume_consulted(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CO-3: agent 1 goes back to the consulted party; the customer is held."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            rules.require(ix, leg, agent_id, Action.RESUME_CONSULTED)
            assert leg is not None
            return await self._resume_consulted(ix, leg)

        return await self._run(ix_id, job)

    async def _hold_consulted(self, ix: Interaction, leg: Leg) -> Interaction:
        try:
            await self._parties.leave_consult_bridge(ix, leg)
            await self._ari.start_moh(leg.channel, self._node.moh_class)
            await self._parties.agent_to_main(ix)
            await self._media.resume_customer(ix)
        except AriError as exc:
            raise Unavailable("the consulted party cannot be held", rule="CO-3") from exc
        leg.state = LegState.CONSULT_HELD
        await self._store.save_interaction(ix)
        log.info("interaction %s: consult held, customer resumed", ix.id)
        await self._parties.publish_ix("interaction.resumed", ix)
        await self._parties.tell(ix, leg, HELD_EVENT)
        return ix

    async def _resume_consulted(self, ix: Interaction, leg: Leg) -> Interaction:
        try:
            await self._media.hold_customer(ix)
            await self._ari.stop_moh(leg.channel)
            await self._parties.join_consult(ix, leg)
        except AriError as exc:
            raise Unavailable("the consult cannot be resumed", rule="CO-3") from exc
        await self._store.save_interaction(ix)
        log.info("interaction %s: customer held, consult resumed", ix.id)
        await self._parties.publish_ix("interaction.held", ix)
        await self._parties.tell(ix, leg, RESUMED_EVENT)
        return ix

    # CF-1..CF-6, CO-4: what the consult becomes (see conference.py) -------------

    async def conference(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CF-1, CF-2: all three in the interaction's bridge."""
        return await self._conference.start(tenant_id, agent_id, ix_id)

    async def end_conference(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CF-6: agent 1 ends it for everyone; CF-5: agent 2 leaves it."""
        return await self._conference.end(tenant_id, agent_id, ix_id)

    async def transfer(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """CO-4, CF-4: the call goes to the consulted party; agent 1 leaves."""
        return await self._conference.hand_over(tenant_id, agent_id, ix_id)

    # Ending a consult ---------------------------------------------------------------

    async def end(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """DELETE .../consult ("Beratung beenden"): agent 1 cancels a consult
        that waits or rings (CO-1, back with the customer) or ends an answered
        one, which removes the customer and agent 2 and leaves agent 1 in
        wrap-up (CO-4 as the product text has it); agent 2 leaves it (CO-5)."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            leg = leg_rules.consult_leg(ix)
            role = rules.role_of(ix, leg, agent_id) if leg is not None else None
            if role is Role.CONSULTING and leg is not None:
                if leg.state is LegState.CONFERENCE:
                    raise InvalidTransition(
                        "the consult is a conference now: end the conference (CF-6) or "
                        "transfer to the consulted party (CF-4)",
                        rule="CF-6",
                        consult=leg.state.value,
                    )
                if leg.state in (LegState.QUEUED, LegState.RINGING):
                    rules.require(ix, leg, agent_id, Action.CANCEL)
                    await self._consult_over(ix, leg, "cancelled", by=agent_id)
                    return ix
                rules.require(ix, leg, agent_id, Action.END_CONSULT)
                await self._calls.finish(ix, EndCause.AGENT_END)
                return ix
            rules.require(ix, leg, agent_id, Action.LEAVE)
            assert leg is not None
            await self._consult_over(ix, leg, "left", by=agent_id)
            return ix

        return await self._run(ix_id, job)

    async def _consult_over(
        self,
        ix: Interaction,
        leg: Leg,
        reason: str,
        *,
        by: str | None = None,
        outcome: str | None = None,
        rona: bool = False,
    ) -> None:
        """The consult ends while the interaction goes on: agent 2 is out
        (back to the state before the consult: no wrap-up, CO-5, CF-5),
        agent 1 is back with the customer, who is no longer held."""
        was = leg.state
        if leg in ix.legs:
            ix.legs.remove(leg)
        try:
            if was is LegState.CONSULTING:
                await self._parties.leave_consult_bridge(ix, leg)
                await self._parties.agent_to_main(ix)
            if ix.held and ix.status is Status.CONNECTED:
                await self._media.resume_customer(ix)
        except (AriError, Unavailable) as exc:
            log.warning("interaction %s: back to the customer: %s", ix.id, exc)
        await self._store.save_interaction(ix)
        if was is LegState.QUEUED and leg.queue:
            await self._store.dequeue_request(ix.tenant, leg.queue, leg.channel)
        elif was is not LegState.QUEUED:
            await self._legs.hang_up(leg.channel)
        if leg.agent is not None:
            if was is LegState.RINGING:
                change = (
                    leg_rules.not_taken(outcome or "ring_no_answer")
                    if rona
                    else (leg_rules.withdrawn(leg.prior))
                )
                await self._parties.agent(ix, leg.agent, change, leg, offer=True)
                if rona:
                    await self._notifier.publish(
                        "interaction.offer_withdrawn",
                        ix.tenant,
                        {
                            "interaction_id": ix.id,
                            "reason": outcome,
                            "choices": ["available", "idle"],
                        },
                        agent=leg.agent,
                    )
            elif was is not LegState.QUEUED:
                await self._parties.agent(ix, leg.agent, leg_rules.consulted_out(leg.prior), leg)
        log.info("interaction %s: consult %s %s (%s)", ix.id, leg.channel, reason, was.value)
        await self._parties.tell(
            ix, leg, ENDED_EVENT, reason=reason, was=was.value, by=by, outcome=outcome
        )
        await self._routing.dispatch(ix.tenant)

    # What the desktops see --------------------------------------------------------

    async def view(self, tenant_id: str, agent_id: str | None, ix_id: str) -> dict[str, object]:
        """CO-3: the interaction's legs as a party (or a supervisor) sees them:
        the customer (`held`, `connected`, `conference`) and the consult."""
        ix = await self._interactions.get(tenant_id, ix_id)
        leg = leg_rules.consult_leg(ix)
        if agent_id is not None and rules.role_of(ix, leg, agent_id) is None:
            raise rules.NotParty("only the consulting and the consulted agent see the consult")
        return self._parties.describe(ix, leg, agent_id)

    def refuse_consulted(self, ix: Interaction, agent: str | None, action: Action) -> None:
        """CO-5: the consulted agent cannot end the customer's call, hold or
        resume it, or apply a wrap-up for it (refused naming the rule)."""
        leg = leg_rules.consult_leg(ix)
        if leg is not None and rules.role_of(ix, leg, agent) is Role.CONSULTED:
            rules.require(ix, leg, agent, action)

    # Hooks of the core -------------------------------------------------

    async def leg_gone(self, ix: Interaction, channel_id: str, cause: int) -> bool:
        """A consult leg ended (in the interaction's serializer). False when
        the channel is no consult leg of the interaction (any more)."""
        leg = leg_rules.leg_of(ix, channel_id)
        if leg is None or leg.role is not LegRole.CONSULT:
            return False
        result = rules.after_hangup(Role.CONSULTED, leg.state)
        if result is Hangup.CONSULT_FAILED:
            outcome = leg_rules.leg_outcome(self._legs.dial_status(channel_id), cause)
            log.info("interaction %s: consult not taken: %s (cause %s)", ix.id, outcome, cause)
            if leg.target == TargetKind.QUEUE.value and leg.agent is not None:
                await self._back_to_queue(ix, leg, outcome)
                return True
            await self._consult_over(ix, leg, "failed", outcome=outcome, rona=True)
            return True
        await self._consult_over(ix, leg, "left", by=leg.agent or "number")
        return True

    async def _back_to_queue(self, ix: Interaction, leg: Leg, outcome: str) -> None:
        """RONA-1, RONA-2 for queue consults: the agent who did not take it goes
        to `rona`; the request waits in its queue again for the next agent."""
        agent = leg.agent
        assert agent is not None and leg.queue is not None
        offered = leg.channel
        leg.agent, leg.prior, leg.state = None, None, LegState.QUEUED
        leg.channel = leg_rules.next_leg_id(ix, leg_rules.LegKind.CONSULT)
        await self._store.save_interaction(ix)
        await self._store.enqueue_request(ix.tenant, leg.queue, leg.channel, ix.entered_at)
        if await self._agents.apply(
            ix.tenant, agent, leg_rules.not_taken(outcome), offer=offered, fields={"offer": ""}
        ):
            await self._notifier.publish(
                "interaction.offer_withdrawn",
                ix.tenant,
                {"interaction_id": ix.id, "reason": outcome, "choices": ["available", "idle"]},
                agent=agent,
            )
        await self._parties.tell(ix, leg, REQUESTED_EVENT)
        await self._routing.dispatch(ix.tenant)

    async def finishing(self, ix: Interaction) -> bool:
        """The interaction ends (before its record is saved): every consult
        and transfer leg goes too. A consulted agent leaves without wrap-up
        (CO-6, CF-7); an offered one is free again at their old place; a
        waiting consult request leaves its queue. True when an agent is free."""
        legs, ix.legs = list(ix.legs), []
        freed = False
        for leg in legs:
            if leg.state is LegState.QUEUED and leg.queue:
                await self._store.dequeue_request(ix.tenant, leg.queue, leg.channel)
                continue
            if leg.role is LegRole.CONSULT and leg.state is LegState.CONSULTING:
                with contextlib.suppress(AriError):
                    await self._ari.destroy_bridge(rules.consult_bridge_id(leg))
            await self._legs.hang_up(leg.channel)
            if leg.agent is None:
                continue
            if leg.state is LegState.RINGING:
                freed |= await self._parties.agent(
                    ix, leg.agent, leg_rules.withdrawn(leg.prior), leg, offer=True
                )
            elif leg.role is LegRole.CONSULT:
                freed |= await self._parties.agent(
                    ix, leg.agent, leg_rules.consulted_out(leg.prior), leg
                )
            if leg.role is LegRole.CONSULT:
                await self._notifier.publish(
                    ENDED_EVENT,
                    ix.tenant,
                    {
                        **self._parties.describe(ix, leg),
                        "reason": "interaction_ended",
                        "was": leg.state.value,
                    },
                    agent=leg.agent,
                    private=True,
                )
        await self._store.forget_exclusions(ix.id)
        return freed

    async def reconcile(self, ix: Interaction, live: dict[str, str]) -> None:
        """After a (re)connection of the event stream: a leg whose channel is
        gone ended meanwhile; one that rang and is up now was answered."""
        for leg in ix.legs:
            if leg.state is LegState.QUEUED:
                continue
            self._interactions.track(leg.channel, ix.id)
            if leg.channel not in live:
                job = partial(self._calls.leg_gone, ix.id, leg.channel, "reconcile", 0)
                self._serial.submit(ix.id, job)
            elif leg.state is LegState.RINGING and live[leg.channel] == "Up":
                answered = (
                    self.leg_answered
                    if leg.role is LegRole.CONSULT
                    else self._transfers.leg_answered
                )
                self._serial.submit(ix.id, partial(answered, ix.id, leg.channel))

    async def _run(self, ix_id: str, job: Callable[[], Awaitable[T]]) -> T:
        result: T = await self._serial.run(ix_id, job)
        return result
