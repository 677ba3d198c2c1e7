"""The call path, from a leg's StasisStart to the agent's wrap-up: inbound
calls (IN-1, IN-2), bridging, the end of a call (END-1, END-2) and what its
legs' hang-ups mean, and reconciliation after the event stream (re)connects
(REL-1, REL-2).

Everything about one interaction runs in order through its serializer;
shared state lives in Redis so that any replica can take over. Features join
through `controlplane.core.hooks`.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from controlplane import metrics
from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.adapters.store import Batch, Store
from controlplane.config import Config
from controlplane.core.agents import Agents
from controlplane.core.bridges import Bridges
from controlplane.core.hooks import Hooks
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.limits import Limits
from controlplane.core.routing import Routing
from controlplane.core.wrapup import WrapUp
from controlplane.domain import agent as agent_rules
from controlplane.domain import bridges as bridge_rules
from controlplane.domain import hangup
from controlplane.domain import interaction as ix_rules
from controlplane.domain.agent import AgentState, Trigger
from controlplane.domain.errors import InvalidTransition, RuleViolation
from controlplane.domain.interaction import (
    Direction,
    EndCause,
    Interaction,
    Recording,
    Status,
    now_ms,
)
from controlplane.notifier import Notifier, interaction_key
from controlplane.tasks import Beside, KeyedSerializer, TaskGroup

log = logging.getLogger(__name__)


class Calls:
    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        ari: AriClient,
        notifier: Notifier,
        tasks: TaskGroup,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        routing: Routing,
        limits: Limits,
        wrapup: WrapUp,
        hooks: Hooks,
        bridges: Bridges,
    ) -> None:
        self._config = config
        self._bridges = bridges
        self._node = config.datacenter.asterisk[0]
        self._store = store
        self._ari = ari
        self._notifier = notifier
        self._tasks = tasks
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._routing = routing
        self._limits = limits
        self._wrapup = wrapup
        self._hooks = hooks
        # IN-1: per inbound interaction, the customer's answer and music on
        # hold, running beside the routing and the offer (True when done)
        self._customer_media = Beside(tasks, "answer")
        hooks.on_answered("agent", self._agent_answered)  # IN-2; CB-2 and OD-4 from there
        hooks.observe({"Dial"}, legs.on_dial)  # how the legs we placed are doing

    # What agents ask for -------------------------------------------------------------

    async def end(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """END-1: the agent ends the call."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if ix.agent != agent_id:
                raise RuleViolation("the agent is not on this interaction", rule="END-1")
            if ix.status is not Status.CONNECTED:
                raise InvalidTransition(
                    f"only a connected call can be ended (it is {ix.status.value})",
                    rule="END-1",
                    status=ix.status.value,
                )
            for check in self._hooks.before_end:  # END-1: not while held
                check(ix, agent_id)
            await self.finish(ix, EndCause.AGENT_END)
            return ix

        result: Interaction = await self._serial.run(ix_id, job)
        return result

    # Asterisk events -----------------------------------------------------------------

    async def on_ari_event(self, event: Event) -> None:
        """Called in Asterisk's order for every event; hands work to the
        interaction's serializer and returns at once."""
        kind = str(event.get("type"))
        for observer in self._hooks.observers.get(kind, ()):
            observer(event)
        channel = event.get("channel") or {}
        channel_id = channel.get("id")
        if not channel_id:
            return
        if kind == "StasisStart":
            args = [str(a) for a in event.get("args") or []]
            if len(args) >= 2 and args[0] == "inbound":  # IN-1: a customer called in
                new_id = ix_rules.new_interaction_id()
                self._interactions.track(channel_id, new_id)
                self._serial.submit(new_id, partial(self._inbound, new_id, channel, args[1]))
                return
            # A leg we placed answered: what it is for, and its interaction.
            answered = self._hooks.answered.get(args[0]) if len(args) >= 2 else None
            if answered is not None:
                self._serial.submit(args[1], partial(answered, args[1], channel_id))
                return
            log.warning("StasisStart with unknown arguments %r: hanging up", args)
            self._tasks.spawn(f"hangup:{channel_id}", self._ari.hangup(channel_id))
            return
        if kind in ("StasisEnd", "ChannelDestroyed"):
            ix_id = self._interactions.owner_of_leg(channel_id)
            if ix_id is None:
                return
            cause = int(event.get("cause") or 0)
            self._serial.submit(ix_id, partial(self.leg_gone, ix_id, channel_id, kind, cause))

    async def reconcile(self) -> None:
        """After every (re)connection of the event stream: events missed meanwhile
        are not replayed, so compare Redis with what Asterisk still has."""
        channels = await self._ari.channels()
        live = {c["id"] for c in channels}
        states = {c["id"]: c.get("state", "") for c in channels}
        await self._routing.resync_devices()
        for ix_id in await self._store.active_interactions():
            ix = await self._store.interaction(ix_id)
            if ix is None or ix.status is Status.ENDED:
                continue
            for channel_id in (ix.customer_channel, ix.agent_channel):
                if channel_id:
                    self._interactions.track(channel_id, ix.id)
            for reconcile in self._hooks.reconcile_interaction:  # TR, CO: further legs
                await reconcile(ix, states)
            # (a callback has no customer leg until its customer is dialled)
            if ix.customer_channel and ix.customer_channel not in live:
                self._serial.submit(ix.id, partial(self._lost, ix.id))
            elif ix.status is Status.RINGING:
                self._serial.submit(ix.id, partial(self._routing.withdraw_offer, ix.id))
            elif ix.status is Status.DIALING and ix.agent_channel and ix.agent_channel not in live:
                self._serial.submit(
                    ix.id, partial(self.leg_gone, ix.id, ix.agent_channel, "reconcile", 0)
                )
        for reconcile_all in self._hooks.reconcile:  # SUP-5: monitors, whispers, barges
            await reconcile_all(live, states)

    # The call path -------------------------------------------------------------------

    async def _inbound(self, ix_id: str, channel: dict[str, Any], dnis: str) -> None:
        """IN-1: a customer called an entry point: run its flow and queue the call."""
        channel_id = str(channel["id"])
        found = self._config.entry_point_by_number(dnis)
        if found is None or self._config.tenants[found[0]].datacenter != (
            self._config.service.datacenter
        ):
            log.info("call to unknown entry point %s: rejected", dnis)
            self._interactions.untrack(channel_id)
            await self._ari.hangup(channel_id, reason="unallocated")
            return
        tenant_id, entry_id, entry = found
        tenant = self._config.tenants[tenant_id]
        queue = tenant.queues[entry.queue]
        caller = channel.get("caller") or {}
        ix = Interaction(
            id=ix_id,
            tenant=tenant_id,
            direction=Direction.INBOUND,
            label=entry.label,
            ani=str(caller.get("number") or "anonymous"),
            dnis=dnis,
            entry_point=entry_id,
            flow=entry.flow,
            queue=entry.queue,
            queue_name=queue.name,
            node=self._node.name,
            customer_channel=channel_id,
        )
        # Admitted, saved, indexed by its channel, with its flow's variables
        # (CAD-1) and in its queue, in one atomic step: recoverable from here
        # on (REL-2); a refused call leaves nothing behind.
        def created(pipe: Batch) -> None:
            for hook in self._hooks.created:
                hook(ix, pipe)

        # The routing step goes behind the admission, in its round trip (IN-3).
        saving = self._store.saving(ix, new_channel=channel_id, enqueue=True, also=created)
        route = self._routing.behind_admission(tenant_id, ix.id)
        try:
            await self._limits.admit(ix, writes=saving, route=route)
        except RuleViolation as refused:
            # LIM-2: refused at the entry point, before any queue.
            log.info("inbound call to %s refused: %s", dnis, refused.message)
            self._interactions.untrack(channel_id)
            await self._ari.hangup(channel_id, reason="congestion")
            await self._notifier.publish(
                "interaction.refused", tenant_id, {**ix.public(), **refused.details}
            )
            return
        # Admitted: the customer is answered and hears music on hold beside
        # the rest (routing, ringing the agent); the bridging step waits for it.
        self._customer_media.start(ix.id, self._answer_customer(ix.id, channel_id))
        log.info("interaction %s queued in %s/%s from %s", ix.id, tenant_id, ix.queue, ix.ani)
        queued = ix.public()
        self._tasks.spawn(
            f"queued:{ix.id}",
            self._notifier.deferred(
                [interaction_key(ix.id)],
                partial(self._notifier.publish, "interaction.queued", tenant_id, queued),
            ),
        )

    async def _answer_customer(self, ix_id: str, channel_id: str) -> bool:
        """IN-1: answer the customer and start music on hold. A customer gone
        before that ends the call: the call may be queued already, and a
        routing step (of any replica) may have reserved an agent for it or
        rung their phone meanwhile, whom its end frees (END-2, LIM-3)."""
        try:
            await self._ari.answer(channel_id)
            await self._ari.start_moh(channel_id, self._node.moh_class)
        except AriError as exc:
            log.info("customer channel %s gone before it was answered: %s", channel_id, exc)
            self._serial.submit(ix_id, partial(self._unanswered, ix_id))
            return False
        return True

    async def _unanswered(self, ix_id: str) -> None:
        ix = await self._store.interaction(ix_id)
        if ix is not None and ix.status is not Status.ENDED:
            await self.finish(ix, EndCause.ABANDONED)

    async def _customer_ready(self, ix_id: str) -> bool:
        """The customer's answer and music on hold are done (False: they failed,
        the customer is gone). True when this replica did not start them."""
        return await self._customer_media.outcome(ix_id) is not False

    async def _agent_answered(self, ix_id: str, channel_id: str) -> None:
        """IN-2: the agent answered: bridge customer and agent."""
        ix = await self._store.interaction(ix_id)
        if (
            ix is None
            or ix.status is not Status.RINGING
            or ix.agent_channel != channel_id
            or ix.agent is None
        ):
            log.info("agent leg %s answered an offer that no longer stands", channel_id)
            await self._ari.hangup(channel_id)
            return
        if not await self._customer_ready(ix.id):
            await self.finish(ix, EndCause.ABANDONED)  # the reserved agent is freed
            return
        for taker in self._hooks.agent_answered:  # OD-4, CB-2: dial the customer first
            if await taker(ix, channel_id):
                return
        agent_id = ix.agent
        change = agent_rules.system_transition(AgentState.RESERVED, Trigger.ANSWER)
        if not await self._agents.apply(
            ix.tenant,
            agent_id,
            change,
            offer=ix.id,
            fields={"offer": "", "interaction": ix.id},
            event_beside=True,  # (the bridging need not wait for it)
            interaction=ix.id,
        ):
            await self._ari.hangup(channel_id)
            return
        await self.bridge_and_connect(ix, channel_id)

    async def bridge_and_connect(self, ix: Interaction, agent_channel: str) -> None:
        """IN-2: put the customer and the agent's leg in the interaction's mixing
        bridge; the interaction is `connected` from now on. (An offered call's
        bridge was created beside the ringing of the agent's phone.)"""
        if not await self._customer_ready(ix.id):
            await self.finish(ix, EndCause.ABANDONED)
            return
        try:
            created = await self._bridges.created(ix.id)
            if ix.bridge is None or created is False:
                # (a transferred call keeps its bridge and recording)
                recorded = self._hooks.recorded(ix.tenant, ix.queue, ix.agent or "")
                ix.bridge = ix.bridge or bridge_rules.first_bridge(ix.id, recorded)
                await self._bridges.create(ix.id, ix.bridge)
            if ix.recording is Recording.OFF:
                for connecting in self._hooks.connecting:  # REC-1: the recorder joins first
                    await connecting(ix)
            await self._bridges.add_from_music(ix.bridge, ix.customer_channel, agent_channel)
        except AriError as exc:
            log.warning("bridging %s failed: %s", ix.id, exc)
            await self.finish(ix, EndCause.SYSTEM)
            return
        ix_rules.connect(ix, now_ms())
        await self._store.save_interaction(ix)
        log.info("interaction %s connected to agent %s", ix.id, ix.agent)
        await self._notifier.publish(
            "interaction.connected", ix.tenant, ix.public(), agent=ix.agent
        )

    async def customer_answered(self, ix_id: str, channel_id: str) -> Interaction | None:
        """CB-3, OD-4: the dialled customer answered: bridge them with the
        waiting agent, who is `connected` now. The interaction when it is
        connected; None when the attempt no longer stood (the leg is hung up)
        or connecting failed (the interaction has ended)."""
        ix = await self._store.interaction(ix_id)
        if (
            ix is None
            or ix.status is not Status.DIALING
            or ix.customer_channel != channel_id
            or ix.agent is None
            or ix.agent_channel is None
        ):
            log.info("customer leg %s answered an attempt that no longer stands", channel_id)
            await self._legs.hang_up(channel_id)
            return None
        try:
            await self._ari.stop_ringing(ix.agent_channel)
        except AriError as exc:
            log.info("stopping ringback on %s: %s", ix.agent_channel, exc)
        await self.bridge_and_connect(ix, ix.agent_channel)
        if ix.end_cause is not None:
            return None  # bridging failed: the interaction ended and the agent is free
        change = agent_rules.system_transition(AgentState.RESERVED, Trigger.ANSWER)
        if not await self._agents.apply(
            ix.tenant,
            ix.agent,
            change,
            offer=ix.id,
            fields={"offer": "", "interaction": ix.id},
            interaction=ix.id,
        ):
            log.warning("interaction %s: agent %s changed state meanwhile", ix.id, ix.agent)
            await self.finish(ix, EndCause.SYSTEM)
            return None
        return ix

    async def leg_gone(self, ix_id: str, channel_id: str, kind: str, cause: int) -> None:
        """A leg of the interaction left the Stasis app or was destroyed (or,
        after a reconnection, was found gone)."""
        self._interactions.untrack(channel_id)
        ix = await self._store.interaction(ix_id)
        if ix is None or ix.status is Status.ENDED:
            await self._store.forget_channel(channel_id)
            return
        # SUP, CO, TR, OD, CB: a leg of a feature, a number that took the call
        # over, the customer leaving while a transfer rings, a customer dialled
        for claim in self._hooks.leg_gone:
            if await claim(ix, channel_id, cause):
                await self._store.forget_channel(channel_id)
                return
        if channel_id == ix.customer_channel:
            if ix.status is Status.CONNECTED:
                await self.finish(ix, EndCause.CUSTOMER_HANGUP)
            else:
                await self.finish(ix, EndCause.ABANDONED)
        elif channel_id == ix.agent_channel and ix.agent is not None:
            if ix.status is Status.RINGING:
                reason = hangup.ring_outcome(cause)
                log.info(
                    "agent %s did not take %s (%s, cause %s %s)",
                    ix.agent,
                    ix.id,
                    kind,
                    cause,
                    hangup.cause_text(cause),
                )
                await self._routing.offer_failed(ix, ix.agent, reason)
            elif ix.status is Status.CONNECTED:
                await self.finish(ix, EndCause.AGENT_HANGUP)
        await self._store.forget_channel(channel_id)

    async def _lost(self, ix_id: str) -> None:
        """REL-2: the customer's channel is gone and nobody saw it go (Asterisk
        restarted, or events were missed): close the interaction with that cause;
        the agent moves on as after any end."""
        ix = await self._store.interaction(ix_id)
        if ix is not None and ix.status is not Status.ENDED:
            log.warning("interaction %s lost its customer channel unseen", ix.id)
            await self.finish(ix, EndCause.LOST)

    async def finish(self, ix: Interaction, cause: EndCause) -> None:
        """End an interaction: tear down what Asterisk still has of it, free or
        move the agent on (END-2), and keep the record."""
        was = ix.status
        if not ix_rules.end(ix, cause, now_ms()):
            return
        if was is Status.QUEUED:
            await self._store.dequeue(ix)
        await self._limits.release(ix)  # LIM-3
        freed = False
        for ending in self._hooks.ending:  # REC-1, END-2, CO-6, CF-7, SUP-5
            freed |= await ending(ix, was)
        await self._store.save_interaction(ix)
        self._customer_media.forget(ix.id)
        # Both legs and the bridge are torn down together (each failure is
        # logged where it happens; a hang-up Asterisk did not confirm is
        # tried again in the background).
        await asyncio.gather(
            self._legs.hang_up(ix.customer_channel),
            self._legs.hang_up(ix.agent_channel),
            self._bridges.destroy(ix),
        )
        if ix.agent is not None:
            await self._release_agent(ix, was)
        if freed:
            await self._routing.dispatch(ix.tenant)
        log.info("interaction %s ended: %s", ix.id, cause.value)
        metrics.call_ended(ix.tenant, cause.value)
        await self._notifier.publish("interaction.ended", ix.tenant, ix.public(), agent=ix.agent)

    async def _release_agent(self, ix: Interaction, was: Status) -> None:
        """The interaction's agent after its end: in wrap-up after a connected
        call, else free again at their old place (not connected yet)."""
        assert ix.agent is not None
        if was in (Status.RINGING, Status.DIALING):
            for released in self._hooks.agent_released:  # OD-5: back to the state before
                if await released(ix, was):
                    return
            change = agent_rules.system_transition(
                AgentState.RESERVED, Trigger.OFFER_WITHDRAWN, AgentState.AVAILABLE
            )
            if await self._agents.apply(
                ix.tenant,
                ix.agent,
                change,
                offer=ix.id,
                keep_available_since=True,
                fields={"offer": ""},
                interaction=ix.id,
            ):
                await self._routing.dispatch(ix.tenant)
        elif was is Status.CONNECTED:
            await self._wrapup.enter(ix, ix.agent)  # END-2
