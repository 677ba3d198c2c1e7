"""Wires blind transfer (TR-1..TR-7) into the core: a target's leg answers
or ends; a number that took the call hangs up."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.features.media.service import MediaService
from controlplane.features.transfers.service import TransferService
from controlplane.features.variables.service import CallVariables


def plug(core: Core, *, media: MediaService, variables: CallVariables) -> TransferService:
    transfers = TransferService(
        core.config,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        legs=core.legs,
        routing=core.routing,
        calls=core.calls,
        wrapup=core.wrapup,
        media=media,
        variables=variables,
    )
    core.hooks.on_answered("transfer", transfers.leg_answered)  # TR-2, TR-5: the target
    core.hooks.leg_gone.append(transfers.leg_gone)
    return transfers
