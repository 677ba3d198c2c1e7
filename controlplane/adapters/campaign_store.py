"""Preview campaigns in Redis (PC-1..PC-4).

Keys (under the datacenter's hash tag, so the scripts touch one cluster slot):

- `campaigns:<tenant>`: the definitions (hash: campaign id -> JSON);
- `campaigns_seeded:<tenant>`: `loading` or `done` once the configuration's
  campaigns are loaded;
- `campaign:<tenant>:<campaign>:contacts|order|state|ready|previews|seq`:
  the contacts (JSON), their place in the list, their state (`ready`,
  `preview:<agent>`, `dialing:<interaction>`, `done:<interaction>`), the
  `ready` ones in list order (sorted set), the previews by expiry (sorted
  set) and the list's counter;
- `preview:<tenant>:<agent>`: the agent's preview (`<campaign>|<contact>`,
  expiring with it);
- `ix:<interaction>:guide`: the call guide's submitted answers (JSON).

Taking a contact, leaving a preview and moving a contact on from the state
expected are each one Lua step (`campaign_next.lua`,
`campaign_leave_preview.lua`, `campaign_move.lua`).
"""

from __future__ import annotations

import json
from typing import Any, cast

from controlplane.adapters.store import Store, _script

CONTACT_KEYS = ("contacts", "order", "state", "ready", "previews", "seq")


class CampaignStore:
    def __init__(self, store: Store) -> None:
        self._redis = store.redis
        self._p = store.prefix
        self._next = store.redis.register_script(_script("campaign_next.lua"))
        self._leave = store.redis.register_script(_script("campaign_leave_preview.lua"))
        self._move = store.redis.register_script(_script("campaign_move.lua"))

    # Keys ----------------------------------------------------------------------------

    def _defs_key(self, tenant: str) -> str:
        return f"{self._p}campaigns:{tenant}"

    def _seeded_key(self, tenant: str) -> str:
        return f"{self._p}campaigns_seeded:{tenant}"

    def _base(self, tenant: str, cid: str) -> str:
        return f"{self._p}campaign:{tenant}:{cid}"

    def _preview_key(self, tenant: str, agent: str) -> str:
        return f"{self._p}preview:{tenant}:{agent}"

    def _guide_key(self, ix_id: str) -> str:
        return f"{self._p}ix:{ix_id}:guide"

    # The configuration's campaigns, loaded once ----------------------------------------

    async def seeded(self, tenant: str) -> bool:
        return bool(await self._redis.get(self._seeded_key(tenant)) == "done")

    async def claim_seeding(self, tenant: str, lock_ms: int) -> bool:
        """True for the one replica that loads the tenant's configured campaigns."""
        return bool(await self._redis.set(self._seeded_key(tenant), "loading", nx=True, px=lock_ms))

    async def mark_seeded(self, tenant: str) -> None:
        await self._redis.set(self._seeded_key(tenant), "done")

    # Definitions and contacts (PC-1) ----------------------------------------------------

    async def add_definition(self, tenant: str, cid: str, definition: dict[str, Any]) -> bool:
        """False when a campaign of that ID exists."""
        return bool(await self._redis.hsetnx(self._defs_key(tenant), cid, json.dumps(definition)))

    async def definition(self, tenant: str, cid: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(self._defs_key(tenant), cid)
        return cast(dict[str, Any], json.loads(raw)) if raw is not None else None

    async def definitions(self, tenant: str) -> dict[str, dict[str, Any]]:
        raw = cast(dict[str, str], await self._redis.hgetall(self._defs_key(tenant)))
        return {cid: cast(dict[str, Any], json.loads(body)) for cid, body in raw.items()}

    async def add_contact(
        self, tenant: str, cid: str, contact_id: str, body: dict[str, Any]
    ) -> bool:
        """Append a contact, `ready`, at the end of the list; False when the
        campaign has a contact of that ID."""
        base = self._base(tenant, cid)
        if not await self._redis.hsetnx(f"{base}:contacts", contact_id, json.dumps(body)):
            return False
        order = int(await self._redis.incr(f"{base}:seq"))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{base}:order", contact_id, order)
            pipe.hset(f"{base}:state", contact_id, "ready")
            pipe.zadd(f"{base}:ready", {contact_id: order})
            await pipe.execute()
        return True

    async def delete(self, tenant: str, cid: str) -> None:
        """The campaign's definition and contacts, in one transaction."""
        base = self._base(tenant, cid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._defs_key(tenant), cid)
            for suffix in CONTACT_KEYS:
                pipe.delete(f"{base}:{suffix}")
            await pipe.execute()

    async def contact_states(self, tenant: str, cid: str) -> dict[str, str]:
        return cast(dict[str, str], await self._redis.hgetall(f"{self._base(tenant, cid)}:state"))

    async def contacts_in_order(self, tenant: str, cid: str) -> list[tuple[str, dict[str, Any]]]:
        """Every contact (ID and body) in list order."""
        base = self._base(tenant, cid)
        raw = cast(dict[str, str], await self._redis.hgetall(f"{base}:contacts"))
        order = cast(dict[str, str], await self._redis.hgetall(f"{base}:order"))
        return [
            (c, cast(dict[str, Any], json.loads(raw[c])))
            for c in sorted(raw, key=lambda c: int(order.get(c, 0)))
        ]

    async def contact(self, tenant: str, cid: str, contact_id: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(f"{self._base(tenant, cid)}:contacts", contact_id)
        return cast(dict[str, Any], json.loads(raw)) if raw is not None else None

    # Previews (PC-2, PC-3) ---------------------------------------------------------------

    async def take_next(
        self, tenant: str, agent: str, cids: list[str], *, now: int, preview_ms: int
    ) -> tuple[str, str] | None:
        """The agent's preview, or the next ready contact of the first of
        `cids` that has one, made the agent's preview: (campaign, contact)."""
        got = await self._next(keys=[], args=[self._p, tenant, agent, now, preview_ms, *cids])
        return (str(got[0]), str(got[1])) if got else None

    async def preview(self, tenant: str, agent: str) -> tuple[str, str] | None:
        """The agent's preview: (campaign, contact)."""
        raw = await self._redis.get(self._preview_key(tenant, agent))
        if raw is None:
            return None
        cid, _, contact = str(raw).partition("|")
        return cid, contact

    async def preview_ttl_ms(self, tenant: str, agent: str) -> int:
        """How long the agent's preview still lasts (negative: none)."""
        return int(await self._redis.pttl(self._preview_key(tenant, agent)))

    async def leave_preview(
        self, tenant: str, agent: str, cid: str, contact: str, what: str
    ) -> bool:
        """The agent's preview ends: `skip` (the contact to the end of the list)
        or `call:<interaction>` (dialing); False when it is not the agent's."""
        left = await self._leave(keys=[], args=[self._p, tenant, agent, cid, contact, what])
        return bool(left)

    async def move_contact(
        self,
        tenant: str,
        cid: str,
        contact_id: str,
        expected: str,
        new: str,
        *,
        agent: str,
        now: int,
        preview_ms: int,
    ) -> bool:
        """The contact's state moves from `expected` to `new` (`ready` puts it
        back at its place; `preview:<agent>` makes it the agent's preview again)."""
        base = self._base(tenant, cid)
        moved = await self._move(
            keys=[
                f"{base}:state",
                f"{base}:ready",
                f"{base}:order",
                f"{base}:previews",
                self._preview_key(tenant, agent),
            ],
            args=[contact_id, expected, new, f"{cid}|{contact_id}", now + preview_ms, preview_ms],
        )
        return bool(moved)

    # The call guide's answers (PC-4) ----------------------------------------------------

    async def guide_answers(self, ix_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._guide_key(ix_id))
        return cast(dict[str, Any], json.loads(raw)) if raw else None

    async def save_guide_answers(self, ix_id: str, answers: dict[str, Any]) -> None:
        await self._redis.set(self._guide_key(ix_id), json.dumps(answers))
