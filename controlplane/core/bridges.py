"""The interaction's bridge in Asterisk (IN-2): created beside the agent's
offer, moved to a shared bridge before the parties' first change, destroyed
at the end. Which kind when: `controlplane.domain.bridges`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

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

    async def share(
        self,
        ix: Interaction,
        *,
        parties_in: bool = True,
        leaving: str | None = None,
    ) -> bool:
        """Before the parties' first change: customer and agent move from the
        direct bridge to the shared one, which the interaction keeps from now
        on (`ix.bridge`). Nothing when they talk there already; True when
        they moved. `parties_in=False`: the call is not bridged yet (a call
        about to be recorded whose bridge was made direct), so only its
        bridge changes. `leaving`: a party that leaves the direct bridge for
        no other (a hold), at the same time as the other moves. Raises
        AriError when they could not move (they stay where they were)."""
        if not rules.must_share(ix):
            return False
        direct, shared = ix.id, rules.shared_bridge_id(ix.id)
        await self._creating.outcome(ix.id)  # (the direct one, created beside the offer)
        try:
            await self.create(ix.id, shared)
        except AriError as exc:
            if exc.status != 409:  # (moved by a step that raced this one)
                raise
        parties = [c for c in (ix.customer_channel, ix.agent_channel) if c and parties_in]
        moving = [c for c in parties if c != leaving]
        # the record names the shared bridge while they move (named back if
        # they could not)
        steps: list[Awaitable[object]] = [self._store.set_bridge(ix.id, shared)]
        if moving:
            steps.append(self._ari.add_to_bridge(shared, moving))
        if leaving in parties:
            steps.append(self._ari.remove_from_bridge(direct, [leaving]))
        done = await asyncio.gather(*steps, return_exceptions=True)
        failed = [r for r in done if isinstance(r, BaseException)]
        if failed:
            with contextlib.suppress(AriError):
                await self._ari.add_to_bridge(direct, parties)
            await asyncio.gather(
                self._store.set_bridge(ix.id, direct), self._ari.destroy_bridge(shared)
            )
            raise failed[0]
        ix.bridge = shared
        log.info("interaction %s: bridge %s", ix.id, shared)
        self._tasks.spawn(f"unbridge:{direct}", self._ari.destroy_bridge(direct))
        return True

    async def add_from_music(self, bridge: str, customer: str, *others: str) -> None:
        """The customer, on music on hold, joins `bridge` (with `others`): the
        music's stop and the add are sent at once. Asterisk runs both through
        the customer channel's command queue, one after the other in
        whichever order they arrive, also once the channel is bridged: the
        music stops either way. Raises the first AriError."""
        stopped, added = await asyncio.gather(
            self._ari.stop_moh(customer),
            self._ari.add_to_bridge(bridge, [customer, *others]),
            return_exceptions=True,
        )
        for result in (added, stopped):
            if isinstance(result, BaseException):
                raise result

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
