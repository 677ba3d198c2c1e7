"""The supervisor console's service side (SUP-1..SUP-6).

- The figures (SUP-1..SUP-3) and the day's interactions (SUP-6): see
  `figures.Figures`, which this service extends.
- SUP-4: a supervisor sets an agent idle or logs them out.
- SUP-5: monitor, whisper and barge through a snoop channel on the agent's
  leg, bridged with a leg to the supervisor's phone (see
  `controlplane.domain.supervision` for the modes). Everything runs in the
  interaction's serializer; the session is in Redis, so reconciliation
  after a crash finds what to clean.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import AgentRecord, Batch, Store
from controlplane.adapters.supervision_store import Session, SupervisionStore
from controlplane.audit import ACTOR, SYSTEM
from controlplane.browser_phone import is_browser_endpoint
from controlplane.config import AsteriskNode, Config
from controlplane.core.agents import Agents
from controlplane.core.bridges import Bridges
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.domain import bridges as bridge_rules
from controlplane.domain import supervision as sup_rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition, NotFound
from controlplane.domain.interaction import (
    Interaction,
    Status,
    caller_id,
    now_ms,
)
from controlplane.domain.legs import LegKind, leg_id, leg_kind
from controlplane.domain.supervision import Mode, State
from controlplane.features.supervision.figures import Figures
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer

log = logging.getLogger(__name__)

SUPERVISOR_RING_SECONDS = 30


class Supervision(Figures):
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
        bridges: Bridges,
    ) -> None:
        super().__init__(config, store=store, agents=agents)
        self._bridges = bridges
        self._node = node
        self._ari = ari
        self._notifier = notifier
        self._serial = serial
        self._interactions = interactions
        self._legs = legs
        self.sessions = SupervisionStore(store)

    # SUP-4 ------------------------------------------------------------------------------

    async def set_agent_state(
        self, tenant_id: str, agent_id: str, wanted: AgentState, reason: str | None
    ) -> AgentRecord:
        tenant = self._agents.tenant(tenant_id)
        current = await self._agents.agent(tenant_id, agent_id)
        sup_rules.require_supervisor_change(current.state, wanted, reason, tenant.idle_reasons)
        try:
            return await self._agents.change_state(tenant_id, agent_id, wanted, reason)
        except InvalidTransition as exc:  # the agent's state changed meanwhile
            now = await self._agents.agent(tenant_id, agent_id)
            sup_rules.require_supervisor_change(now.state, wanted, reason, tenant.idle_reasons)
            raise InvalidTransition(exc.message, rule="SUP-4", state=now.state.value) from exc

    # SUP-5 ------------------------------------------------------------------------------

    async def session(self, tenant_id: str, ix_id: str) -> Session:
        await self._interactions.get(tenant_id, ix_id)  # 404 for another tenant's
        found = await self.sessions.get(ix_id)
        if found is None or found.tenant != tenant_id:
            raise NotFound("nobody supervises this interaction", rule="SUP-5", interaction=ix_id)
        return found

    async def _check_extension(
        self,
        tenant_id: str,
        ix: Interaction,
        extension: str,
        *,
        browser: bool,
        busy_ok: bool = False,
    ) -> None:
        sup_rules.require_extension(extension)
        owner = self.config.agent_by_extension(extension)
        if (owner is not None and (owner[0] != tenant_id or owner[1] == ix.agent)) or (
            not browser and is_browser_endpoint(self.config, extension)
        ):
            raise InvalidInput(
                "that extension cannot be the supervisor's phone for this call",
                rule="SUP-5",
                field="extension",
            )
        try:
            endpoint = await self._ari.endpoint("PJSIP", extension)
        except AriError as exc:
            if exc.status == 404:
                raise InvalidInput(
                    f"there is no phone with the extension {extension}",
                    rule="SUP-5",
                    field="extension",
                ) from None
            raise
        if str(endpoint.get("state", "")).lower() != "online":
            if browser:
                raise InvalidTransition(
                    "your browser phone is not registered: wait until it is, or sign in with "
                    "an extension",
                    rule="SUP-5",
                    extension=extension,
                    phone="browser",
                )
            raise InvalidTransition(
                f"the phone {extension} is not registered", rule="SUP-5", extension=extension
            )
        if endpoint.get("channel_ids") and not busy_ok:
            raise InvalidTransition(
                f"the phone {extension} is in use", rule="SUP-5", extension=extension
            )

    async def start(
        self,
        tenant_id: str,
        ix_id: str,
        supervisor: str,
        mode: Mode,
        extension: str,
        *,
        browser: bool = False,
    ) -> Session:
        """SUP-5: ring the supervisor's phone (`browser`: the seat of their
        browser phone, whose page answers it by itself); once answered they
        listen in the chosen mode."""
        await self._interactions.get(tenant_id, ix_id)  # 404 before anything else

        async def job() -> Session:
            ix = await self._interactions.get(tenant_id, ix_id)
            sup_rules.require_supervisable(ix.status.value, ix.agent_channel)
            existing = await self.sessions.get(ix_id)
            if existing is not None:
                raise InvalidTransition(
                    "the call is already supervised",
                    rule="SUP-5",
                    supervisor=existing.supervisor,
                    mode=existing.mode.value,
                )
            await self._check_extension(tenant_id, ix, extension, browser=browser)
            n = await self.sessions.next_number(ix_id)
            leg = leg_id(ix_id, LegKind.SUPERVISOR, n)
            session = Session(
                interaction=ix_id,
                tenant=tenant_id,
                supervisor=supervisor,
                extension=extension,
                mode=mode,
                state=State.RINGING,
                leg=leg,
                bridge=sup_rules.bridge_id(leg),
                agent=ix.agent or "",
                agent_channel=ix.agent_channel or "",
                started_at=now_ms(),
                phone="browser" if browser else "extension",
            )
            if not await self.sessions.claim(session):
                raise InvalidTransition("the call is already supervised", rule="SUP-5")
            try:
                await self._ring(session, ix, browser=browser)
            except AriError:
                await self.sessions.delete(ix_id)
                raise
            log.info("supervision of %s (%s) rings %s", ix_id, mode.value, extension)
            await self._publish("interaction.supervision_requested", session)
            return session

        result: Session = await self._serial.run(ix_id, job)
        return result

    async def rejoin(self, tenant_id: str, ix_id: str, supervisor: str) -> Session:
        """SUP-5: ring the supervisor's phone again for their supervision going
        on (a console that was reloaded lost its browser phone's call): a new
        leg takes the old one's place, in the same mode, once answered."""

        async def job() -> Session:
            session = await self.session(tenant_id, ix_id)
            if session.supervisor != supervisor:
                raise InvalidTransition(
                    "another supervisor supervises the call",
                    rule="SUP-5",
                    supervisor=session.supervisor,
                )
            if session.state is not State.ACTIVE:
                raise InvalidTransition(
                    "the supervisor's phone is ringing already", rule="SUP-5", state="ringing"
                )
            ix = await self._interactions.get(tenant_id, ix_id)
            browser = session.phone == "browser"
            # (the old leg may still be on the phone's endpoint)
            await self._check_extension(
                tenant_id, ix, session.extension, browser=browser, busy_ok=True
            )
            old = session.leg
            n = await self.sessions.next_number(ix_id)
            session.leg = leg_id(ix_id, LegKind.SUPERVISOR, n)
            session.state = State.RINGING
            await self.sessions.save(session)  # (the old leg's hang-up is no stop)
            await self._legs.hang_up(old)
            try:
                await self._ring(session, ix, browser=browser)
            except AriError:
                await self._teardown(session, "failed")
                raise
            log.info("supervision of %s rings %s again", ix_id, session.extension)
            await self._publish("interaction.supervision_requested", session)
            return session

        result: Session = await self._serial.run(ix_id, job)
        return result

    async def _ring(self, session: Session, ix: Interaction, *, browser: bool) -> None:
        """Originate the supervisor's leg to their phone."""
        await self._ari.originate(
            self._node.agent_endpoint.format(extension=session.extension),
            channel_id=session.leg,
            app_args=f"supervisor,{session.interaction}",
            caller_id=caller_id(f"{session.mode.value} {ix.agent or ''}", session.extension),
            timeout=SUPERVISOR_RING_SECONDS,
            # the console answers a call to its browser phone that names the
            # supervision it asked for
            variables={f"PJSIP_HEADER(add,{sup_rules.SIP_HEADER})": session.interaction}
            if browser
            else None,
        )

    async def of_supervisor(self, tenant_id: str, supervisor: str) -> Session | None:
        """The supervision the supervisor (`supervisor:<id>`) has going on, if
        any: the console shows it again after a reload."""
        for ix_id in await self.sessions.all():
            session = await self.sessions.get(ix_id)
            if session is not None and (session.tenant, session.supervisor) == (
                tenant_id,
                supervisor,
            ):
                return session
        return None

    async def leg_answered(self, ix_id: str, channel_id: str) -> None:
        """The supervisor answered: bridge their leg with a snoop on the agent's leg."""
        session = await self.sessions.get(ix_id)
        ix = await self._store.interaction(ix_id)
        if (
            session is None
            or session.leg != channel_id
            or session.state is not State.RINGING
            or ix is None
            or ix.status is not Status.CONNECTED
            or ix.agent_channel != session.agent_channel
        ):
            log.info("supervisor leg %s answered a session that no longer stands", channel_id)
            await self._legs.hang_up(channel_id)
            if session is not None and session.leg == channel_id:
                await self._teardown(session, "call_changed")
            return
        try:
            try:
                await self._ari.create_bridge(
                    session.bridge, name=f"sup-{ix_id}", kind=bridge_rules.SHARED_TYPE
                )
            except AriError as exc:
                if exc.status != 409:  # (a leg rung again: the bridge is there)
                    raise
            # IN-2: a snoop's audiohook, or a barging supervisor, changes the
            # call's bridge: its parties move to a shared one first
            await self._bridges.share(ix)
            await self._place(session, ix.bridge or ix.id, None)
        except AriError as exc:
            log.warning("supervision of %s could not start: %s", ix_id, exc)
            await self._teardown(session, "failed")
            return
        session.state = State.ACTIVE
        await self.sessions.save(session)
        await self._publish("interaction.supervision_started", session)

    async def _place(self, session: Session, call_bridge: str, previous: Mode | None) -> None:
        """Put the supervisor's leg where the session's mode wants it: with a
        snoop on the agent's leg in their own bridge (monitor, whisper), or in
        the call's bridge (barge). `previous`: the mode it was placed for
        (None: not placed yet)."""
        leg = session.leg
        if session.mode is Mode.BARGE:
            await self._drop_snoop(session)
            if previous is not None:
                await self._ari.remove_from_bridge(session.bridge, [leg])
            await self._ari.add_to_bridge(call_bridge, [leg])
            return
        if previous is Mode.BARGE:
            await self._ari.remove_from_bridge(call_bridge, [leg])
        await self._drop_snoop(session)
        session.snoops += 1
        snoop_id = leg_id(session.interaction, LegKind.SNOOP, session.snoops)
        spy, whisper = sup_rules.SNOOP[session.mode]
        session.snoop = snoop_id
        await self.sessions.save(session)  # (reconciliation knows the new channel)
        await self._ari.request(
            "POST",
            f"/channels/{session.agent_channel}/snoop",
            params={
                "app": self._node.app,
                "appArgs": f"snoop,{session.interaction}",
                "spy": spy,
                "whisper": whisper,
                "snoopId": snoop_id,
            },
        )
        # The snoop joins the bridge once it is in the app (snoop_started):
        # Asterisk answers the POST before the snoop's StasisStart, and a
        # bridge takes only channels that are in the app.
        if previous is None or previous is Mode.BARGE:
            await self._ari.add_to_bridge(session.bridge, [leg])

    async def _drop_snoop(self, session: Session) -> None:
        old, session.snoop = session.snoop, ""
        if old:
            await self.sessions.save(session)
            await self._legs.hang_up(old)

    async def snoop_started(self, ix_id: str, channel_id: str) -> None:
        """A snoop channel entered the app: it joins its session's bridge, or
        is hung up when the session moved on meanwhile (another mode, a stop)."""
        session = await self.sessions.get(ix_id)
        if session is None or session.snoop != channel_id:
            await self._legs.hang_up(channel_id)
            return
        try:
            await self._ari.add_to_bridge(session.bridge, [channel_id])
        except AriError as exc:
            log.warning("snoop %s of %s could not join its bridge: %s", channel_id, ix_id, exc)
            await self._teardown(session, "failed")

    async def switch(self, tenant_id: str, ix_id: str, mode: Mode) -> Session:
        """SUP-5: another mode, without hanging up the supervisor's leg."""

        async def job() -> Session:
            session = await self.session(tenant_id, ix_id)
            if session.mode is mode:
                raise InvalidTransition(
                    f"the call is already in {mode.value} mode", rule="SUP-5", mode=mode.value
                )
            previous = session.mode
            session.mode = mode
            if session.state is State.ACTIVE:
                ix = await self._interactions.get(tenant_id, ix_id)
                try:
                    await self._place(session, ix.bridge or ix.id, previous)
                except AriError as exc:
                    log.warning("supervision of %s could not switch: %s", ix_id, exc)
                    await self._teardown(session, "failed")
                    raise
            else:
                await self.sessions.save(session)
            await self._publish("interaction.supervision_switched", session, previous=previous)
            return session

        result: Session = await self._serial.run(ix_id, job)
        return result

    async def stop(self, tenant_id: str, ix_id: str) -> Session:
        async def job() -> Session:
            session = await self.session(tenant_id, ix_id)
            await self._teardown(session, "stopped")
            return session

        result: Session = await self._serial.run(ix_id, job)
        return result

    async def _teardown(self, session: Session, reason: str) -> None:
        """Hang up the supervisor's leg and the snoop, destroy the bridge,
        forget the session; the call goes on as it was."""
        await self.sessions.delete(session.interaction)
        for channel in (session.snoop, session.leg):
            await self._legs.hang_up(channel)
        try:
            await self._ari.destroy_bridge(session.bridge)
        except AriError as exc:
            log.warning("supervisor bridge %s: %s", session.bridge, exc)
        log.info("supervision of %s ended: %s", session.interaction, reason)
        await self._publish("interaction.supervision_stopped", session, reason=reason)

    async def leg_gone(self, ix: Interaction, channel_id: str) -> bool:
        """True when the channel was a supervisor's leg or a snoop (handled)."""
        role = leg_kind(channel_id)
        if role not in (LegKind.SUPERVISOR, LegKind.SNOOP):
            return False
        session = await self.sessions.get(ix.id)
        if session is None:
            return True
        if channel_id == session.leg:
            reason = "supervisor_hangup" if session.state is State.ACTIVE else "not_answered"
            await self._teardown(session, reason)
        elif channel_id == session.snoop:  # the agent's leg went (a transfer, a consult)
            await self._teardown(session, "agent_left")
        return True

    async def interaction_ended(self, ix: Interaction) -> None:
        """The call ended: nothing of its supervision stays."""
        session = await self.sessions.get(ix.id)
        if session is not None:
            await self._teardown(session, "interaction_ended")

    async def reconcile(self, live: set[str], states: Mapping[str, str]) -> None:
        """After a (re)connection of the event stream (or a crash): end
        sessions whose call or channels are gone, finish one whose answer was
        missed, and remove snoops, supervisor legs and bridges no session has."""
        known_channels: set[str] = set()
        known_bridges: set[str] = set()
        for ix_id in await self.sessions.all():
            session = await self.sessions.get(ix_id)
            if session is None:
                await self.sessions.delete(ix_id)
                continue
            ix = await self._store.interaction(ix_id)
            alive = (
                ix is not None
                and ix.status is Status.CONNECTED
                and ix.agent_channel == session.agent_channel
                and session.agent_channel in live
                and session.leg in live
                and (
                    session.state is State.RINGING
                    or session.mode is Mode.BARGE
                    or session.snoop in live
                )
            )
            if not alive:
                self._serial.submit(ix_id, partial(self._teardown, session, "lost"))
                continue
            known_channels.update({session.leg, session.snoop})
            known_bridges.add(session.bridge)
            if session.state is State.RINGING and states.get(session.leg) == "Up":
                self._serial.submit(ix_id, partial(self.leg_answered, ix_id, session.leg))
        for channel_id in live:
            if leg_kind(channel_id) in (LegKind.SUPERVISOR, LegKind.SNOOP) and (
                channel_id not in known_channels
            ):
                log.info("supervision channel %s belongs to no session: hanging up", channel_id)
                await self._legs.hang_up(channel_id)
        for bridge in await self._ari.bridges():
            bridge_id = str(bridge.get("id", ""))
            if sup_rules.bridge_interaction(bridge_id) and bridge_id not in known_bridges:
                log.info("supervisor bridge %s belongs to no session: destroying", bridge_id)
                await self._ari.destroy_bridge(bridge_id)

    async def _publish(self, kind: str, session: Session, **extra: Any) -> None:
        """SUP-5: each start, switch and stop is an event for the tenant's
        supervisors (not the agent's desktop) and an audit record naming who."""
        data: dict[str, Any] = {**session.public(), **extra}
        if "previous" in data and isinstance(data["previous"], Mode):
            data["previous"] = data["previous"].value
        # The supervisor's request goes on when their phone answers (an
        # Asterisk event): that start, and their own hang-up, are theirs too.
        theirs = kind == "interaction.supervision_started" or extra.get("reason") in (
            "supervisor_hangup",
            "not_answered",
        )
        actor = ACTOR.get() or (session.supervisor if theirs else SYSTEM)
        details: dict[str, Any] = {
            k: data[k] for k in ("mode", "state", "previous", "reason") if k in data
        }
        details["supervisor"] = session.supervisor

        async def audit(pipe: Batch) -> None:
            await self._notifier.audit.write(
                session.tenant,
                actor=actor,
                action=kind,
                target={"interaction": session.interaction, "agent": session.agent},
                details=details,
                pipe=pipe,
            )

        await self._notifier.publish(kind, session.tenant, data, audit=audit)
