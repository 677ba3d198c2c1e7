"""Hold and resume, recording with the privacy shield (HOLD-1, HOLD-2,
REC-1..REC-3, END-1).

Everything about one interaction runs in its serializer, in order with the
Stasis events of its channels. The end of a privacy shield is a durable
timer: it happens even when the service restarts meanwhile, and re-checks
the interaction when it fires.

Asterisk side:

* Hold takes the customer's channel out of the interaction's mixing bridge
  (it stays in the Stasis app) and starts music on hold on it; the agent is
  left alone in the bridge and hears nothing. Resume stops the music and puts
  the customer back.
* Recording is an ARI live recording of the mixing bridge, named by the
  interaction ID (`<id>.wav`, 8 kHz 16-bit mono, in Asterisk's recording
  directory). The privacy shield mutes it: Asterisk writes silence for the
  paused stretch, so the file keeps the call's timeline and shows where the
  shield was, but holds none of the conversation from that stretch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.config import AsteriskNode, Profile, Tenant
from controlplane.core.agents import Agents
from controlplane.core.bridges import Bridges
from controlplane.core.interactions import Interactions
from controlplane.domain import media as rules
from controlplane.domain.errors import Unavailable
from controlplane.domain.interaction import Interaction, Recording, Status, iso
from controlplane.notifier import Notifier, agent_key, interaction_key
from controlplane.tasks import KeyedSerializer
from controlplane.timers import Timers

log = logging.getLogger(__name__)

SHIELD_TIMER = "privacy_shield"
# A shield whose end could not reach Asterisk is tried again after this long.
RETRY_SECONDS = 1.0

T = TypeVar("T")
# (interaction, agent) -> the interaction when a feature did the switch
# instead (HOLD-3: back to a consulted party), else None
Switch = Callable[[Interaction, str], Awaitable[Interaction | None]]
# Who may act, checked on the interaction as the action's job reads it
# (raises the refusal): the API's checks, in the same read as the action's.
Check = Callable[[Interaction], None]


class MediaService:
    def __init__(
        self,
        *,
        node: AsteriskNode,
        ari: AriClient,
        store: Store,
        notifier: Notifier,
        timers: Timers,
        serial: KeyedSerializer,
        agents: Agents,
        interactions: Interactions,
        bridges: Bridges,
    ) -> None:
        self._node = node
        self._bridges = bridges
        self._ari = ari
        self._store = store
        self._notifier = notifier
        self._timers = timers
        self._serial = serial
        self._agents = agents
        self._interactions = interactions
        # HOLD-3: what holding or resuming the customer means while a further
        # party is on the call (a consult): the first that answers decides
        self.on_hold: list[Switch] = []
        self.on_resume: list[Switch] = []
        timers.on(SHIELD_TIMER, self._shield_over)

    # Hooks of the core ------------------------------------------------------

    def records(self, tenant_id: str, queue_id: str, agent_id: str) -> bool:
        """REC-1: whether a call of that queue ("": of none) is recorded when
        that agent takes it."""
        tenant = self._agents.tenant(tenant_id)
        profile = self._profile(tenant, agent_id)
        queue = tenant.queues.get(queue_id)
        return profile is not None and rules.recording_enabled(tenant, queue, profile)

    async def connecting(self, ix: Interaction) -> None:
        """REC-1: the interaction's bridge exists and customer and agent are
        about to join it: record the bridge if tenant, queue and profile allow
        it. Sets the interaction's recording fields; the caller saves them.

        The recorder records the call's shared bridge (IN-2), and joins it
        before the two parties: in a direct bridge, a recorder joining two
        phones relayed natively would turn it to mixing in place, and a
        phone whose incoming sequence numbers then jump backwards under the
        same SSRC drops all further audio."""
        if ix.agent is None:
            return
        if not self.records(ix.tenant, ix.queue, ix.agent):
            return
        try:
            # a recorder must never find two phones relayed natively (IN-2):
            # the call's bridge is its shared one (made so beside the offer)
            await self._bridges.share(ix, parties_in=False)
            await self._ari.record_bridge(ix.bridge or ix.id, ix.id)
        except AriError as exc:
            log.warning("recording of interaction %s did not start: %s", ix.id, exc)
            return
        ix.recording, ix.recording_name = Recording.RECORDING, ix.id
        log.info("interaction %s: recording", ix.id)

    def require_may_end(self, ix: Interaction) -> None:
        """END-1: the agent cannot end a held call."""
        rules.require_may_end(ix)

    async def ended(self, ix: Interaction, was: Status) -> None:
        """The interaction is ending (its state is not saved yet): stop its
        recording, so the file is complete."""
        if ix.recording is not Recording.OFF and ix.recording_name:
            await self._timers.cancel(SHIELD_TIMER, ix.id)
            try:
                await self._ari.stop_recording(ix.recording_name)
            except AriError as exc:
                log.warning("stopping recording %s failed: %s", ix.recording_name, exc)
            ix.recording = Recording.OFF
        ix.held = False

    # Hold (HOLD-1, HOLD-2) -------------------------------------------------------------

    async def hold(
        self, tenant_id: str, agent_id: str, ix_id: str, *, check: Check | None = None
    ) -> Interaction:
        """HOLD-1: the customer leaves the talk path and hears music on hold."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if check is not None:
                check(ix)
            for switch in self.on_hold:  # HOLD-3, CF-3
                switched = await switch(ix, agent_id)
                if switched is not None:
                    return switched
            rules.require_may_hold(ix, agent_id)
            await self.hold_customer(ix)
            await self._store.save_interaction(ix)
            log.info("interaction %s held by %s", ix.id, agent_id)
            self._publish_after_answer("interaction.held", ix)
            return ix

        return await self._run(ix_id, job)

    async def resume(
        self, tenant_id: str, agent_id: str, ix_id: str, *, check: Check | None = None
    ) -> Interaction:
        """HOLD-2: the customer is back in the talk path."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if check is not None:
                check(ix)
            for switch in self.on_resume:  # HOLD-3, CF-3
                switched = await switch(ix, agent_id)
                if switched is not None:
                    return switched
            rules.require_may_resume(ix, agent_id)
            await self.resume_customer(ix)
            await self._store.save_interaction(ix)
            log.info("interaction %s resumed by %s", ix.id, agent_id)
            self._publish_after_answer("interaction.resumed", ix)
            return ix

        return await self._run(ix_id, job)

    async def hold_customer(self, ix: Interaction) -> None:
        """HOLD-1, HOLD-3: the customer's channel leaves the interaction's
        bridge and hears music on hold; sets `held` (the caller saves). At a
        call's first hold its agent moves to the shared bridge as the
        customer leaves the direct one (IN-2): every change of parties
        (consult, transfer, conference) begins with a hold."""
        customer = ix.customer_channel
        try:
            # the first hold: the agent moves to the shared bridge as the
            # customer leaves the direct one
            moved = await self._bridges.share(ix, leaving=customer)
            bridge = ix.bridge or ix.id
            if not moved:
                await self._ari.remove_from_bridge(bridge, [customer])
        except AriError as exc:
            raise Unavailable("the call cannot be put on hold", rule="HOLD-1") from exc
        try:
            await self._ari.start_moh(customer, self._node.moh_class)
        except AriError as exc:
            with contextlib.suppress(AriError):
                await self._ari.add_to_bridge(bridge, [customer])
            raise Unavailable("the call cannot be put on hold", rule="HOLD-1") from exc
        ix.held = True

    async def resume_customer(self, ix: Interaction) -> None:
        """HOLD-2: the music stops and the customer is back in the bridge;
        clears `held` (the caller saves)."""
        try:
            await self._bridges.add_from_music(ix.bridge or ix.id, ix.customer_channel)
        except AriError as exc:
            raise Unavailable("the call cannot be resumed", rule="HOLD-2") from exc
        ix.held = False

    # Privacy shield (REC-2, REC-3) -----------------------------------------------------

    async def pause_recording(
        self, tenant_id: str, agent_id: str, ix_id: str, *, check: Check | None = None
    ) -> Interaction:
        """REC-2: silence goes to the file until the tenant's shield time is
        over or the agent resumes."""
        tenant = self._agents.tenant(tenant_id)

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if check is not None:
                check(ix)
            profile = self._profile(tenant, agent_id) or Profile()
            rules.require_may_pause_recording(ix, agent_id, tenant, profile)
            name = ix.recording_name or ix.id
            # The timer first: should the service die right after muting, the
            # timer still unmutes.
            due = await self._timers.schedule_in(SHIELD_TIMER, ix.id, tenant.privacy_shield_seconds)
            try:
                await self._ari.mute_recording(name, True)
            except AriError as exc:
                await self._timers.cancel(SHIELD_TIMER, ix.id)
                raise Unavailable("the recording cannot be paused", rule="REC-2") from exc
            ix.recording = Recording.PAUSED
            await self._store.save_interaction(ix)
            log.info("interaction %s: recording paused by %s", ix.id, agent_id)
            await self._publish("interaction.recording_paused", ix, resume_at=iso(due))
            return ix

        return await self._run(ix_id, job)

    async def resume_recording(
        self, tenant_id: str, agent_id: str, ix_id: str, *, check: Check | None = None
    ) -> Interaction:
        """REC-2: the agent ends the privacy shield early."""

        async def job() -> Interaction:
            ix = await self._interactions.get(tenant_id, ix_id)
            if check is not None:
                check(ix)
            rules.require_may_resume_recording(ix, agent_id)
            try:
                await self._ari.mute_recording(ix.recording_name or ix.id, False)
            except AriError as exc:
                raise Unavailable("the recording cannot be resumed", rule="REC-2") from exc
            await self._timers.cancel(SHIELD_TIMER, ix.id)
            ix.recording = Recording.RECORDING
            await self._store.save_interaction(ix)
            log.info("interaction %s: recording resumed by %s", ix.id, agent_id)
            await self._publish("interaction.recording_resumed", ix, by="agent")
            return ix

        return await self._run(ix_id, job)

    async def _shield_over(self, ix_id: str) -> None:
        """REC-2: the privacy shield's time is over: record again."""

        async def job() -> None:
            ix = await self._store.interaction(ix_id)
            if (
                ix is None
                or ix.status is not Status.CONNECTED
                or ix.recording is Recording.OFF
                or not ix.recording_name
            ):
                return
            try:
                # also when the state says `recording`: the service may have
                # stopped between muting and saving `paused`
                await self._ari.mute_recording(ix.recording_name, False)
            except AriError as exc:
                if exc.status != 404:
                    log.warning("privacy shield of %s not ended yet: %s", ix.id, exc)
                    await self._timers.schedule_in(SHIELD_TIMER, ix.id, RETRY_SECONDS)
                return
            if ix.recording is Recording.PAUSED:
                ix.recording = Recording.RECORDING
                await self._store.save_interaction(ix)
                log.info("interaction %s: privacy shield over, recording again", ix.id)
                await self._publish("interaction.recording_resumed", ix, by="timer")

        await self._serial.run(ix_id, job)

    # Helpers ---------------------------------------------------------------------------

    @staticmethod
    def _profile(tenant: Tenant, agent_id: str) -> Profile | None:
        agent = tenant.agents.get(agent_id)
        return tenant.profiles.get(agent.profile) if agent is not None else None

    async def _run(self, ix_id: str, job: Callable[[], Awaitable[T]]) -> T:
        result: T = await self._serial.run(ix_id, job)
        return result

    def _publish_after_answer(self, kind: str, ix: Interaction) -> None:
        keys = [interaction_key(ix.id)]
        if ix.agent is not None:
            keys.append(agent_key(ix.tenant, ix.agent))
        self._notifier.after_answer(
            self._serial,
            ix.id,
            keys,
            partial(self._notifier.publish, kind, ix.tenant, ix.public(), agent=ix.agent),
        )

    async def _publish(self, kind: str, ix: Interaction, **extra: object) -> None:
        await self._notifier.publish(kind, ix.tenant, {**ix.public(), **extra}, agent=ix.agent)
