"""Outbound calls: outdial (OD-1..OD-8), click-to-call from the history (HI-2),
the dialling of preview-campaign calls (PC-3) and the limits they are
admitted against (LIM-1..LIM-3, CB-4 for callbacks).

The order of a call (OD-4): one atomic Redis step admits the call against
the datacenter's and the tenant's limits, reserves the agent
(compare-and-set) and creates the interaction; then the agent's phone rings
(`<ix>-a1`); when the agent answers, the agent hears ringback and the
customer is dialled through the node's `outbound_endpoint` (`<ix>-o1`) with
the chosen ANI as caller ID; when the customer answers, both are connected
in the interaction's mixing bridge like any call (hold, recording, ...).

Whatever ends an attempt before that (OD-5) is reported to the agent as
`interaction.outdial_failed` naming the cause; the interaction ends, its
slot is released and the agent is back in the state from before the
attempt. A durable watchdog timer ends an attempt whose legs are gone
without anyone having seen it (the replica that placed it died), so no
agent stays reserved and no slot stays taken.

Everything about one interaction runs in its serializer. A campaign learns
of its attempts' outcomes through `on_connected` and `on_failed` (PC-3).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from controlplane import metrics
from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.outbound_store import OutboundStore
from controlplane.adapters.store import Store, StoreError
from controlplane.config import AsteriskNode, Config, Profile, Tenant
from controlplane.core.agents import Agents
from controlplane.core.calls import Calls
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.limits import Limits
from controlplane.core.routing import Routing
from controlplane.domain import dialnumber
from controlplane.domain import interaction as ix_rules
from controlplane.domain import outdial as rules
from controlplane.domain import wrapup as wrapup_rules
from controlplane.domain.agent import AgentState, Transition
from controlplane.domain.dialnumber import DialNumber
from controlplane.domain.errors import (
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
    Status,
    now_ms,
)
from controlplane.domain.legs import LegKind, leg_id
from controlplane.domain.limits import SLOT_LEASE_MS, LimitCode, LimitReached
from controlplane.domain.outdial import Failure
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer
from controlplane.timers import Timers

# (interaction, campaign, contact) of an attempt that connected or failed
Outcome = Callable[[Interaction, str, str | None], Awaitable[None]]

log = logging.getLogger(__name__)

WATCHDOG_TIMER = "outbound.watchdog"  # key: interaction id
WATCHDOG_SECONDS = 2.0  # how often an attempt's legs are looked for in Asterisk
RECHECK_SECONDS = 1.0  # a leg found missing is looked for once more after this
FAILED_EVENT = "interaction.outdial_failed"


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    """What an outbound interaction keeps beside the interaction itself."""

    agent: str
    before_state: AgentState  # OD-5, OD-7: the agent's state before the attempt
    before_reason: str | None  # (the idle reason, if it was idle)
    source: str  # keypad, address_book, history, campaign
    post_dial: str | None  # DN-1: tones sent once the customer answered
    campaign: str | None
    contact: str | None
    suspect: str | None  # a leg the watchdog found missing once

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> OutboundRecord:
        return cls(
            agent=raw.get("agent", ""),
            before_state=AgentState(raw.get("before_state") or AgentState.AVAILABLE.value),
            before_reason=raw.get("before_reason") or None,
            source=raw.get("source", ""),
            post_dial=raw.get("post_dial") or None,
            campaign=raw.get("campaign") or None,
            contact=raw.get("contact") or None,
            suspect=raw.get("suspect") or None,
        )


class Outbound:
    """OD-1..OD-8 on top of the core's store, serializer and bridging."""

    def __init__(
        self,
        config: Config,
        *,
        node: AsteriskNode,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        timers: Timers,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        routing: Routing,
        calls: Calls,
        limits: Limits,
    ) -> None:
        self._config = config
        self._node = node
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._timers = timers
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._routing = routing
        self._calls = calls
        self._limits = limits
        self._db = OutboundStore(store)
        # PC-3: a campaign's attempt connected, or failed
        self.on_connected: list[Outcome] = []
        self.on_failed: list[Outcome] = []
        timers.on(WATCHDOG_TIMER, self._watchdog_due)

    # Look-ups --------------------------------------------------------------------------

    async def record(self, ix_id: str) -> OutboundRecord | None:
        raw = await self._db.record(ix_id)
        return OutboundRecord.from_fields(raw) if raw else None

    def profile(self, tenant: Tenant, agent_id: str) -> Profile:
        agent = tenant.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"unknown agent {agent_id!r}", agent=agent_id)
        return tenant.profiles.get(agent.profile) or Profile()

    def validate_number(self, raw: str, profile: Profile | None) -> DialNumber:
        """DN-1..DN-4: no extension and no entry point of the contact center,
        then the profile's dial plan (None: no dial plan, for campaign lists)."""
        config = self._config
        extensions = [a.extension for t in config.tenants.values() for a in t.agents.values()]
        entries = [e.number for t in config.tenants.values() for e in t.entry_points.values()]
        plan = profile.dial_plan if profile is not None else None
        return dialnumber.validate(raw, extensions=extensions, entry_points=entries, plan=plan)

    def anis(self, tenant_id: str, agent_id: str) -> dict[str, object]:
        """OD-3: the agent's outdial ANIs (alphabetically) and the default."""
        tenant = self._agents.tenant(tenant_id)
        return {"anis": rules.anis(self.profile(tenant, agent_id)), "default": tenant.default_ani}

    def address_book(self, tenant_id: str, search: str | None) -> list[dict[str, str]]:
        """OD-2: the tenant's address book, filtered."""
        return rules.search_address_book(self._agents.tenant(tenant_id).address_book, search)

    # OD-1, OD-2, OD-3: an outdial ------------------------------------------------------

    async def outdial(
        self,
        tenant_id: str,
        agent_id: str,
        *,
        number: str | None,
        address_book: str | None,
        ani: str | None,
    ) -> Interaction:
        tenant = self._agents.tenant(tenant_id)
        profile = self.profile(tenant, agent_id)
        rules.require_outdial_permission(profile)
        current = await self._store.agent(tenant_id, agent_id)
        rules.require_may_start(current.state)
        raw, source = rules.destination(
            number=number, address_book=address_book, profile=profile, entries=tenant.address_book
        )
        return await self._outdial_to(
            tenant_id, agent_id, profile, raw=raw, source=source.value, ani=ani
        )

    async def call_from_history(
        self,
        tenant_id: str,
        agent_id: str,
        ix_id: str,
        *,
        number: str | None,
        ani: str | None,
        history: list[str],
    ) -> Interaction:
        """HI-2: click-to-call a history entry's number (edited or not): an
        outdial with all its rules; refused while the agent has a call."""
        tenant = self._agents.tenant(tenant_id)
        profile = self.profile(tenant, agent_id)
        if ix_id not in history:
            raise NotFound("no such entry in the agent's history", rule=rules.RULE_HISTORY_CALL)
        past = await self._store.interaction(ix_id)
        if past is None:
            raise NotFound("no such entry in the agent's history", rule=rules.RULE_HISTORY_CALL)
        current = await self._store.agent(tenant_id, agent_id)
        if current.state in rules.ACTIVE_CALL_STATES:
            raise InvalidTransition(
                "no click-to-call during an active call",
                rule=rules.RULE_HISTORY_CALL,
                state=current.state.value,
            )
        rules.require_outdial_permission(profile)
        rules.require_may_start(current.state)
        raw, source = rules.history_destination(customer_number(past), number, profile)
        return await self._outdial_to(
            tenant_id, agent_id, profile, raw=raw, source=source.value, ani=ani
        )

    async def _outdial_to(
        self,
        tenant_id: str,
        agent_id: str,
        profile: Profile,
        *,
        raw: str,
        source: str,
        ani: str | None,
    ) -> Interaction:
        """OD-2, OD-3: the number cleaned and checked, the caller ID chosen, then placed."""
        dial = self.validate_number(raw, profile)
        caller = rules.choose_ani(ani, profile, self._agents.tenant(tenant_id).default_ani)
        return await self.place(
            tenant_id,
            agent_id,
            number=dial,
            ani=caller,
            kind=Kind.OUTDIAL,
            label=rules.LABEL,
            source=source,
        )

    # OD-4: placing the call --------------------------------------------------------------

    async def place(
        self,
        tenant_id: str,
        agent_id: str,
        *,
        number: DialNumber,
        ani: str,
        kind: Kind,
        label: str,
        source: str,
        allowed: frozenset[AgentState] = rules.START_STATES,
        rule: str = rules.RULE_START,
        campaign: str | None = None,
        contact: str | None = None,
        ix_id: str | None = None,
    ) -> Interaction:
        """Admit, reserve the agent and create the interaction in one atomic
        step; then ring the agent's phone. Raises LimitReached (26/27), or the
        error of the rule that refused; on success the interaction is
        `ringing`."""
        tenant = self._agents.tenant(tenant_id)
        agent_cfg = tenant.agents[agent_id]
        if tenant.datacenter != self._config.service.datacenter:
            raise RuleViolation(
                f"tenant {tenant_id!r} is served by datacenter {tenant.datacenter!r}", rule=rule
            )
        current = await self._store.agent(tenant_id, agent_id)
        rules.require_may_start(current.state, allowed=allowed, rule=rule)
        ix_id = ix_id or ix_rules.new_interaction_id()
        ix = Interaction(
            id=ix_id,
            tenant=tenant_id,
            direction=Direction.OUTBOUND,
            label=label,
            ani=ani,
            dnis=rules.dialable(number.number),
            entry_point="",
            flow="",
            queue="",
            queue_name="",
            node=self._node.name,
            customer_channel="",
            status=Status.RINGING,
            agent=agent_id,
            agent_channel=leg_id(ix_id, LegKind.AGENT, 1),
            offers=1,
            kind=kind,
        )
        record = {
            "agent": agent_id,
            "source": source,
            "post_dial": rules.post_dial(number.post_dial) or "",
            "campaign": campaign or "",
            "contact": contact or "",
        }
        # The watchdog first: should this replica die right after the next
        # step, another one still ends the attempt (OD-5, LIM-3).
        await self._timers.schedule_in(WATCHDOG_TIMER, ix_id, WATCHDOG_SECONDS)
        at = now_ms()
        try:
            result = await self._start_atomically(ix, agent_cfg.team, allowed, record, at)
        except StoreError as exc:
            await self._cancel_watchdog(ix_id)
            raise Unavailable(f"the call cannot be placed right now: {exc}", rule="LIM-3") from exc
        outcome = str(result[0])
        if outcome != "ok":
            await self._cancel_watchdog(ix_id)
            if outcome == "limit":
                metrics.admission(tenant_id, int(result[1]))
                await self._notifier.count_only(  # SUP-3: refusals by code
                    "interaction.refused", tenant_id, {"code": int(result[1])}
                )
                raise LimitReached(LimitCode(int(result[1])))
            state = AgentState(str(result[1]))
            if outcome == "device":
                raise InvalidTransition(
                    "the agent's phone is still in use", rule="ST-4", state=state.value
                )
            raise rules.race_lost(state)
        metrics.admission(tenant_id, 0)
        change = rules.reserve(AgentState(str(result[1])))
        log.info(
            "agent %s/%s: %s -> reserved (outbound %s, %s)",
            tenant_id,
            agent_id,
            change.previous.value,
            ix_id,
            kind.value,
        )
        await self._notifier.agent_state(
            tenant_id, agent_id, change, at, int(result[3]), interaction=ix_id
        )
        extension = current.extension or agent_cfg.extension
        placed: Interaction = await self._serial.run(
            ix_id, partial(self._ring_agent, ix, extension)
        )
        return placed

    async def _start_atomically(
        self,
        ix: Interaction,
        team: str,
        allowed: frozenset[AgentState],
        record: dict[str, str],
        at: int,
    ) -> list[Any]:
        return await self._db.start(
            ix,
            team=team,
            allowed=[s.value for s in allowed],
            record=record,
            at=at,
            lease_until=at + SLOT_LEASE_MS,
            datacenter_limit=self._config.datacenter.max_concurrent_calls,
            tenant_limit=self._agents.tenant(ix.tenant).max_concurrent_calls,
        )

    async def _ring_agent(self, ix: Interaction, extension: str) -> Interaction:
        """OD-4: the agent's phone rings first, showing the customer's number."""
        tenant = self._agents.tenant(ix.tenant)
        leg = ix.agent_channel or ""
        self._interactions.track(leg, ix.id)
        await self._store.index_channel(leg, ix.id)
        endpoint = self._node.agent_endpoint.format(extension=extension)
        try:
            await self._ari.originate(
                endpoint,
                channel_id=leg,
                app_args=f"agent,{ix.id}",
                caller_id=ix_rules.caller_id(ix.label, ix.dnis),
                timeout=tenant.outdial_agent_ring_seconds,
                variables={"CP_INTERACTION": ix.id},
            )
        except AriError as exc:
            log.warning(
                "outbound %s: cannot ring agent %s at %s: %s", ix.id, ix.agent, endpoint, exc
            )
            await self._fail(ix, Failure.AGENT_UNREACHABLE)
            raise Unavailable(
                rules.MESSAGES[Failure.AGENT_UNREACHABLE],
                rule=rules.RULE_FAILURE,
                outcome=Failure.AGENT_UNREACHABLE.value,
                interaction_id=ix.id,
            ) from exc
        record = await self.record(ix.id)
        payload = ix_rules.offer(ix, [])
        payload["can_cancel"] = tenant.outdial_cancel
        if record is not None and record.campaign:
            payload["campaign"] = record.campaign
            payload["contact"] = record.contact
        await self._notifier.publish("interaction.offered", ix.tenant, payload, agent=ix.agent)
        log.info("outbound %s: ringing agent %s for %s", ix.id, ix.agent, ix.dnis)
        return ix

    # Hooks of the core -----------------------------------------------------------------

    async def agent_answered(self, ix: Interaction, agent_channel: str) -> None:
        """OD-4: the agent answered: the agent hears ringback while the customer
        is dialled with the chosen ANI. The agent stays `reserved` until the
        customer answers."""
        tenant = self._agents.tenant(ix.tenant)
        try:
            number = rules.dialable(ix.dnis)  # checked again: nothing else is dialled
        except RuleViolation:
            await self._fail(ix, Failure.FAILED)
            return
        ix.attempts += 1
        try:
            await self._legs.dial_customer(
                ix,
                agent_channel,
                number=number,
                leg=leg_id(ix.id, LegKind.OUTDIAL, ix.attempts),
                purpose="outbound",
                caller=ix_rules.caller_id(tenant.name, ix.ani),  # OD-3: the chosen ANI
                ring_seconds=tenant.outdial_customer_ring_seconds,
            )
        except AriError as exc:
            log.warning("outbound %s: cannot dial the customer: %s", ix.id, exc)
            await self._fail(ix, Failure.FAILED)
            return
        log.info("outbound %s: dialling the customer for agent %s", ix.id, ix.agent)

    async def customer_answered(self, ix_id: str, channel_id: str) -> None:
        """OD-4: the customer answered: both are connected."""
        self._legs.dial_status(channel_id)  # (answered: its dial status is done)
        # The customer answered: from here the call connects or ends, either
        # of which settles it; the watchdog goes before anyone hears of it.
        await self._cancel_watchdog(ix_id)
        ix = await self._calls.customer_answered(ix_id, channel_id)
        if ix is None:
            return
        record = await self.record(ix.id)
        if record is not None and record.post_dial:
            try:
                await self._ari.request(
                    "POST", f"/channels/{channel_id}/dtmf", params={"dtmf": record.post_dial}
                )
            except AriError as exc:
                log.warning("outbound %s: post-dial tones not sent: %s", ix.id, exc)
        if record is not None and record.campaign:
            for connected in self.on_connected:
                await connected(ix, record.campaign, record.contact)

    async def leg_gone(self, ix: Interaction, channel_id: str, cause: int) -> None:
        """OD-5: a leg ended before the customer was connected."""
        if channel_id == ix.customer_channel and ix.status is Status.DIALING:
            failure = rules.customer_failure(self._legs.dial_status(channel_id), cause)
        elif channel_id == ix.agent_channel:
            # the agent declined or did not answer; hanging up while the
            # customer rings cancels the attempt
            failure = (
                rules.agent_failure(cause) if ix.status is Status.RINGING else Failure.CANCELLED
            )
        else:
            return
        log.info("outbound %s: %s (leg %s, cause %s)", ix.id, failure.value, channel_id, cause)
        await self._fail(ix, failure)

    async def release_agent(self, ix: Interaction) -> None:
        """OD-5: the attempt ended before it connected: the agent is back in the
        state from before it (an available agent keeps their place in line)."""
        if ix.agent is None:
            return
        record = await self.record(ix.id)
        before = record.before_state if record is not None else AgentState.AVAILABLE
        change = rules.restore(before, record.before_reason if record is not None else None)
        if (
            await self._agents.apply(
                ix.tenant,
                ix.agent,
                change,
                offer=ix.id,
                keep_available_since=True,
                fields={"offer": ""},
                interaction=ix.id,
            )
            and change.state is AgentState.AVAILABLE
        ):
            await self._routing.dispatch(ix.tenant)

    async def after_wrap_up(
        self, ix: Interaction, agent_id: str, current: AgentState
    ) -> Transition | None:
        """OD-7: where the agent who dialled out goes after the call's wrap-up;
        None for any other agent on it (one it was transferred to), who
        follows the tenant's usual rule."""
        record = await self.record(ix.id)
        if record is None or record.agent != agent_id:
            return None
        tenant = self._agents.tenant(ix.tenant)
        return wrapup_rules.finish_outdial(
            current,
            record.before_state,
            record.before_reason,
            available_after_outdial=tenant.available_after_outdial,
        )

    async def lost(self, ix: Interaction) -> None:
        """An attempt still ringing when the event stream was (re)connected: its
        answer may have gone unseen. It ends; nothing is requeued."""
        await self._fail(ix, Failure.FAILED)

    # OD-4: cancel while it rings -----------------------------------------------------

    async def cancel(self, tenant_id: str, agent_id: str, ix_id: str) -> Interaction:
        tenant = self._agents.tenant(tenant_id)

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if ix.agent != agent_id:
                raise RuleViolation("the agent is not on this interaction", rule="OD-4")
            if ix.direction is not Direction.OUTBOUND:
                raise RuleViolation("only an outbound call can be cancelled", rule="OD-4")
            if ix.status not in (Status.RINGING, Status.DIALING):
                raise InvalidTransition(
                    f"only a ringing outbound call can be cancelled (it is {ix.status.value})",
                    rule="OD-4",
                    status=ix.status.value,
                )
            if not tenant.outdial_cancel:
                raise RuleViolation(
                    "the tenant does not allow cancelling an outbound call while it rings",
                    rule="OD-4",
                )
            await self._fail(ix, Failure.CANCELLED)
            return ix

        result: Interaction = await self._serial.run(ix_id, job)
        return result

    # CB-4: callbacks count against the limits ---------------------------------------

    async def admit_callback(self, ix: Interaction) -> bool:
        """CB-4, LIM-2: a callback's dial attempt takes a slot first; over a
        limit it is refused with its code and text, shown to the agent."""
        try:
            await self._limits.admit(ix)
        except RuleViolation as refused:
            log.info("callback %s refused: %s", ix.id, refused.message)
            await self._notifier.publish(
                "interaction.refused",
                ix.tenant,
                {**ix.public(), "interaction_id": ix.id, **refused.details},
                agent=ix.agent,
            )
            return False
        return True

    # OD-5: ending a failed attempt ---------------------------------------------------

    async def _fail(self, ix: Interaction, failure: Failure) -> None:
        """OD-5: the attempt ends with an error event naming its cause; the
        interaction ends (slot released, legs hung up, agent restored)."""
        if ix.status not in (Status.RINGING, Status.DIALING):
            return
        ix.last_outcome = failure.value
        record = await self.record(ix.id)
        extra: dict[str, object] = {}
        if record is not None and record.campaign:
            extra = {"campaign": record.campaign, "contact": record.contact}
            # PC-3: callable again by the time the agent sees the failure
            for failed in self.on_failed:
                await failed(ix, record.campaign, record.contact)
        await self._notifier.publish(
            FAILED_EVENT,
            ix.tenant,
            rules.failure_event(ix.id, ix.kind.value, ix.dnis, failure, **extra),
            agent=ix.agent,
        )
        await self._cancel_watchdog(ix.id)
        cause = EndCause.CANCELLED if failure is Failure.CANCELLED else EndCause.NOT_CONNECTED
        await self._calls.finish(ix, cause)

    # OD-5, LIM-3: the watchdog -------------------------------------------------------

    async def _cancel_watchdog(self, ix_id: str) -> None:
        try:
            await self._timers.cancel(WATCHDOG_TIMER, ix_id)
        except StoreError as exc:
            log.warning("watchdog of %s not cancelled: %s", ix_id, exc)

    async def _watchdog_due(self, ix_id: str) -> None:
        self._serial.submit(ix_id, partial(self._check_legs, ix_id))

    async def _check_legs(self, ix_id: str) -> None:
        """An attempt whose legs are not in Asterisk (looked for twice, a second
        apart, so that a leg's own end event is handled first) ends: the
        replica that placed it is gone. Looked at until it connects or ends."""
        ix = await self._store.interaction(ix_id)
        if (
            ix is None
            or ix.direction is not Direction.OUTBOUND
            or ix.status not in (Status.RINGING, Status.DIALING)
        ):
            return
        legs = [ix.agent_channel or ""]
        if ix.status is Status.DIALING:
            legs.append(ix.customer_channel)
        missing: str | None = None
        for leg in legs:
            try:
                await self._ari.channel(leg)
            except AriError as exc:
                if exc.status != 404:
                    log.info("outbound %s: legs not checked: %s", ix.id, exc)
                    await self._timers.schedule_in(WATCHDOG_TIMER, ix.id, WATCHDOG_SECONDS)
                    return
                missing = leg
                break
        if missing is None:
            await self._db.clear_suspect(ix.id)
            await self._timers.schedule_in(WATCHDOG_TIMER, ix.id, WATCHDOG_SECONDS)
            return
        record = await self.record(ix.id)
        if record is None or record.suspect != missing:
            await self._db.mark_suspect(ix.id, missing)
            await self._timers.schedule_in(WATCHDOG_TIMER, ix.id, RECHECK_SECONDS)
            return
        log.warning("outbound %s: leg %s is gone and nobody saw it end", ix.id, missing)
        await self._fail(ix, Failure.FAILED)


def customer_number(ix: Interaction) -> str:
    """The customer's number of an interaction: whom the agent talked to."""
    return ix.dnis if ix.direction is Direction.OUTBOUND else ix.ani
