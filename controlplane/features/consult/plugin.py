"""Wires consult and conference (CO-1..CO-6, CF-1..CF-7, HOLD-3) into the
core: the consulted party's leg answers or ends, a queue consult's agent is
reserved, the interaction ends, the event stream reconnects; holding and
resuming the customer switch between the parties."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.domain.consult import Action
from controlplane.domain.interaction import Interaction, Status
from controlplane.features.consult.service import ConsultService
from controlplane.features.media.service import MediaService
from controlplane.features.transfers.service import TransferService
from controlplane.features.variables.service import CallVariables


def plug(
    core: Core,
    *,
    media: MediaService,
    variables: CallVariables,
    transfers: TransferService,
) -> ConsultService:
    consults = ConsultService(
        core.config,
        node=core.node,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        legs=core.legs,
        routing=core.routing,
        calls=core.calls,
        media=media,
        variables=variables,
        transfers=transfers,
    )

    def may_wrap_up(ix: Interaction, agent: str | None) -> None:
        consults.refuse_consulted(ix, agent, Action.WRAP_UP)  # CO-5

    async def finishing(ix: Interaction, _was: Status) -> bool:
        return await consults.finishing(ix)  # CO-6, CF-7: consult and transfer legs

    hooks = core.hooks
    hooks.on_answered("consult", consults.leg_answered)  # CO-3: the consulted party
    hooks.leg_gone.append(consults.leg_gone)
    hooks.ending.append(finishing)
    hooks.before_wrap_up.append(may_wrap_up)
    hooks.reconcile_interaction.append(consults.reconcile)  # TR, CO: further legs
    hooks.request_reserved = consults.queue_offer  # CO-1: a queue consult's agent
    media.on_hold.append(consults.on_hold)  # HOLD-3, CF-3
    media.on_resume.append(consults.on_resume)
    return consults
