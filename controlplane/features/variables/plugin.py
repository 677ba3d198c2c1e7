"""Wires the call variables (CAD-1..CAD-7) into the core: a new interaction
starts with its flow's variables, and an offer shows them."""

from __future__ import annotations

from controlplane.adapters.store import Batch
from controlplane.core.assembly import Core
from controlplane.domain.interaction import Interaction
from controlplane.features.variables.service import CallVariables


def plug(core: Core) -> CallVariables:
    variables = CallVariables(core.config, core.store, core.notifier)

    def created(ix: Interaction, pipe: Batch) -> None:
        variables.initialise_on(pipe, ix)  # CAD-1

    core.hooks.created.append(created)
    core.hooks.offer_variables = variables.for_offer  # IN-1
    return variables
