"""The agent's interaction history (HI-1, HI-2).

Every voice interaction an agent wrapped up is kept in the agent's history
(`store.add_history` at wrap-up, newest first, at most `HISTORY_LIMIT`).
The history shows each with the customer's number, direction, times, queue
and wrap-up reason; the "all" and "calls" tabs show the same entries today,
as voice calls are the only media the control plane handles. Click-to-call
(HI-2) dials an entry's number again as an outdial (`service.Outbound`).
"""

from __future__ import annotations

from typing import Literal, Protocol

from controlplane.adapters.store import HISTORY_LIMIT, AgentRecord, Store
from controlplane.config import Tenant
from controlplane.domain.interaction import Interaction, iso
from controlplane.features.outbound.service import customer_number


class Services(Protocol):
    """What the history reads: the store, and the tenant's agents."""

    store: Store

    def tenant(self, tenant_id: str) -> Tenant: ...

    async def agent(self, tenant_id: str, agent_id: str) -> AgentRecord: ...


HistoryType = Literal["all", "calls"]


def entry(ix: Interaction, wrap_up_reasons: dict[str, str]) -> dict[str, object]:
    """HI-1: one interaction as the history shows it."""
    duration = None
    if ix.connected_at is not None and ix.ended_at is not None:
        duration = round((ix.ended_at - ix.connected_at) / 1000)
    return {
        "interaction_id": ix.id,
        "type": "call",
        "kind": ix.kind.value,
        "direction": ix.direction.value,
        "label": ix.label,
        "number": customer_number(ix),
        "ani": ix.ani,
        "dnis": ix.dnis,
        "queue": ix.queue or None,
        "queue_name": ix.queue_name or None,
        "started_at": iso(ix.entered_at),
        "connected_at": iso(ix.connected_at),
        "ended_at": iso(ix.ended_at),
        "duration_seconds": duration,
        "end_cause": ix.end_cause.value if ix.end_cause else None,
        "wrap_up_reason": ix.wrap_up_reason,
        "wrap_up_label": wrap_up_reasons.get(ix.wrap_up_reason or "", ix.wrap_up_reason),
    }


async def ids(cc: Services, tenant_id: str, agent_id: str) -> list[str]:
    """The interaction IDs in the agent's history, newest first."""
    return await cc.store.history(tenant_id, agent_id, limit=HISTORY_LIMIT)


async def entries(
    cc: Services,
    tenant_id: str,
    agent_id: str,
    *,
    kind: HistoryType = "all",
    limit: int = 50,
) -> list[dict[str, object]]:
    """HI-1: the agent's wrapped-up voice interactions, newest first."""
    tenant = cc.tenant(tenant_id)
    await cc.agent(tenant_id, agent_id)  # the agent exists
    out: list[dict[str, object]] = []
    for ix_id in await cc.store.history(tenant_id, agent_id, limit=limit):
        ix = await cc.store.interaction(ix_id)
        if ix is None or ix.tenant != tenant_id:
            continue
        item = entry(ix, tenant.wrap_up_reasons)
        if kind == "calls" and item["type"] != "call":
            continue  # (voice calls are all there is today)
        out.append(item)
    return out
