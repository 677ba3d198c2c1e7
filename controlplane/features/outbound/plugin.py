"""Wires outdial (OD-1..OD-8) into the core: the agent's phone answers
first and the customer is dialled; the customer's leg answers or ends; an
attempt that never connected gives the agent back the state before it; the
agent's state after wrap-up (OD-7)."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.domain.agent import AgentState, Transition
from controlplane.domain.interaction import Direction, Interaction, Status
from controlplane.features.outbound.service import Outbound


def plug(core: Core) -> Outbound:
    outbound = Outbound(
        core.config,
        node=core.node,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        timers=core.timers,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        legs=core.legs,
        routing=core.routing,
        calls=core.calls,
        limits=core.limits,
    )
    hooks = core.hooks

    async def agent_answered(ix: Interaction, channel_id: str) -> bool:
        if ix.direction is not Direction.OUTBOUND:
            return False
        await outbound.agent_answered(ix, channel_id)  # OD-4: dial the customer now
        return True

    async def leg_gone(ix: Interaction, channel_id: str, cause: int) -> bool:
        if ix.direction is not Direction.OUTBOUND or ix.status not in (
            Status.RINGING,
            Status.DIALING,
        ):
            return False
        await outbound.leg_gone(ix, channel_id, cause)  # OD-5
        return True

    async def released(ix: Interaction, _was: Status) -> bool:
        if ix.direction is not Direction.OUTBOUND:
            return False
        await outbound.release_agent(ix)  # OD-5: back to the state before
        return True

    async def withdrawn(ix: Interaction) -> bool:
        if ix.direction is not Direction.OUTBOUND:
            return False
        await outbound.lost(ix)  # OD-5: an outbound attempt is not requeued
        return True

    async def after_wrap_up(ix: Interaction, agent_id: str, state: AgentState) -> Transition | None:
        if ix.direction is not Direction.OUTBOUND:
            return None
        return await outbound.after_wrap_up(ix, agent_id, state)  # OD-7

    hooks.on_answered("outbound", outbound.customer_answered)  # OD-4: the customer
    hooks.agent_answered.append(agent_answered)
    hooks.leg_gone.append(leg_gone)
    hooks.agent_released.append(released)
    hooks.offer_withdrawn.append(withdrawn)
    hooks.after_wrap_up.append(after_wrap_up)
    return outbound
