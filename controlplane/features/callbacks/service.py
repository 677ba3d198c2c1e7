"""Callbacks (CB-1..CB-3): a flow (or a waiting caller) asks to be called
back instead of waiting; the callback waits in its queue like a call; the
agent who takes it hears ringback while the system dials the customer; the
customer answers and is connected like an inbound call, or is tried again
after the queue's spacing until the queue's retry limit.

The core calls in here through the hooks `plugin.py` registers (the agent
answered, a leg gone, DTMF and playback events); everything about one callback runs in the
interaction's serializer, like the rest of the interaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.adapters.store import Store
from controlplane.config import AsteriskNode, Config, EntryPoint, Tenant
from controlplane.core.agents import Agents
from controlplane.core.calls import Calls
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.routing import Routing
from controlplane.domain import callback as rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain.callback import GiveUp, Outcome
from controlplane.domain.errors import InvalidInput, RuleViolation
from controlplane.domain.interaction import (
    Direction,
    EndCause,
    Interaction,
    Kind,
    Status,
    caller_id,
    iso,
)
from controlplane.domain.values import Raw
from controlplane.features.variables.service import CallVariables
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer, TaskGroup
from controlplane.timers import Timers

log = logging.getLogger(__name__)

RETRY_TIMER = "callback.retry"  # key: interaction id
PROMPT_TIMER = "callback.prompt"  # key: channel id of a caller hearing the confirmation
PROMPT_MEDIA = "sound:auth-thankyou,sound:goodbye"  # "Thank you." "Goodbye."
PROMPT_MAX_SECONDS = 10  # the caller is hung up by then even if Asterisk never says done
_PROMPT_SUFFIX = "-cbprompt"

FAILED_EVENT = "interaction.callback_failed"


class Callbacks:
    """CB-1..CB-3 on top of the core's routing and bridging."""

    EVENTS = frozenset({"ChannelDtmfReceived", "PlaybackFinished"})

    def __init__(
        self,
        config: Config,
        *,
        node: AsteriskNode,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        tasks: TaskGroup,
        timers: Timers,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        routing: Routing,
        calls: Calls,
        variables: CallVariables,
        admit_callback: Callable[[Interaction], Awaitable[bool]],
    ) -> None:
        self._config = config
        self._node = node
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._tasks = tasks
        self._timers = timers
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._routing = routing
        self._calls = calls
        self._variables = variables
        self._admit_callback = admit_callback  # CB-4: the outdial limits (LIM-2)
        timers.on(RETRY_TIMER, self._retry_due)
        timers.on(PROMPT_TIMER, self._prompt_over)

    # CB-1: registering a callback -----------------------------------------------------

    async def request(
        self,
        tenant_id: str,
        *,
        number: str,
        queue: str,
        entry_point: str | None = None,
        label: str | None = None,
        dnis: str | None = None,
        variables: Mapping[str, Raw] | None = None,
    ) -> Interaction:
        """CB-1: a flow registers a callback; it is queued at once (CB-2)."""
        tenant = self._agents.tenant(tenant_id)
        if tenant.datacenter != self._config.service.datacenter:
            raise RuleViolation(
                f"tenant {tenant_id!r} is served by datacenter {tenant.datacenter!r}",
                rule=rules.RULE_REQUEST,
            )
        number = rules.callback_number(number)
        if queue not in tenant.queues:
            raise InvalidInput(
                f"unknown queue {queue!r}",
                rule=rules.RULE_REQUEST,
                field="queue",
                allowed=sorted(tenant.queues),
            )
        entry_id, entry = _entry_point(tenant, queue, entry_point)
        ix = Interaction(
            id=ix_rules.new_interaction_id(),
            tenant=tenant_id,
            direction=Direction.INBOUND,
            label=rules.label(label, entry.label),
            ani=number,
            dnis=rules.callback_number(dnis, field="dnis") if dnis is not None else entry.number,
            entry_point=entry_id,
            flow=entry.flow,
            queue=queue,
            queue_name=tenant.queues[queue].name,
            node=self._node.name,
            customer_channel="",
            kind=Kind.CALLBACK,
        )
        await self._variables.initialise(ix, variables)  # CAD: refuses bad values
        await self._queue(ix)
        log.info("callback %s requested in %s/%s", ix.id, tenant_id, queue)
        return ix

    async def _queue(self, ix: Interaction) -> None:
        """CB-2: into the queue's sorted set, scored by the time it was requested."""
        ix_rules.change_status(ix, Status.QUEUED)
        await self._store.save_interaction(ix)
        await self._store.enqueue(ix)
        await self._notifier.publish("interaction.queued", ix.tenant, ix.public())
        await self._routing.dispatch(ix.tenant)

    async def _caller_asks(self, ix_id: str, channel_id: str, digit: str) -> None:
        """CB-1: a caller waiting in a queue presses the queue's callback key:
        the call ends with a short confirmation and a callback takes its place
        in the queue (keeping the time the caller entered)."""
        ix = await self._store.interaction(ix_id)
        if (
            ix is None
            or ix.kind is not Kind.CALL
            or ix.status is not Status.QUEUED
            or ix.customer_channel != channel_id
        ):
            return
        tenant = self._agents.tenant(ix.tenant)
        queue = tenant.queues.get(ix.queue)
        if queue is None or queue.callback_key is None or digit != queue.callback_key:
            return
        number = rules.caller_number(ix.ani)
        if number is None:
            log.info("interaction %s: the caller's number cannot be called back", ix.id)
            return
        if not await self._store.dequeue(ix):
            return  # an agent was reserved for the call meanwhile: it goes on as a call
        callback = Interaction(
            id=ix_rules.new_interaction_id(),
            tenant=ix.tenant,
            direction=Direction.INBOUND,
            label=rules.label(None, ix.label),
            ani=number,
            dnis=ix.dnis,
            entry_point=ix.entry_point,
            flow=ix.flow,
            queue=ix.queue,
            queue_name=ix.queue_name,
            node=ix.node,
            customer_channel="",
            entered_at=ix.entered_at,
            kind=Kind.CALLBACK,
        )
        current = await self._variables.current(ix.id)
        await self._variables.initialise(callback, {n: s.value for n, s in current.items()})
        log.info("interaction %s: the caller asked for a callback: %s", ix.id, callback.id)
        # The call ends, but its channel stays up for the confirmation.
        ix.customer_channel = ""
        await self._calls.finish(ix, EndCause.CALLBACK_REQUESTED)
        await self._queue(callback)
        await self._confirm_and_hang_up(channel_id)

    async def _confirm_and_hang_up(self, channel_id: str) -> None:
        """The caller hears "Thank you. Goodbye." and is hung up."""
        await self._timers.schedule_in(PROMPT_TIMER, channel_id, PROMPT_MAX_SECONDS)
        try:
            await self._ari.stop_moh(channel_id)
            playback = channel_id + _PROMPT_SUFFIX
            await self._ari.play(channel_id, PROMPT_MEDIA, playback_id=playback)
        except AriError as exc:
            log.info("confirmation on %s not played: %s", channel_id, exc)
            await self._prompt_over(channel_id)

    async def _prompt_over(self, channel_id: str) -> None:
        await self._timers.cancel(PROMPT_TIMER, channel_id)
        await self._legs.hang_up(channel_id)

    # CB-2: the agent took the callback: dial the customer ---------------------------

    async def agent_answered(self, ix: Interaction, agent_channel: str) -> None:
        """CB-2: the agent answered the offer: the agent hears ringback while the
        system dials the customer. The agent stays `reserved` until the customer
        answers (CB-3)."""
        tenant = self._agents.tenant(ix.tenant)
        queue = tenant.queues[ix.queue]
        if not await self._admit_callback(ix):  # CB-4: over a limit (LIM-2)
            await self._not_reached(ix, Outcome.LIMIT_REACHED)  # not dialled: does not count
            return
        number = rules.callback_number(ix.ani)  # checked again: nothing else is dialled
        ix.attempts += 1
        try:
            await self._legs.dial_customer(
                ix,
                agent_channel,
                number=number,
                leg=rules.customer_leg_id(ix.id, ix.offers),
                purpose="customer",
                caller=caller_id(tenant.name, tenant.default_ani or ix.dnis),
                ring_seconds=queue.callback_ring_seconds,
            )
        except AriError as exc:
            log.warning("callback %s: cannot dial the customer: %s", ix.id, exc)
            await self._not_reached(ix, Outcome.FAILED)
            return
        log.info(
            "callback %s: dialling the customer (attempt %s) for agent %s",
            ix.id,
            ix.attempts,
            ix.agent,
        )

    # CB-3: the customer answers, or not ---------------------------------------------

    async def customer_answered(self, ix_id: str, channel_id: str) -> None:
        """CB-3: the customer answered: connect them with the agent like an
        inbound call (mixing bridge, all in-call features)."""
        self._legs.dial_status(channel_id)  # (answered: its dial status is done)
        await self._calls.customer_answered(ix_id, channel_id)

    async def leg_gone(self, ix: Interaction, channel_id: str, cause: int) -> None:
        """A leg of a callback ended while the customer was being dialled."""
        if channel_id == ix.customer_channel:
            result = rules.outcome(self._legs.dial_status(channel_id), cause)
            log.info("callback %s: customer not reached: %s (cause %s)", ix.id, result, cause)
            await self._not_reached(ix, result)
        elif channel_id == ix.agent_channel and ix.agent is not None:
            # The agent hung up before the customer answered: the attempt is
            # cancelled (it does not count), the callback goes back to its queue
            # at once and to the next agent; the agent is in `rona` like an
            # agent who did not take an offer.
            leg = ix.customer_channel
            ix.customer_channel = ""
            ix.attempts -= 1
            await self._store.save_interaction(ix)
            await self._store.release(ix.id, ix.tenant)  # CB-4: the attempt's slot
            log.info("callback %s: agent %s cancelled the attempt", ix.id, ix.agent)
            await self._legs.hang_up(leg)
            await self._routing.offer_failed(ix, ix.agent, "cancelled")

    async def _not_reached(self, ix: Interaction, result: Outcome) -> None:
        """CB-3: the customer did not answer: the agent is free again (keeping
        their place in line: nothing to wrap up) and the callback returns to its
        queue after the queue's spacing, or ends when its attempts are used up."""
        queue = self._agents.tenant(ix.tenant).queues[ix.queue]
        await self._store.release(ix.id, ix.tenant)  # CB-4: the attempt's slot
        ix.last_outcome = result.value
        decision = rules.after_failed_attempt(
            result, ix.attempts, queue.callback_retries, queue.callback_retry_seconds
        )
        agent = ix.agent
        failed: dict[str, object] = {
            "interaction_id": ix.id,
            "number": ix.ani,
            "attempt": ix.attempts,
            "outcome": result.value,
            "retry_at": None,
        }
        if isinstance(decision, GiveUp):
            log.info("callback %s ends: %s", ix.id, decision.why)
            await self._notifier.publish(FAILED_EVENT, ix.tenant, failed, agent=agent)
            await self._calls.finish(ix, EndCause.NOT_REACHED)
            return
        legs = (ix.customer_channel, ix.agent_channel)
        ix_rules.change_status(ix, Status.SCHEDULED)
        ix.agent, ix.agent_channel, ix.customer_channel = None, None, ""
        await self._store.save_interaction(ix)
        due = await self._timers.schedule_in(RETRY_TIMER, ix.id, decision.seconds)
        failed["retry_at"] = iso(due)
        log.info("callback %s: next attempt in %ss", ix.id, decision.seconds)
        for leg in legs:
            await self._legs.hang_up(leg)
        await self._notifier.publish(FAILED_EVENT, ix.tenant, failed, agent=agent)
        if agent is not None:
            await self._routing.release_reservation(ix, ix.id, agent)

    async def _retry_due(self, ix_id: str) -> None:
        self._serial.submit(ix_id, partial(self._requeue, ix_id))

    async def _requeue(self, ix_id: str) -> None:
        """CB-3: the spacing is over: the callback is back in its queue, at the
        place its request time gives it."""
        ix = await self._store.interaction(ix_id)
        if ix is None or ix.status is not Status.SCHEDULED:
            return
        log.info("callback %s is back in queue %s", ix.id, ix.queue)
        await self._queue(ix)

    # Asterisk events ----------------------------------------------------------------

    def on_ari_event(self, event: Event) -> None:
        """Called in Asterisk's order for the kinds in EVENTS; returns at once."""
        kind = event.get("type")
        if kind == "ChannelDtmfReceived":
            channel_id = (event.get("channel") or {}).get("id")
            ix_id = self._interactions.owner(channel_id or "")
            if channel_id and ix_id:
                job = partial(self._caller_asks, ix_id, channel_id, str(event.get("digit")))
                self._serial.submit(ix_id, job)
        elif kind == "PlaybackFinished":
            playback = event.get("playback") or {}
            target = str(playback.get("target_uri") or "")
            if str(playback.get("id", "")).endswith(_PROMPT_SUFFIX) and target.startswith(
                "channel:"
            ):
                channel_id = target.removeprefix("channel:")
                self._tasks.spawn(f"callback-prompt:{channel_id}", self._prompt_over(channel_id))


def _entry_point(tenant: Tenant, queue: str, given: str | None) -> tuple[str, EntryPoint]:
    """The entry point a callback stands for (its flow's variables, its DNIS):
    the one named, else the first one that feeds the queue."""
    if given is not None:
        entry = tenant.entry_points.get(given)
        if entry is None:
            raise InvalidInput(
                f"unknown entry point {given!r}",
                rule=rules.RULE_REQUEST,
                field="entry_point",
                allowed=sorted(tenant.entry_points),
            )
        return given, entry
    # the first entry point of the configuration that feeds the queue
    for entry_id in tenant.entry_points:
        if tenant.entry_points[entry_id].queue == queue:
            return entry_id, tenant.entry_points[entry_id]
    raise InvalidInput(
        f"no entry point feeds queue {queue!r}: name one",
        rule=rules.RULE_REQUEST,
        field="entry_point",
    )
