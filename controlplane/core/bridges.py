"""The interaction's bridge in Asterisk (IN-2): created beside the agent's
offer, moved to a shared bridge before the parties' first change, destroyed
at the end. Which kind when: `controlplane.domain.bridges`."""

from __future__ import annotations

import contextlib
import logging

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store
from controlplane.domain import bridges as rules
from controlplane.domain.interaction import Interaction
from controlplane.tasks import Beside, TaskGroup

log = logging.getLogger(__name__)


class Bridges:
    def __init__(self, *, store: Store, ari: AriClient, tasks: TaskGroup) -> None:
        self._store = store
        self._ari = ari
        self._tasks = tasks
        # IN-1: the interactions' bridges being created beside their offers
        self._creating = Beside(tasks, "bridge")

    async def create(self, ix_id: str, bridge: str) -> None:
        """The interaction's bridge: its direct one (ID = the interaction's),
        or its shared one (a call to be recorded)."""
        kind = rules.DIRECT_TYPE if bridge == ix_id else rules.SHARED_TYPE
        await self._ari.create_bridge(bridge, name=f"ix-{ix_id}", kind=kind)

    def create_beside(self, ix_id: str, bridge: str) -> None:
        """IN-2: create the bridge while the agent's phone rings, so that it is
        ready when the agent answers."""
        self._creating.start(ix_id, self._create_early(ix_id, bridge))

    async def _create_early(self, ix_id: str, bridge: str) -> bool:
        try:
            await self.create(ix_id, bridge)
        except AriError as exc:
            log.warning("bridge of %s not created beside its offer: %s", ix_id, exc)
            return False
        return True

    async def created(self, ix_id: str) -> bool | None:
        """Waits for the bridge this replica creates beside the offer: True
        when created, False when that failed, None when there was none."""
        return await self._creating.outcome(ix_id)

    async def share(self, ix: Interaction, *, parties_in: bool = True) -> None:
        """Before the parties' first change: customer and agent move from the
        direct bridge to the shared one, which the interaction keeps from now
        on (`ix.bridge`, written here). Nothing when they are there already
        or a recorder mixes their bridge. `parties_in=False`: the call is not
        bridged yet (a call about to be recorded), so only its bridge changes.
        Raises AriError when they could not move (they stay where they were)."""
        if not rules.must_share(ix):
            return
        direct, shared = ix.id, rules.shared_bridge_id(ix.id)
        await self._creating.outcome(ix.id)  # (the direct one, created beside the offer)
        try:
            await self._ari.create_bridge(shared, name=f"ix-{ix.id}", kind=rules.SHARED_TYPE)
        except AriError as exc:
            if exc.status != 409:  # (moved by a step that raced this one)
                raise
        channels = [c for c in (ix.customer_channel, ix.agent_channel) if c and parties_in]
        if channels:
            try:
                await self._ari.add_to_bridge(shared, channels)
            except AriError:
                # back where they were (those still there); the shared bridge goes
                with contextlib.suppress(AriError):
                    await self._ari.add_to_bridge(direct, channels)
                await self._ari.destroy_bridge(shared)
                raise
        ix.bridge = shared
        await self._store.set_bridge(ix.id, shared)
        log.info("interaction %s: bridge %s", ix.id, shared)
        self._tasks.spawn(f"unbridge:{direct}", self._ari.destroy_bridge(direct))

    async def destroy(self, ix: Interaction) -> None:
        """The interaction ended: its bridge goes (one still being created
        beside the offer is waited for first)."""
        await self._creating.outcome(ix.id)
        if not ix.bridge:
            return
        try:
            await self._ari.destroy_bridge(ix.bridge)
        except AriError as exc:
            log.warning("destroying bridge %s failed: %s", ix.bridge, exc)
