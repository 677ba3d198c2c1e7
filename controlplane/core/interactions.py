"""Interactions: looking one up for a tenant, and which interaction each
channel this replica has seen belongs to."""

from __future__ import annotations

import re

from controlplane.adapters.store import Store
from controlplane.domain import legs as leg_rules
from controlplane.domain.errors import NotFound
from controlplane.domain.interaction import Interaction


class Interactions:
    def __init__(self, *, store: Store) -> None:
        self._store = store
        # channel id -> interaction id, for the channels this replica has seen
        self._channels: dict[str, str] = {}

    async def get(self, tenant_id: str, ix_id: str) -> Interaction:
        """The tenant's interaction, or NotFound."""
        ix = await self._store.interaction(ix_id) if re.fullmatch(r"[0-9a-f]{32}", ix_id) else None
        if ix is None or ix.tenant != tenant_id:
            raise NotFound(f"unknown interaction {ix_id!r}", interaction=ix_id)
        return ix

    def track(self, channel_id: str, ix_id: str) -> None:
        """The channel belongs to the interaction (from its StasisStart, or
        from when we placed it, before the interaction's record is saved)."""
        self._channels[channel_id] = ix_id

    def untrack(self, channel_id: str) -> None:
        self._channels.pop(channel_id, None)

    def owner(self, channel_id: str) -> str | None:
        """The interaction this replica took a channel for."""
        return self._channels.get(channel_id)

    def owner_of_leg(self, channel_id: str) -> str | None:
        """The channel's interaction: as tracked, else as its leg ID names it."""
        return self._channels.get(channel_id) or leg_rules.leg_interaction(channel_id)
