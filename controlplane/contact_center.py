"""The contact center: applies the rules of `controlplane.domain` to what
happens in Asterisk (Stasis events) and to what agents ask for (API actions).

Everything about one interaction runs in order through a per-interaction
serializer; shared state lives in Redis so that any replica can take over.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from redis.exceptions import RedisError

from controlplane import browser_phone, metrics
from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.adapters.store import AgentRecord, Store
from controlplane.browser_phone import browser_phone_for
from controlplane.callbacks import Callbacks
from controlplane.campaigns import Campaigns
from controlplane.config import Config, Tenant
from controlplane.consult import ConsultService
from controlplane.domain import agent as agent_rules
from controlplane.domain import consult as consult_rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.consult import Action as ConsultAction
from controlplane.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    RuleViolation,
    Unavailable,
)
from controlplane.domain.interaction import (
    Direction,
    EndCause,
    Interaction,
    Kind,
    Recording,
    Status,
    now_ms,
)
from controlplane.domain.limits import SLOT_LEASE_MS, LimitCode, LimitReached
from controlplane.legs import LegDialer
from controlplane.media import MediaService
from controlplane.notifier import Notifier
from controlplane.outbound import Outbound
from controlplane.supervision import Supervision
from controlplane.tasks import KeyedSerializer, TaskGroup
from controlplane.timers import Timers
from controlplane.transfers import TransferService
from controlplane.variables import CallVariables

log = logging.getLogger(__name__)


# Hang-up causes of an agent leg that mean the agent did not take the offer.
_CAUSE_TEXT = {
    16: "normal clearing",
    17: "busy",
    18: "no user responding",
    19: "no answer",
    21: "call rejected",
}


class ContactCenter:
    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        ari: AriClient,
        notifier: Notifier,
        tasks: TaskGroup,
        timers: Timers,
    ) -> None:
        self.config = config
        self.store = store
        self.ari = ari
        self.notifier = notifier
        self.tasks = tasks
        self.timers = timers
        self.serial = KeyedSerializer(tasks)
        self.node = config.datacenter.asterisk[0]
        # channel id -> interaction id, for the channels this replica has seen
        self._channels: dict[str, str] = {}
        self.media = MediaService(self)  # hold, recording, auto wrap-up
        self.variables = CallVariables(config, store, notifier)  # CAD
        self.legs = LegDialer(self)  # further legs: consulted, transfer targets, customers
        self.callbacks = Callbacks(self)  # CB-1..CB-3
        self.outbound = Outbound(self)  # OD-1..OD-8, HI-2, CB-4
        self.transfers = TransferService(self)  # TR-1..TR-7
        self.consults = ConsultService(self)  # CO-1..CO-6, CF-1..CF-7
        self.supervision = Supervision(self)  # SUP-1..SUP-6
        notifier.hooks.append(self.supervision.count_event)
        # The legs the control plane places, by the purpose their StasisStart
        # names: who handles the answer.
        self._answered: dict[str, Callable[[str, str], Awaitable[None]]] = {
            "agent": self._agent_answered,  # IN-2; CB-2 and OD-4 from there
            "outbound": self.outbound.customer_answered,  # OD-4: an outdial's customer
            "customer": self.callbacks.customer_answered,  # CB-3: a callback's customer
            "consult": self.consults.leg_answered,  # CO-3: the consulted party
            "transfer": self.transfers.leg_answered,  # TR-2, TR-5: the target
            "supervisor": self.supervision.leg_answered,  # SUP-5: the supervisor's phone
            "snoop": self.supervision.snoop_started,  # SUP-5: a snoop on the agent's leg
        }
        self.campaigns = Campaigns(self)  # PC-1..PC-4

    # Look-ups ------------------------------------------------------------------------

    def tenant(self, tenant_id: str) -> Tenant:
        try:
            return self.config.tenants[tenant_id]
        except KeyError:
            raise NotFound(f"unknown tenant {tenant_id!r}") from None

    def _agent_cfg(self, tenant_id: str, agent_id: str) -> Any:
        tenant = self.tenant(tenant_id)
        cfg = tenant.agents.get(agent_id)
        if cfg is None:
            raise NotFound(f"unknown agent {agent_id!r}", agent=agent_id)
        return cfg

    async def agent(self, tenant_id: str, agent_id: str) -> AgentRecord:
        self._agent_cfg(tenant_id, agent_id)
        return await self.store.agent(tenant_id, agent_id)

    async def interaction(self, tenant_id: str, ix_id: str) -> Interaction:
        ix = await self.store.interaction(ix_id) if re.fullmatch(r"[0-9a-f]{32}", ix_id) else None
        if ix is None or ix.tenant != tenant_id:
            raise NotFound(f"unknown interaction {ix_id!r}", interaction=ix_id)
        return ix

    # Agent state ---------------------------------------------------------------------

    async def _apply(
        self,
        tenant_id: str,
        agent_id: str,
        change: Transition,
        *,
        offer: str | None = None,
        keep_available_since: bool = False,
        fields: dict[str, str] | None = None,
        **event_extra: Any,
    ) -> bool:
        """Apply a checked transition atomically; publish it if it took effect."""
        team = self._agent_cfg(tenant_id, agent_id).team
        at = now_ms()
        applied, _, seq = await self.store.transition_agent(
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
            await self.notifier.agent_state(tenant_id, agent_id, change, at, seq, **event_extra)
        return applied

    async def login(self, tenant_id: str, agent_id: str, extension: str) -> AgentRecord:
        cfg = self._agent_cfg(tenant_id, agent_id)
        allowed = {cfg.extension}
        with contextlib.suppress(RuleViolation):  # (PH-1: the agent has no browser phone)
            allowed.add(browser_phone_for(self.config, tenant_id, agent_id)[0])
        if extension not in allowed:
            raise InvalidInput(
                f"extension {extension!r} is not the extension of agent {agent_id!r}",
                rule="ST-1",
                field="extension",
            )
        current = await self.store.agent(tenant_id, agent_id)
        change = agent_rules.login(current.state)
        if not await self._apply(tenant_id, agent_id, change, fields={"extension": extension}):
            raise InvalidTransition("the agent's state changed meanwhile; try again", rule="ST-1")
        return await self.store.agent(tenant_id, agent_id)

    async def change_state(
        self, tenant_id: str, agent_id: str, wanted: AgentState, reason: str | None
    ) -> AgentRecord:
        tenant = self.tenant(tenant_id)
        current = await self.agent(tenant_id, agent_id)
        change = agent_rules.change_by_agent(current.state, wanted, reason, tenant.idle_reasons)
        fields = {"extension": ""} if change.state is AgentState.LOGGED_OUT else None
        if not await self._apply(tenant_id, agent_id, change, fields=fields):
            raise InvalidTransition("the agent's state changed meanwhile; try again", rule="ST-1")
        if change.state is AgentState.AVAILABLE:
            await self.dispatch(tenant_id)
        return await self.store.agent(tenant_id, agent_id)

    async def wrap_up(
        self, tenant_id: str, agent_id: str, ix_id: str, reason: str, *, by_system: bool = False
    ) -> AgentRecord:
        """END-2: the agent applies one of the tenant's wrap-up reasons (or the
        system its reserved one: auto wrap-up)."""
        tenant = self.tenant(tenant_id)
        if not by_system:
            ix_rules.require_wrap_up_reason(reason, tenant.wrap_up_reasons)

        async def job() -> AgentRecord:
            ix = await self.interaction(tenant_id, ix_id)
            current = await self.agent(tenant_id, agent_id)
            self.consults.refuse_consulted(ix, agent_id, ConsultAction.WRAP_UP)  # CO-5
            # TR-6: the agent's own part in the call counts, not who has it now
            # (an agent who transferred it wraps up while it goes on)
            if current.interaction != ix.id:
                raise RuleViolation("this interaction is not in the agent's wrap-up", rule="END-2")
            change = None
            if ix.direction is Direction.OUTBOUND:  # OD-7
                change = await self.outbound.after_wrap_up(ix, agent_id, current.state)
            if change is None:
                change = agent_rules.finish_wrap_up(current.state, tenant.after_wrap_up.value)
            if ix.agent == agent_id:
                ix.wrap_up_reason = reason
            ix.wrap_ups[agent_id] = reason
            await self.store.save_interaction(ix)
            if not await self._apply(
                tenant_id, agent_id, change, fields={"interaction": ""}, interaction=ix.id
            ):
                raise InvalidTransition("the agent's state changed meanwhile", rule="END-2")
            await self.store.add_history(tenant_id, agent_id, ix.id)
            await self.notifier.publish(
                "interaction.wrapped_up", tenant_id, ix.public(), agent=agent_id
            )
            return await self.store.agent(tenant_id, agent_id)

        record: AgentRecord = await self.serial.run(ix_id, job)
        if record.state is AgentState.AVAILABLE:
            await self.dispatch(tenant_id)
        return record

    async def end(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        """END-1: the agent ends the call."""

        async def job() -> Interaction:
            ix = await self.interaction(tenant_id, ix_id)
            if ix.agent != agent_id:
                raise RuleViolation("the agent is not on this interaction", rule="END-1")
            if ix.status is not Status.CONNECTED:
                raise InvalidTransition(
                    f"only a connected call can be ended (it is {ix.status.value})",
                    rule="END-1",
                    status=ix.status.value,
                )
            self.media.require_may_end(ix)
            await self._finish(ix, EndCause.AGENT_END)
            return ix

        result: Interaction = await self.serial.run(ix_id, job)
        return result

    # Routing -------------------------------------------------------------------------

    def _queue_specs(self, tenant: Tenant) -> list[tuple[str, int, tuple[str, ...]]]:
        return [(qid, q.priority, q.teams) for qid, q in tenant.queues.items()]

    async def dispatch(self, tenant_id: str) -> None:
        """Offer waiting calls to available agents until one side runs out (IN-3)."""
        tenant = self.tenant(tenant_id)
        specs = self._queue_specs(tenant)
        while True:
            res = await self.store.reserve_next(tenant_id, specs, now_ms())
            if res is None:
                return
            ix_id, agent_id = res.interaction, res.agent
            change = agent_rules.system_transition(AgentState.AVAILABLE, Trigger.OFFER)
            if consult_rules.is_consult_request(ix_id):  # CO-1: a queue consult's agent
                owner = consult_rules.request_owner(ix_id)
                await self.notifier.agent_state(
                    tenant_id, agent_id, change, now_ms(), res.seq, interaction=owner
                )
                job = partial(self.consults.queue_offer, tenant_id, ix_id, agent_id)
                self.serial.submit(owner, job)
                continue
            await self.notifier.agent_state(
                tenant_id, agent_id, change, now_ms(), res.seq, interaction=ix_id
            )
            self.serial.submit(ix_id, partial(self._offer, ix_id, agent_id))

    async def _offer(self, ix_id: str, agent_id: str) -> None:
        """IN-1: ring the reserved agent's phone and show the offer on the desktop."""
        ix = await self.store.interaction(ix_id)
        if ix is None or ix.status is not Status.RINGING or ix.agent != agent_id:
            log.info("offer of %s to %s no longer stands", ix_id, agent_id)
            await self._release_reservation(ix, ix_id, agent_id)
            return
        tenant = self.tenant(ix.tenant)
        queue = tenant.queues[ix.queue]
        channel_id = ix_rules.leg_id(ix.id, "a", ix.offers)
        ix.agent_channel = channel_id
        await self.store.save_interaction(ix, new_channel=channel_id)
        self._channels[channel_id] = ix.id
        endpoint = await self.legs.agent_endpoint(ix.tenant, agent_id)
        try:
            await self.ari.originate(
                endpoint,
                channel_id=channel_id,
                app_args=f"agent,{ix.id}",
                caller_id=ix_rules.caller_id(ix.label, ix.ani),
                timeout=queue.max_ring_seconds,
                variables={"CP_INTERACTION": ix.id},
            )
        except AriError as exc:
            log.warning("cannot ring agent %s at %s: %s", agent_id, endpoint, exc)
            await self._offer_failed(ix, agent_id, "device_unreachable")
            return
        metrics.offer_made(ix.tenant, ix.queue)
        payload = ix_rules.offer(ix, await self.variables.for_offer(ix))
        await self.notifier.publish(
            "interaction.offered", ix.tenant, payload, agent=agent_id, private=True
        )

    async def _release_reservation(self, ix: Interaction | None, ix_id: str, agent_id: str) -> None:
        """An offer that cannot be made: give the agent back their place."""
        tenant_id = ix.tenant if ix else None
        if tenant_id is None:
            return
        change = agent_rules.system_transition(AgentState.RESERVED, Trigger.OFFER_WITHDRAWN)
        if await self._apply(
            tenant_id,
            agent_id,
            change,
            offer=ix_id,
            keep_available_since=True,
            fields={"offer": ""},
        ):
            await self.dispatch(tenant_id)

    async def _offer_failed(self, ix: Interaction, agent_id: str, reason: str) -> None:
        """RONA-1: the agent did not take the offer. The call goes back to its queue
        ahead of later calls; the agent goes to `rona`; the next agent is tried."""
        tenant_id = ix.tenant
        metrics.rona(tenant_id, ix.queue, reason)
        await self.store.enqueue(ix)
        ix.status, ix.agent, ix.agent_channel = Status.QUEUED, None, None
        change = agent_rules.transition(AgentState.RESERVED, Trigger.RING_NO_ANSWER, reason=reason)
        if await self._apply(
            tenant_id, agent_id, change, offer=ix.id, fields={"offer": ""}, interaction=ix.id
        ):
            await self.notifier.publish(
                "interaction.offer_withdrawn",
                tenant_id,
                {"interaction_id": ix.id, "reason": reason, "choices": ["available", "idle"]},
                agent=agent_id,
            )
        await self.dispatch(tenant_id)

    async def _lost(self, ix_id: str) -> None:
        """REL-2: the customer's channel is gone and nobody saw it go (Asterisk
        restarted, or events were missed): close the interaction with that cause;
        the agent moves on as after any end."""
        ix = await self.store.interaction(ix_id)
        if ix is not None and ix.status is not Status.ENDED:
            log.warning("interaction %s lost its customer channel unseen", ix.id)
            await self._finish(ix, EndCause.LOST)

    async def _withdraw_offer(self, ix_id: str) -> None:
        """REL-1: an offer still ringing when the event stream was (re)connected
        may have been answered while nobody listened. Withdraw it cleanly and
        requeue the call; the agent is not to blame (available again, same place)."""
        ix = await self.store.interaction(ix_id)
        if ix is None or ix.status is not Status.RINGING or ix.agent is None:
            return
        if ix.direction is Direction.OUTBOUND:  # OD-5: an outbound attempt is not requeued
            await self.outbound.lost(ix)
            return
        agent_id, channel_id = ix.agent, ix.agent_channel
        await self.store.enqueue(ix)
        ix.status, ix.agent, ix.agent_channel = Status.QUEUED, None, None
        change = agent_rules.system_transition(AgentState.RESERVED, Trigger.OFFER_WITHDRAWN)
        if await self._apply(
            ix.tenant,
            agent_id,
            change,
            offer=ix.id,
            keep_available_since=True,
            fields={"offer": ""},
            interaction=ix.id,
        ):
            await self.notifier.publish(
                "interaction.offer_withdrawn",
                ix.tenant,
                {"interaction_id": ix.id, "reason": "service_takeover", "choices": []},
                agent=agent_id,
            )
        if channel_id:
            try:
                await self.ari.hangup(channel_id)
            except AriError as exc:
                log.warning("withdrawn offer's leg %s: %s", channel_id, exc)
        log.info("offer of %s to %s withdrawn after reconnection; requeued", ix.id, agent_id)
        await self.dispatch(ix.tenant)

    # Asterisk events -----------------------------------------------------------------

    async def on_ari_event(self, event: Event) -> None:
        """Called in Asterisk's order for every event; hands work to the
        interaction's serializer and returns at once."""
        kind = event.get("type")
        if kind in Callbacks.EVENTS:
            self.callbacks.on_ari_event(event)
        if kind == "Dial":  # how the legs we placed are doing (busy, no answer, ...)
            self.legs.on_dial(event)
        channel = event.get("channel") or {}
        channel_id = channel.get("id")
        if not channel_id:
            return
        if kind == "StasisStart":
            args = [str(a) for a in event.get("args") or []]
            if len(args) >= 2 and args[0] == "inbound":  # IN-1: a customer called in
                new_id = ix_rules.new_interaction_id()
                self._channels[channel_id] = new_id
                self.serial.submit(new_id, partial(self._inbound, new_id, channel, args[1]))
                return
            # A leg we placed answered: what it is for, and its interaction.
            answered = self._answered.get(args[0]) if len(args) >= 2 else None
            if answered is not None:
                self.serial.submit(args[1], partial(answered, args[1], channel_id))
                return
            log.warning("StasisStart with unknown arguments %r: hanging up", args)
            self.tasks.spawn(f"hangup:{channel_id}", self.ari.hangup(channel_id))
            return
        if kind in ("StasisEnd", "ChannelDestroyed"):
            ix_id = self._channels.get(channel_id)
            if ix_id is None:
                ix_id = ix_rules.leg_interaction(channel_id)
                if ix_id is None:
                    return
            cause = int(event.get("cause") or 0)
            self.serial.submit(ix_id, partial(self._leg_gone, ix_id, channel_id, kind, cause))

    def channel_owner(self, channel_id: str) -> str | None:
        """The interaction this replica took a channel for (from its
        StasisStart on, before the interaction's record is saved)."""
        return self._channels.get(channel_id)

    async def reconcile(self) -> None:
        """After every (re)connection of the event stream: events missed meanwhile
        are not replayed, so compare Redis with what Asterisk still has."""
        channels = await self.ari.channels()
        live = {c["id"] for c in channels}
        states = {c["id"]: c.get("state", "") for c in channels}
        await self.resync_devices()
        for ix_id in await self.store.active_interactions():
            ix = await self.store.interaction(ix_id)
            if ix is None or ix.status is Status.ENDED:
                continue
            for channel_id in (ix.customer_channel, ix.agent_channel):
                if channel_id:
                    self._channels[channel_id] = ix.id
            await self.consults.reconcile(ix, states)  # TR, CO: consult and transfer legs
            # (a callback has no customer leg until its customer is dialled)
            if ix.customer_channel and ix.customer_channel not in live:
                self.serial.submit(ix.id, partial(self._lost, ix.id))
            elif ix.status is Status.RINGING:
                self.serial.submit(ix.id, partial(self._withdraw_offer, ix.id))
            elif ix.status is Status.DIALING and ix.agent_channel and ix.agent_channel not in live:
                self.serial.submit(
                    ix.id, partial(self._leg_gone, ix.id, ix.agent_channel, "reconcile", 0)
                )
        await self.supervision.reconcile(live, states)  # SUP-5: monitors, whispers, barges

    async def resync_devices(self) -> None:
        """ST-4: which agent phones are off-hook right now, read afresh from
        Asterisk; tenants with a phone that turned out idle are dispatched."""
        freed: set[str] = set()
        for endpoint in await self.ari.endpoints("PJSIP"):
            extension = endpoint.get("resource", "")
            busy = bool(endpoint.get("channel_ids"))
            found = self.config.agent_by_extension(extension)
            if found is not None:
                tenant = found[0]
            else:
                # PH-1: a browser phone that is not registered gets no offer
                browser = browser_phone.agent_by_browser_extension(self.config, extension)
                if browser is None:
                    continue
                tenant = browser[0]
                busy = busy or endpoint.get("state") != "online"
            if await self.store.set_device_busy(extension, busy) and not busy:
                freed.add(tenant)
        for tenant in sorted(freed):
            await self.dispatch(tenant)

    async def admit(self, ix: Interaction) -> None:
        """LIM-1..3: take a concurrent-call slot for the interaction, or raise
        LimitReached (26 datacenter, 27 tenant). Without Redis nothing is
        admitted: refusing is safer than going over a limit."""
        tenant = self.tenant(ix.tenant)
        try:
            code = await self.store.admit(
                ix.id,
                ix.tenant,
                dc_limit=self.config.datacenter.max_concurrent_calls,
                tenant_limit=tenant.max_concurrent_calls,
                now=now_ms(),
                lease_ms=SLOT_LEASE_MS,
            )
        except RedisError as exc:
            raise Unavailable(f"admission is not possible right now: {exc}", rule="LIM-3") from exc
        metrics.admission(ix.tenant, code)
        if code:
            raise LimitReached(LimitCode(code))

    async def renew_slots(self) -> None:
        """Extend the slot leases of the interactions still going on."""
        await self.store.renew(await self.store.live_calls(), expiry=now_ms() + SLOT_LEASE_MS)

    async def _inbound(self, ix_id: str, channel: dict[str, Any], dnis: str) -> None:
        """IN-1: a customer called an entry point: run its flow and queue the call."""
        channel_id = str(channel["id"])
        found = self.config.entry_point_by_number(dnis)
        if found is None or self.config.tenants[found[0]].datacenter != (
            self.config.service.datacenter
        ):
            log.info("call to unknown entry point %s: rejected", dnis)
            self._channels.pop(channel_id, None)
            await self.ari.hangup(channel_id, reason="unallocated")
            return
        tenant_id, entry_id, entry = found
        tenant = self.config.tenants[tenant_id]
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
            node=self.node.name,
            customer_channel=channel_id,
        )
        try:
            await self.admit(ix)
        except RuleViolation as refused:
            # LIM-2: refused at the entry point, before any queue.
            log.info("inbound call to %s refused: %s", dnis, refused.message)
            self._channels.pop(channel_id, None)
            await self.ari.hangup(channel_id, reason="congestion")
            await self.notifier.publish(
                "interaction.refused", tenant_id, {**ix.public(), **refused.details}
            )
            return
        await self.variables.initialise(ix)
        await self.store.save_interaction(ix, new_channel=channel_id)
        try:
            await self.ari.answer(channel_id)
            await self.ari.start_moh(channel_id, self.node.moh_class)
        except AriError as exc:
            log.info("customer channel %s gone before queueing: %s", channel_id, exc)
            await self._finish(ix, EndCause.ABANDONED)
            return
        await self.store.enqueue(ix)
        log.info("interaction %s queued in %s/%s from %s", ix.id, tenant_id, ix.queue, ix.ani)
        await self.notifier.publish("interaction.queued", tenant_id, ix.public())
        await self.dispatch(tenant_id)

    async def _agent_answered(self, ix_id: str, channel_id: str) -> None:
        """IN-2: the agent answered: bridge customer and agent."""
        ix = await self.store.interaction(ix_id)
        if (
            ix is None
            or ix.status is not Status.RINGING
            or ix.agent_channel != channel_id
            or ix.agent is None
        ):
            log.info("agent leg %s answered an offer that no longer stands", channel_id)
            await self.ari.hangup(channel_id)
            return
        if ix.direction is Direction.OUTBOUND:  # OD-4: dial the customer now
            await self.outbound.agent_answered(ix, channel_id)
            return
        if ix.kind is Kind.CALLBACK:  # CB-2: dial the customer first
            await self.callbacks.agent_answered(ix, channel_id)
            return
        agent_id = ix.agent
        change = agent_rules.system_transition(AgentState.RESERVED, Trigger.ANSWER)
        if not await self._apply(
            ix.tenant,
            agent_id,
            change,
            offer=ix.id,
            fields={"offer": "", "interaction": ix.id},
            interaction=ix.id,
        ):
            await self.ari.hangup(channel_id)
            return
        await self._bridge_and_connect(ix, channel_id)

    async def _bridge_and_connect(self, ix: Interaction, agent_channel: str) -> None:
        """IN-2: put the customer and the agent's leg in the interaction's mixing
        bridge; the interaction is `connected` from now on."""
        try:
            if ix.bridge is None:  # (a transferred call keeps its bridge and recording)
                # proxy_media: phones hear Asterisk's own RTP stream, never one
                # relayed from another phone, whose sequence numbers would jump
                # when a consult moves the agent between bridges (CO-3, CF-1)
                await self.ari.create_bridge(
                    ix.id, name=f"ix-{ix.id}", kind=consult_rules.BRIDGE_TYPE
                )
                ix.bridge = ix.id
            if ix.recording is Recording.OFF:
                await self.media.connecting(ix)  # REC-1: the recorder joins first
            await self.ari.stop_moh(ix.customer_channel)
            await self.ari.add_to_bridge(ix.id, [ix.customer_channel, agent_channel])
        except AriError as exc:
            log.warning("bridging %s failed: %s", ix.id, exc)
            await self._finish(ix, EndCause.SYSTEM)
            return
        ix_rules.connect(ix, now_ms())
        await self.store.save_interaction(ix)
        log.info("interaction %s connected to agent %s", ix.id, ix.agent)
        await self.notifier.publish("interaction.connected", ix.tenant, ix.public(), agent=ix.agent)

    async def _leg_gone(self, ix_id: str, channel_id: str, kind: str, cause: int) -> None:
        self._channels.pop(channel_id, None)
        ix = await self.store.interaction(ix_id)
        if ix is None or ix.status is Status.ENDED:
            await self.store.forget_channel(channel_id)
            return
        # TR, CO: a consult or transfer leg, a number that took the call over,
        # or the customer leaving while a transfer rings
        if (
            await self.supervision.leg_gone(ix, channel_id)  # SUP-5
            or await self.consults.leg_gone(ix, channel_id, cause)
            or await self.transfers.leg_gone(ix, channel_id, cause)
        ):
            await self.store.forget_channel(channel_id)
            return
        if ix.direction is Direction.OUTBOUND and ix.status in (Status.RINGING, Status.DIALING):
            await self.outbound.leg_gone(ix, channel_id, cause)  # OD-5
            await self.store.forget_channel(channel_id)
            return
        if ix.status is Status.DIALING:  # CB-3: a callback's customer was being dialled
            await self.callbacks.leg_gone(ix, channel_id, cause)
            await self.store.forget_channel(channel_id)
            return
        if channel_id == ix.customer_channel:
            if ix.status is Status.CONNECTED:
                await self._finish(ix, EndCause.CUSTOMER_HANGUP)
            else:
                await self._finish(ix, EndCause.ABANDONED)
        elif channel_id == ix.agent_channel and ix.agent is not None:
            if ix.status is Status.RINGING:
                reason = "ring_no_answer" if cause in (0, 18, 19) else "declined"
                log.info(
                    "agent %s did not take %s (%s, cause %s %s)",
                    ix.agent,
                    ix.id,
                    kind,
                    cause,
                    _CAUSE_TEXT.get(cause, ""),
                )
                await self._offer_failed(ix, ix.agent, reason)
            elif ix.status is Status.CONNECTED:
                await self._finish(ix, EndCause.AGENT_HANGUP)
        await self.store.forget_channel(channel_id)

    async def _finish(self, ix: Interaction, cause: EndCause) -> None:
        """End an interaction: tear down what Asterisk still has of it, free or
        move the agent on (END-2), and keep the record."""
        was = ix.status
        if not ix_rules.end(ix, cause, now_ms()):
            return
        if was is Status.QUEUED:
            await self.store.dequeue(ix)
        await self.store.release(ix.id, ix.tenant)  # LIM-3
        await self.media.ended(ix, was)  # REC-1, END-2
        freed = await self.consults.finishing(ix)  # CO-6, CF-7: consult and transfer legs
        await self.supervision.interaction_ended(ix)  # SUP-5
        await self.store.save_interaction(ix)
        for channel_id in (ix.customer_channel, ix.agent_channel):
            await self.legs.hang_up(channel_id)
        if ix.bridge:
            try:
                await self.ari.destroy_bridge(ix.bridge)
            except AriError as exc:
                log.warning("destroying bridge %s failed: %s", ix.bridge, exc)
        if ix.agent is not None:
            if was in (Status.RINGING, Status.DIALING) and ix.direction is Direction.OUTBOUND:
                await self.outbound.release_agent(ix)  # OD-5: back to the state before
            elif was in (Status.RINGING, Status.DIALING):  # not connected yet: still reserved
                change = agent_rules.system_transition(AgentState.RESERVED, Trigger.OFFER_WITHDRAWN)
                if await self._apply(
                    ix.tenant,
                    ix.agent,
                    change,
                    offer=ix.id,
                    keep_available_since=True,
                    fields={"offer": ""},
                    interaction=ix.id,
                ):
                    await self.dispatch(ix.tenant)
            elif was is Status.CONNECTED:
                change = agent_rules.system_transition(AgentState.CONNECTED, Trigger.CALL_ENDED)
                await self._apply(ix.tenant, ix.agent, change, interaction=ix.id)
        if freed:
            await self.dispatch(ix.tenant)
        log.info("interaction %s ended: %s", ix.id, cause.value)
        metrics.call_ended(ix.tenant, cause.value)
        await self.notifier.publish("interaction.ended", ix.tenant, ix.public(), agent=ix.agent)
