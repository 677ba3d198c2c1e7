"""Wires hold and recording (HOLD-1..HOLD-2, REC-1..REC-3) into the core."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.domain.interaction import Interaction, Status
from controlplane.features.media.service import MediaService


def plug(core: Core) -> MediaService:
    media = MediaService(
        node=core.node,
        ari=core.ari,
        store=core.store,
        notifier=core.notifier,
        timers=core.timers,
        serial=core.serial,
        agents=core.agents,
        interactions=core.interactions,
        bridges=core.bridges,
    )
    core.hooks.connecting.append(media.connecting)  # REC-1: the recorder joins first
    core.hooks.records = media.records  # IN-2: such a call's bridge is shared from the start

    def may_end(ix: Interaction, _agent: str | None) -> None:
        media.require_may_end(ix)  # END-1: not a held call

    async def ended(ix: Interaction, was: Status) -> bool:
        await media.ended(ix, was)  # REC-1: the file complete
        return False

    core.hooks.before_end.append(may_end)
    core.hooks.ending.append(ended)
    return media
