"""Routing (IN-1, IN-3, RONA-1, REL-1, ST-4): waiting calls meet available
agents; an offer rings the reserved agent's phone, and an offer that is not
taken puts the call back in its queue."""

from __future__ import annotations

import logging
from functools import partial

from controlplane import browser_phone, metrics
from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Reservation, RouteBehind, RoutingStep, Store
from controlplane.config import Config, Tenant
from controlplane.core.agents import Agents
from controlplane.core.bridges import Bridges
from controlplane.core.hooks import Hooks
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.domain import agent as agent_rules
from controlplane.domain import bridges as bridge_rules
from controlplane.domain import consult as consult_rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain.agent import AgentState, Trigger
from controlplane.domain.interaction import Interaction, Status, now_ms
from controlplane.domain.legs import LegKind, leg_id
from controlplane.notifier import Notifier, agent_key, interaction_key
from controlplane.tasks import KeyedSerializer, TaskGroup

log = logging.getLogger(__name__)


class Routing:
    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        ari: AriClient,
        notifier: Notifier,
        serial: KeyedSerializer,
        tasks: TaskGroup,
        agents: Agents,
        interactions: Interactions,
        legs: LegDialer,
        hooks: Hooks,
        bridges: Bridges,
    ) -> None:
        self._config = config
        self._bridges = bridges
        self._store = store
        self._ari = ari
        self._notifier = notifier
        self._serial = serial
        self._tasks = tasks
        self._agents = agents
        self._interactions = interactions
        self._legs = legs
        self._hooks = hooks
        hooks.agent_available.append(self.dispatch)

    @staticmethod
    def _queue_specs(tenant: Tenant) -> list[tuple[str, int, tuple[str, ...]]]:
        return [(qid, q.priority, q.teams) for qid, q in tenant.queues.items()]

    async def dispatch(self, tenant_id: str, first: RoutingStep | None = None) -> None:
        """Offer waiting calls to available agents until one side runs out
        (IN-3). `first`: a routing step already run behind an admission."""
        if first is not None:
            if first.reservation is not None:
                await self._take(tenant_id, first.reservation)
            elif first.after_admission:
                return  # no pair, the new call counted: later changes dispatch again
        specs = self._queue_specs(self._agents.tenant(tenant_id))
        while (res := await self._store.reserve_next(tenant_id, specs, now_ms())) is not None:
            await self._take(tenant_id, res)

    def behind_admission(self, tenant_id: str, ix_id: str) -> RouteBehind:
        """IN-3: the routing step for a new call's admission to send behind it,
        in the same round trip; what it finds goes on as `dispatch` (beside
        the interaction's own jobs: its offer need not wait for the routing
        step that finds no further pair)."""

        def taken(step: RoutingStep) -> None:
            self._tasks.spawn(f"dispatch:{tenant_id}:{ix_id}", self.dispatch(tenant_id, step))

        return RouteBehind(self._queue_specs(self._agents.tenant(tenant_id)), taken)

    async def _take(self, tenant_id: str, res: Reservation) -> None:
        """A pair the routing step reserved: ring the agent (or hand a consult
        request's agent to its consult)."""
        ix_id, agent_id = res.interaction, res.agent
        change = agent_rules.system_transition(AgentState.AVAILABLE, Trigger.OFFER)
        requested = self._hooks.request_reserved
        if consult_rules.is_consult_request(ix_id) and requested is not None:
            # CO-1: a queue consult's agent
            owner = consult_rules.request_owner(ix_id)
            await self._notifier.agent_state(
                tenant_id, agent_id, change, now_ms(), res.seq, interaction=owner
            )
            self._serial.submit(owner, partial(requested, tenant_id, ix_id, agent_id))
            return
        # The agent's `reserved` is published beside the offer, after the
        # call's earlier events and before its and the agent's later ones.
        self._tasks.spawn(
            f"reserved:{ix_id}",
            self._notifier.deferred(
                [interaction_key(ix_id), agent_key(tenant_id, agent_id)],
                partial(
                    self._notifier.agent_state,
                    tenant_id,
                    agent_id,
                    change,
                    now_ms(),
                    res.seq,
                    interaction=ix_id,
                ),
            ),
        )
        recorded = self._hooks.recorded(tenant_id, res.queue, agent_id)
        bridge = bridge_rules.first_bridge(ix_id, recorded)
        self._serial.submit(ix_id, partial(self._offer, ix_id, agent_id, bridge, res.extension))

    async def _offer(
        self, ix_id: str, agent_id: str, bridge: str, extension: str | None = None
    ) -> None:
        """IN-1: ring the reserved agent's phone and show the offer on the desktop."""
        # still ringing for this agent? then its leg is written and indexed
        stands, ix, new_bridge = await self._store.offer_leg(ix_id, agent_id, bridge)
        if not stands or ix is None or ix.agent_channel is None:
            log.info("offer of %s to %s no longer stands", ix_id, agent_id)
            await self.release_reservation(ix, ix_id, agent_id)
            return
        tenant = self._agents.tenant(ix.tenant)
        queue = tenant.queues[ix.queue]
        channel_id = ix.agent_channel
        assert channel_id == leg_id(ix.id, LegKind.AGENT, ix.offers)
        self._interactions.track(channel_id, ix.id)
        # the extension the routing step reserved the agent on (ST-4 checked it)
        endpoint = await self._legs.agent_endpoint(ix.tenant, agent_id, extension)
        if new_bridge:  # IN-2: ready when the agent answers (a requeued call keeps it)
            self._bridges.create_beside(ix.id, bridge)
        try:
            await self._ari.originate(
                endpoint,
                channel_id=channel_id,
                app_args=f"agent,{ix.id}",
                caller_id=ix_rules.caller_id(ix.label, ix.ani),
                timeout=queue.max_ring_seconds,
                variables={"CP_INTERACTION": ix.id},
            )
        except AriError as exc:
            log.warning("cannot ring agent %s at %s: %s", agent_id, endpoint, exc)
            await self.offer_failed(ix, agent_id, "device_unreachable")
            return
        metrics.offer_made(ix.tenant, ix.queue)
        # The offer's event (with the call's variables) is published beside the
        # interaction's next jobs, in order before its and the agent's later
        # events: a phone that answers at once is bridged without waiting for it.
        self._tasks.spawn(
            f"offered:{ix.id}",
            self._notifier.deferred(
                [interaction_key(ix.id), agent_key(ix.tenant, agent_id)],
                partial(self._publish_offer, ix, agent_id),
            ),
        )

    async def _publish_offer(self, ix: Interaction, agent_id: str) -> None:
        variables = await self._hooks.offer_variables(ix) if self._hooks.offer_variables else []
        await self._notifier.publish(
            "interaction.offered",
            ix.tenant,
            ix_rules.offer(ix, variables),
            agent=agent_id,
            private=True,
        )

    async def release_reservation(self, ix: Interaction | None, ix_id: str, agent_id: str) -> None:
        """An offer that cannot be made: give the agent back their place."""
        tenant_id = ix.tenant if ix else None
        if tenant_id is None:
            return
        change = agent_rules.system_transition(
            AgentState.RESERVED, Trigger.OFFER_WITHDRAWN, AgentState.AVAILABLE
        )
        if await self._agents.apply(
            tenant_id,
            agent_id,
            change,
            offer=ix_id,
            keep_available_since=True,
            fields={"offer": ""},
        ):
            await self.dispatch(tenant_id)

    async def offer_failed(self, ix: Interaction, agent_id: str, reason: str) -> None:
        """RONA-1: the agent did not take the offer. The call goes back to its queue
        ahead of later calls; the agent goes to `rona`; the next agent is tried."""
        tenant_id = ix.tenant
        metrics.rona(tenant_id, ix.queue, reason)
        ix_rules.change_status(ix, Status.QUEUED)
        await self._store.enqueue(ix)
        ix.agent, ix.agent_channel = None, None
        change = agent_rules.transition(AgentState.RESERVED, Trigger.RING_NO_ANSWER, reason=reason)
        if await self._agents.apply(
            tenant_id, agent_id, change, offer=ix.id, fields={"offer": ""}, interaction=ix.id
        ):
            await self._notifier.publish(
                "interaction.offer_withdrawn",
                tenant_id,
                {"interaction_id": ix.id, "reason": reason, "choices": ["available", "idle"]},
                agent=agent_id,
            )
        await self.dispatch(tenant_id)

    async def withdraw_offer(self, ix_id: str) -> None:
        """REL-1: an offer still ringing when the event stream was (re)connected
        may have been answered while nobody listened. Withdraw it cleanly and
        requeue the call; the agent is not to blame (available again, same place)."""
        ix = await self._store.interaction(ix_id)
        if ix is None or ix.status is not Status.RINGING or ix.agent is None:
            return
        for withdrawn in self._hooks.offer_withdrawn:  # OD-5: an outbound attempt
            if await withdrawn(ix):
                return
        agent_id, channel_id = ix.agent, ix.agent_channel
        ix_rules.change_status(ix, Status.QUEUED)
        await self._store.enqueue(ix)
        ix.agent, ix.agent_channel = None, None
        change = agent_rules.system_transition(
            AgentState.RESERVED, Trigger.OFFER_WITHDRAWN, AgentState.AVAILABLE
        )
        if await self._agents.apply(
            ix.tenant,
            agent_id,
            change,
            offer=ix.id,
            keep_available_since=True,
            fields={"offer": ""},
            interaction=ix.id,
        ):
            await self._notifier.publish(
                "interaction.offer_withdrawn",
                ix.tenant,
                {"interaction_id": ix.id, "reason": "service_takeover", "choices": []},
                agent=agent_id,
            )
        if channel_id:
            try:
                await self._ari.hangup(channel_id)
            except AriError as exc:
                log.warning("withdrawn offer's leg %s: %s", channel_id, exc)
        log.info("offer of %s to %s withdrawn after reconnection; requeued", ix.id, agent_id)
        await self.dispatch(ix.tenant)

    async def resync_devices(self) -> None:
        """ST-4: which agent phones are off-hook right now, read afresh from
        Asterisk; tenants with a phone that turned out idle are dispatched."""
        freed: set[str] = set()
        for endpoint in await self._ari.endpoints("PJSIP"):
            extension = endpoint.get("resource", "")
            busy = bool(endpoint.get("channel_ids"))
            found = self._config.agent_by_extension(extension)
            if found is not None:
                tenant = found[0]
            else:
                # PH-1: a browser phone that is not registered gets no offer
                browser = browser_phone.agent_by_browser_extension(self._config, extension)
                if browser is None:
                    continue
                tenant = browser[0]
                busy = busy or endpoint.get("state") != "online"
            if await self._store.set_device_busy(extension, busy) and not busy:
                freed.add(tenant)
        for tenant in sorted(freed):
            await self.dispatch(tenant)
