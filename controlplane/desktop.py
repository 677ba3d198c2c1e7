"""What the agent desktop shows after a reload, a reconnection or a service
restart (DSK-13): one snapshot of the agent's state, offer, call, consult,
variables, pending wrap-up and RONA, with the tenant's settings the desktop
needs and the server's time (timers run from server timestamps).

Each part comes from the service that answers it elsewhere in the API, so the
snapshot shows exactly what the single routes show.
"""

from __future__ import annotations

import re
from typing import Any

from controlplane.contact_center import ContactCenter
from controlplane.domain import consult as consult_rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain import legs as leg_rules
from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import Direction, Interaction, LegRole, iso, now_ms

_IX_ID = re.compile(r"^[0-9a-f]{32}$")


def _interaction_of(ref: str | None) -> str | None:
    """The interaction an agent record's `offer` or `interaction` names (an
    interaction ID, or the ID of one of its legs)."""
    if not ref:
        return None
    if _IX_ID.match(ref):
        return ref
    return leg_rules.leg_interaction(ref)


async def _offer(cc: ContactCenter, ix: Interaction, ref: str) -> dict[str, object]:
    """The offer as its `interaction.offered` (or `consult_offered`) event
    showed it to this agent."""
    leg = leg_rules.leg_of(ix, ref) if ref != ix.id else None
    if leg is not None and leg.role is LegRole.CONSULT:
        return await cc.consults.offer_payload(ix, leg)
    if ix.direction is Direction.OUTBOUND:
        payload = ix_rules.offer(ix, [])
        payload["can_cancel"] = cc.tenant(ix.tenant).outdial_cancel
        return payload
    payload = ix_rules.offer(ix, await cc.variables.for_offer(ix))
    if leg is not None:  # a blind transfer's target
        payload["transfer_from"] = leg.by
    return payload


async def snapshot(cc: ContactCenter, tenant_id: str, agent_id: str) -> dict[str, Any]:
    tenant = cc.tenant(tenant_id)
    cfg = tenant.agents[agent_id]
    profile = tenant.profiles[cfg.profile]
    record = await cc.agent(tenant_id, agent_id)
    server_time = iso(now_ms())
    interaction: Interaction | None = None
    offer: dict[str, object] | None = None
    consult: dict[str, object] | None = None
    variables: dict[str, object] | None = None
    wrap_up: dict[str, object] | None = None

    offer_ix = _interaction_of(record.offer)
    if record.state is AgentState.RESERVED and offer_ix and record.offer:
        found = await cc.store.interaction(offer_ix)
        if found is not None and found.tenant == tenant_id:
            interaction = found
            offer = await _offer(cc, found, record.offer)
    own_ix = _interaction_of(record.interaction)
    if interaction is None and own_ix:
        found = await cc.store.interaction(own_ix)
        if found is not None and found.tenant == tenant_id:
            interaction = found
    if interaction is not None:
        leg = leg_rules.consult_leg(interaction)
        if leg is not None and consult_rules.role_of(interaction, leg, agent_id) is not None:
            consult = cc.consults.describe(interaction, leg, agent_id)
        # CAD-6: the interaction's agent sees its variables; a consulted
        # agent only the consult offer's (CO-2)
        if record.state is AgentState.CONNECTED and interaction.agent == agent_id:
            variables = await cc.variables.read(interaction, viewer=agent_id)
        if record.state is AgentState.WRAP_UP:
            wrap_up = {
                "interaction_id": interaction.id,
                "reasons": dict(tenant.wrap_up_reasons),
                "auto_wrap_up_seconds": tenant.auto_wrap_up_seconds,
                "ended_at": iso(interaction.ended_at),
            }
    rona = None
    if record.state is AgentState.RONA:
        rona = {"reason": record.reason, "choices": ["available", "idle"]}
    return {
        "agent": {**record.public(), "name": cfg.name, "team": cfg.team},
        "interaction": interaction.public() if interaction is not None else None,
        "offer": offer,
        "consult": consult,
        "variables": variables,
        "wrap_up": wrap_up,
        "rona": rona,
        "server_time": server_time,
        "config": {
            "idle_reasons": dict(tenant.idle_reasons),
            "wrap_up_reasons": dict(tenant.wrap_up_reasons),
            "auto_wrap_up_seconds": tenant.auto_wrap_up_seconds,
            "outdial": profile.outdial,
            "keypad": profile.keypad,
            "outdial_cancel": tenant.outdial_cancel,
            "privacy_shield_seconds": (
                tenant.privacy_shield_seconds if profile.privacy_shield else 0
            ),
            "campaigns": await cc.campaigns.list_for(tenant_id, cfg.team),
        },
    }
