"""Wires preview campaigns (PC-1..PC-4) on top of outdial: a campaign's
contacts are dialled as outdials, whose outcomes move them on (PC-3)."""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.features.campaigns.service import Campaigns
from controlplane.features.outbound.service import Outbound


def plug(core: Core, *, outbound: Outbound) -> Campaigns:
    campaigns = Campaigns(
        store=core.store, notifier=core.notifier, agents=core.agents, outbound=outbound
    )
    outbound.on_connected.append(campaigns.attempt_connected)  # PC-3
    outbound.on_failed.append(campaigns.attempt_failed)  # PC-3: callable again
    return campaigns
