"""Blind transfer (TR-1..TR-7) and the transfer and consult target lists.

The agent connected to the call transfers it to a queue (it re-enters the
queue at the place its entry time gives it), an entry point (the target
flow's variables start from the call's current values of the same name and
type; the call is never offered to the transferring agent again), an agent
(reserved at once, atomically; a target who does not answer drops the call,
or requeues it where the tenant says so) or a number (a typed number or an
address-book entry; DN-1..DN-3). The transferring agent leaves the call at
once and is in wrap-up (TR-6); the customer hears music on hold until the
target answers, in the interaction's own bridge, which is kept (with its
recording) for the rest of the call.

A ringing transfer target is a leg of the interaction (`Leg`, role
``transfer``, channel ``<interaction>-x<n>``); a number that took the call is
a ``party`` leg, whose hang-up ends the interaction.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from functools import partial

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.config import Config
from controlplane.core.agents import Agents
from controlplane.core.calls import Calls
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.routing import Routing
from controlplane.core.wrapup import WrapUp
from controlplane.domain import interaction as ix_rules
from controlplane.domain import legs as leg_rules
from controlplane.domain import transfer as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import RuleViolation, Unavailable
from controlplane.domain.interaction import (
    EndCause,
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
    now_ms,
)
from controlplane.domain.transfer import AgentView, TargetKind
from controlplane.features.media.service import MediaService
from controlplane.features.variables.service import CallVariables
from controlplane.notifier import Notifier, agent_key, interaction_key
from controlplane.tasks import KeyedSerializer

log = logging.getLogger(__name__)

TRANSFERRED_EVENT = "interaction.transferred"
FAILED_EVENT = "interaction.transfer_failed"


class TransferService:
    def __init__(
        self,
        config: Config,
        *,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        routing: Routing,
        calls: Calls,
        wrapup: WrapUp,
        media: MediaService,
        variables: CallVariables,
    ) -> None:
        self._config = config
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._routing = routing
        self._calls = calls
        self._wrapup = wrapup
        self._media = media
        self._variables = variables

    # TR-1: target lists -------------------------------------------------------------

    async def targets(
        self,
        tenant_id: str,
        viewer: str | None,
        kind: TargetKind,
        search: str,
        ix_id: str | None,
        *,
        consult: bool = False,
    ) -> dict[str, object]:
        """TR-1: the targets of one kind, filtered by the search text, as they
        are now (agents with their current state). With an interaction, only
        the kinds its transfer may go to (TR-7), or for a consult the
        consult's kinds (CO-1: TR-7 does not apply to a consult)."""
        tenant = self._agents.tenant(tenant_id)
        rules.require_search(search)
        ix = await self._interactions.get(tenant_id, ix_id) if ix_id else None
        kinds = rules.transfer_kinds(ix, tenant)
        listed = rules.CONSULT_KINDS if consult else kinds
        items: list[dict[str, object]] = []
        if kind in listed:
            if kind is TargetKind.AGENT:
                views = [
                    AgentView(a, (await self._store.agent(tenant_id, a)).state)
                    for a in sorted(tenant.agents)
                ]
                items = rules.agent_targets(tenant, views, search, exclude=viewer)
            elif kind is TargetKind.QUEUE:
                waiting = {q: await self._store.queue_length(tenant_id, q) for q in tenant.queues}
                items = rules.queue_targets(tenant, waiting, search)
            elif kind is TargetKind.ENTRY_POINT:
                items = rules.entry_point_targets(tenant, search)
            elif kind is TargetKind.ADDRESS_BOOK:
                items = rules.address_book_targets(tenant, search)
        return {
            "kind": kind.value,
            "search": search,
            "interaction_id": ix.id if ix else None,
            "transfer_kinds": [k.value for k in kinds],
            "consult_kinds": [k.value for k in rules.CONSULT_KINDS],
            "targets": items,
        }

    # Blind transfer (TR-2..TR-6) ------------------------------------------------------

    async def blind(
        self,
        tenant_id: str,
        agent_id: str,
        ix_id: str,
        kind: TargetKind,
        target: str,
        *,
        check: Callable[[Interaction], None] | None = None,
    ) -> Interaction:
        """TR-2..TR-6: the call goes to the target; the agent leaves it at once
        and is in wrap-up. Every refusal comes before anything changes
        (`check`, who may act, sees the interaction as the job reads it).

        The answer comes once the agent is out of the call; the transfer's
        event and ringing the target (or the routing step, for a queue)
        follow in the interaction's own order, right after: a failure to
        ring is the `interaction.transfer_failed` event, as a target that
        does not answer."""
        tenant = self._agents.tenant(tenant_id)
        number = None
        if kind in (TargetKind.DIAL_NUMBER, TargetKind.ADDRESS_BOOK):
            number = rules.resolve_number(self._config, tenant, kind, target, "TR-5")
        elif kind is TargetKind.AGENT:
            rules.find_agent(tenant, target, "TR-2")
            rules.require_other_agent(target, agent_id, "TR-2")
        elif kind is TargetKind.QUEUE:
            rules.find_queue(tenant, target, "TR-3")
        else:
            rules.find_entry_point(tenant, target)

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if check is not None:
                check(ix)
            rules.require_handling_agent(ix, agent_id, "TR-6", "transfer")
            rules.require_no_other_leg(ix, "TR-6")
            rules.require_transfer_kind(kind, ix, tenant)  # TR-7
            leg: Leg | None = None
            if kind is TargetKind.AGENT:
                leg = await self._reserve(ix, target, agent_id)
            elif number is not None:
                leg = Leg(
                    channel=leg_rules.next_leg_id(ix, leg_rules.LegKind.TRANSFER),
                    role=LegRole.TRANSFER,
                    state=LegState.RINGING,
                    target=TargetKind.DIAL_NUMBER.value,
                    number=number.number,
                    post_dial=number.post_dial,
                    by=agent_id,
                )
            old_channel = ix.agent_channel
            try:
                if not ix.held:
                    await self._media.hold_customer(ix)  # music until the target answers
            except Unavailable:
                if leg is not None and leg.agent is not None:
                    await self._agents.apply(
                        ix.tenant,
                        leg.agent,
                        leg_rules.withdrawn(leg.prior),
                        offer=leg.channel,
                        keep_available_since=True,
                        fields={"offer": ""},
                    )
                raise
            ix.held = False  # waits for its next party; nobody holds it
            ix.agent, ix.agent_channel = None, None
            described = {"kind": kind.value, "target": target}
            if kind is TargetKind.QUEUE:
                await self._to_queue(ix, target)
            elif kind is TargetKind.ENTRY_POINT:
                await self._to_entry_point(ix, target, agent_id)
            else:
                assert leg is not None
                ix_rules.change_status(ix, Status.RINGING)
                ix.legs.append(leg)
                await self._store.save_interaction(ix)
                described["number"] = leg.number or ""
            log.info("interaction %s: %s transfers to %s %s", ix.id, agent_id, kind.value, target)
            # the agent's phone hangs up while the agent goes to wrap-up
            await asyncio.gather(self._legs.hang_up(old_channel), self.agent_left(ix, agent_id))
            # the event follows the answer in its order: after the interaction's
            # and the agent's earlier deferred events, before their later ones
            self._notifier.after_answer(
                self._serial,
                ix.id,
                [interaction_key(ix.id), agent_key(ix.tenant, agent_id)],
                partial(
                    self._notifier.publish,
                    TRANSFERRED_EVENT,
                    ix.tenant,
                    {**ix.public(), "from_agent": agent_id, "target": described},
                    agent=agent_id,
                ),
            )
            answer = copy.deepcopy(ix)  # (ringing goes on with `ix`)
            if leg is not None:
                self._serial.submit(ix.id, partial(self._ring, ix, leg))
            else:
                self._serial.submit(
                    f"dispatch:{ix.tenant}", partial(self._routing.dispatch, ix.tenant)
                )
            return answer

        result: Interaction = await self._serial.run(ix_id, job)
        return result

    async def _reserve(self, ix: Interaction, target: str, by: str) -> Leg:
        """TR-2: the target must be available (never in wrap-up), with an idle
        phone; reserved in one atomic step against the state checked."""
        tenant = self._agents.tenant(ix.tenant)
        record = await self._store.agent(ix.tenant, target)
        extension = record.extension or tenant.agents[target].extension
        rules.require_transfer_target_state(
            target, record.state, await self._store.device_busy(extension)
        )
        leg = Leg(
            channel=leg_rules.next_leg_id(ix, leg_rules.LegKind.TRANSFER),
            role=LegRole.TRANSFER,
            state=LegState.RINGING,
            target=TargetKind.AGENT.value,
            agent=target,
            by=by,
            prior=AgentState.AVAILABLE.value,
        )
        if not await self._agents.apply(
            ix.tenant,
            target,
            leg_rules.offered(AgentState.AVAILABLE, transfer=True),
            fields={"offer": leg.channel},
            interaction=ix.id,
        ):
            raise RuleViolation(
                f"agent {target!r} is no longer available", rule="TR-2", agent=target
            )
        return leg

    async def _to_queue(self, ix: Interaction, queue: str) -> None:
        """TR-3: the call re-enters the queue at the place the time it entered
        the contact center gives it (ahead of calls that came later)."""
        tenant = self._agents.tenant(ix.tenant)
        ix.queue, ix.queue_name = queue, tenant.queues[queue].name
        ix_rules.change_status(ix, Status.QUEUED)
        await self._store.save_interaction(ix)
        await self._store.enqueue(ix)
        await self._notifier.publish("interaction.queued", ix.tenant, ix.public())

    async def _to_entry_point(self, ix: Interaction, entry_id: str, agent_id: str) -> None:
        """TR-4: the call runs the entry point's flow: its variables start from
        the values of the same name and type (current ones), the rest from
        the flow's defaults; the transferring agent is never offered it again."""
        tenant = self._agents.tenant(ix.tenant)
        entry = tenant.entry_points[entry_id]
        source = self._variables.flow(ix)
        current = await self._variables.current(ix.id)
        carried = rules.carried_variables(source, tenant.flows[entry.flow], current)
        ix.entry_point, ix.flow, ix.label = entry_id, entry.flow, entry.label
        await self._variables.restart(ix, carried)
        await self._store.exclude_agent(ix.id, agent_id)
        log.info(
            "interaction %s: flow %s, variables carried: %s",
            ix.id,
            entry.flow,
            ", ".join(sorted(carried)) or "none",
        )
        await self._to_queue(ix, entry.queue)

    async def _ring(self, ix: Interaction, leg: Leg) -> None:
        """TR-2, TR-5: ring the target agent's phone (with the offer on the
        desktop) or call the number; the customer keeps hearing music."""
        tenant = self._agents.tenant(ix.tenant)
        if leg.agent is not None:
            caller = ix_rules.caller_id(ix.label, ix.ani)
        else:
            # the far end sees the customer's number when it is one, else ours
            shown = ix.ani if _dialable(ix.ani) else (tenant.default_ani or ix.dnis)
            caller = ix_rules.caller_id(ix.label, shown)
        try:
            await self._legs.ring_party(
                ix,
                leg,
                purpose="transfer",
                caller=caller,
                ring_seconds=tenant.transfer_ring_seconds,
            )
        except AriError as exc:
            log.warning("interaction %s: cannot call the transfer target: %s", ix.id, exc)
            await self._not_taken(ix, leg, "device_unreachable")
            return
        if leg.agent is not None:
            payload = ix_rules.offer(ix, await self._variables.for_offer(ix))
            payload["transfer_from"] = leg.by
            await self._notifier.publish(
                "interaction.offered", ix.tenant, payload, agent=leg.agent, private=True
            )

    # The target answers, or not ---------------------------------------------------

    async def leg_answered(self, ix_id: str, channel_id: str) -> None:
        """TR-2, TR-5: the target answered: customer and target talk in the
        interaction's bridge; an agent is the interaction's agent now."""
        found = await self._legs.party_answered(
            ix_id, channel_id, role=LegRole.TRANSFER, status=Status.RINGING
        )
        if found is None:
            return
        ix, leg = found
        ix.legs.remove(leg)
        if leg.agent is not None:
            ix.agent, ix.agent_channel = leg.agent, leg.channel
        else:
            leg.role, leg.state, leg.connected_at = LegRole.PARTY, LegState.CONNECTED, now_ms()
            ix.legs.append(leg)
        await self._calls.bridge_and_connect(ix, leg.channel)
        if leg.post_dial and ix.end_cause is None:  # (bridged, not ended)
            try:
                await self._ari.request(
                    "POST", f"/channels/{leg.channel}/dtmf", params={"dtmf": leg.post_dial}
                )
            except AriError as exc:
                log.warning("post-dial digits on %s not sent: %s", leg.channel, exc)

    async def leg_gone(self, ix: Interaction, channel_id: str, cause: int) -> bool:
        """A transfer target's leg ended before it answered (TR-2), or the
        number that took the call hung up. False for any other channel."""
        if channel_id == ix.customer_channel and leg_rules.transfer_leg(ix) is not None:
            await self._calls.finish(ix, EndCause.ABANDONED)  # the target is freed on the way
            return True
        leg = leg_rules.leg_of(ix, channel_id)
        if leg is None:
            return False
        if leg.role is LegRole.PARTY:
            await self._calls.finish(ix, EndCause.PARTY_HANGUP)
            return True
        if leg.role is not LegRole.TRANSFER:
            return False
        outcome = leg_rules.leg_outcome(self._legs.dial_status(channel_id), cause)
        await self._not_taken(ix, leg, outcome)
        return True

    async def _not_taken(self, ix: Interaction, leg: Leg, outcome: str) -> None:
        """TR-2: the target did not take the call: an agent goes to `rona`
        (RONA-1); the call is dropped, or back in the queue it came from where
        the tenant sets `transfer_no_answer = "requeue"`."""
        tenant = self._agents.tenant(ix.tenant)
        if leg in ix.legs:
            ix.legs.remove(leg)
        await self._legs.hang_up(leg.channel)
        if leg.agent is not None and await self._agents.apply(
            ix.tenant,
            leg.agent,
            leg_rules.not_taken(outcome),
            offer=leg.channel,
            fields={"offer": ""},
            interaction=ix.id,
        ):
            await self._notifier.publish(
                "interaction.offer_withdrawn",
                ix.tenant,
                {"interaction_id": ix.id, "reason": outcome, "choices": ["available", "idle"]},
                agent=leg.agent,
            )
        requeue = tenant.transfer_no_answer == "requeue" and ix.queue in tenant.queues
        log.info(
            "interaction %s: transfer to %s not taken (%s): %s",
            ix.id,
            leg.agent or leg.number,
            outcome,
            "requeued" if requeue else "dropped",
        )
        failed = {
            "interaction_id": ix.id,
            "target": {"kind": leg.target, "agent": leg.agent, "number": leg.number},
            "outcome": outcome,
            "then": "requeued" if requeue else "dropped",
        }
        if requeue:
            await self._to_queue(ix, ix.queue)
            await self._notifier.publish(FAILED_EVENT, ix.tenant, failed, agent=leg.by)
            await self._routing.dispatch(ix.tenant)
        else:
            await self._notifier.publish(FAILED_EVENT, ix.tenant, failed, agent=leg.by)
            await self._calls.finish(ix, EndCause.TRANSFER_NOT_ANSWERED)

    # TR-6, CO-4, CF-4: the transferring agent leaves ----------------------------

    async def agent_left(self, ix: Interaction, agent_id: str) -> None:
        """TR-6: the agent who transferred the call is out of it and in
        wrap-up for it (END-2), while the call goes on with someone else;
        the tenant's auto wrap-up applies to them as after any call."""
        await self._wrapup.enter(ix, agent_id, leg_rules.transferred())


def _dialable(number: str) -> bool:
    digits = number.removeprefix("+")
    return digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15
