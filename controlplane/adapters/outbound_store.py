"""Outbound calls in Redis (OD-4, OD-5, OD-8, LIM-1..LIM-3).

Keys: `outbound:<interaction>`, the outbound record of an interaction
(hash: the agent, the agent's state and reason before the attempt, the
source, post-dial tones, campaign and contact, and `suspect`, a leg the
watchdog found missing once). The call starts in one Lua step
(`outbound_start.lua`): admitted against the limits, the agent reserved,
the interaction and its record created.
"""

from __future__ import annotations

from typing import Any, cast

from controlplane.adapters.store import Store, _script
from controlplane.domain.interaction import Interaction


class OutboundStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._redis = store.redis
        self._start = store.redis.register_script(_script("outbound_start.lua"))

    def record_key(self, ix_id: str) -> str:
        return f"{self._store.prefix}outbound:{ix_id}"

    async def record(self, ix_id: str) -> dict[str, str]:
        """The outbound record's fields ({} when the interaction has none)."""
        return cast(dict[str, str], await self._redis.hgetall(self.record_key(ix_id)))

    async def start(
        self,
        ix: Interaction,
        *,
        team: str,
        allowed: list[str],
        record: dict[str, str],
        at: int,
        lease_until: int,
        datacenter_limit: int,
        tenant_limit: int,
    ) -> list[Any]:
        """OD-4: admit, reserve the agent and create the interaction with its
        record, in one step. Returns the script's answer: `['ok', previous
        state, previous reason, sequence]`, `['limit', code]`, `['agent',
        state]` or `['device', state]`."""
        store = self._store
        fields = ix.to_fields()
        argv: list[str | int] = [
            ix.agent or "",
            ",".join(sorted(allowed)),
            at,
            lease_until,
            datacenter_limit,
            tenant_limit,
            ix.id,
            "outdial",
            len(fields),
        ]
        for key, value in fields.items():
            argv += [key, value]
        for key, value in record.items():
            argv += [key, value]
        keys = [
            store.agent_key(ix.tenant, ix.agent or ""),
            store.avail_key(ix.tenant, team),
            store.dc_slots_key(),
            store.tenant_slots_key(ix.tenant),
            store.busy_devices_key(),
            store.ix_key(ix.id),
            store.active_key(),
            self.record_key(ix.id),
        ]
        return cast(list[Any], await self._start(keys=keys, args=argv))

    async def mark_suspect(self, ix_id: str, leg: str) -> None:
        """OD-5: the watchdog found `leg` missing once."""
        await self._redis.hset(self.record_key(ix_id), "suspect", leg)

    async def clear_suspect(self, ix_id: str) -> None:
        await self._redis.hdel(self.record_key(ix_id), "suspect")
