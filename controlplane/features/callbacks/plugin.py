"""Wires callbacks (CB-1..CB-3) into the core: the agent who takes one hears
ringback while its customer is dialled; the customer's leg answers or ends;
a waiting caller's key asks for a callback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from controlplane.core.assembly import Core
from controlplane.domain.interaction import Direction, Interaction, Kind, Status
from controlplane.features.callbacks.service import Callbacks
from controlplane.features.variables.service import CallVariables


def plug(
    core: Core,
    *,
    variables: CallVariables,
    admit_callback: Callable[[Interaction], Awaitable[bool]],
) -> Callbacks:
    callbacks = Callbacks(
        core.config,
        node=core.node,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        tasks=core.tasks,
        timers=core.timers,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        legs=core.legs,
        routing=core.routing,
        calls=core.calls,
        variables=variables,
        admit_callback=admit_callback,
    )

    async def agent_answered(ix: Interaction, channel_id: str) -> bool:
        if ix.direction is Direction.OUTBOUND or ix.kind is not Kind.CALLBACK:
            return False
        await callbacks.agent_answered(ix, channel_id)  # CB-2: dial the customer first
        return True

    async def leg_gone(ix: Interaction, channel_id: str, cause: int) -> bool:
        if ix.direction is Direction.OUTBOUND or ix.status is not Status.DIALING:
            return False
        await callbacks.leg_gone(ix, channel_id, cause)  # CB-3: its customer was dialled
        return True

    core.hooks.on_answered("customer", callbacks.customer_answered)  # CB-3
    core.hooks.agent_answered.append(agent_answered)
    core.hooks.leg_gone.append(leg_gone)
    core.hooks.observe(Callbacks.EVENTS, callbacks.on_ari_event)  # CB-1: the caller's key
    return callbacks
