"""Wires supervision (SUP-1..SUP-6) into the core: every published event is
counted; the supervisor's leg and the snoop enter the Stasis app, or end;
the interaction ends; the event stream reconnects."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.domain.interaction import Interaction, Status
from controlplane.features.supervision.service import Supervision


def plug(core: Core) -> Supervision:
    supervision = Supervision(
        core.config,
        node=core.node,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        legs=core.legs,
        bridges=core.bridges,
    )
    hooks, notifier = core.hooks, core.notifier

    async def leg_gone(ix: Interaction, channel_id: str, _cause: int) -> bool:
        return await supervision.leg_gone(ix, channel_id)  # SUP-5

    async def ended(ix: Interaction, _was: Status) -> bool:
        await supervision.interaction_ended(ix)  # SUP-5
        return False

    notifier.hooks.append(supervision.count_event)  # SUP-1..SUP-3, SUP-6
    hooks.on_answered("supervisor", supervision.leg_answered)  # SUP-5: the supervisor's phone
    hooks.on_answered("snoop", supervision.snoop_started)  # SUP-5: a snoop on the agent's leg
    hooks.leg_gone.append(leg_gone)
    hooks.ending.append(ended)
    hooks.reconcile.append(supervision.reconcile)  # SUP-5: monitors, whispers, barges
    return supervision
