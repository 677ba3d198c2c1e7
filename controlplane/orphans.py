"""Reconciliation's safety net: channels and bridges that Asterisk still has
but no live interaction wants are hung up and destroyed.

Every hang-up and bridge destruction is tried again until Asterisk confirms
it (`AriClient.hangup`); this sweep finds what is left anyway: a leg whose
originate reached Asterisk after its step had given up, a customer whose
replica died before saving the call, a hang-up lost in a restart.

The sweep judges only what the interaction's record accounts for: the
customer's channel, the legs of roles `a` (agent), `c` (callback customer),
`o` (outdial customer), `k` (consult) and `x` (transfer), the interaction's
bridges (its direct one, ID = its own, and the shared one its parties move
to, `<interaction>-shared`) and a consult's bridge (`<k leg>-bridge`).
Channels and bridges of other features (supervision's legs, snoops and
bridges) are kept by those features' own records and reconciliation, and
are left alone here.

A channel is judged when the channel index or its ID
(`<interaction>-<role><n>`) names its interaction, or when it sits in our
Stasis app with no such name. It is an orphan when its interaction ended,
has no record, or no longer names it. A bridge is an orphan when its
interaction ended, (a consult's) when the consult leg is gone, or (a direct
one) when the parties moved to the shared one. Something is
removed only when two sweeps in a row (`SWEEP_SECONDS` apart) found it
orphaned, so that work in progress (a call being saved, a leg being placed)
is never taken for a leak.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from controlplane.adapters.ari import AriClient, Channel
from controlplane.adapters.store import Store
from controlplane.domain import bridges as bridge_rules
from controlplane.domain import legs as leg_rules
from controlplane.domain.interaction import Interaction, Status
from controlplane.domain.legs import LegKind

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0
_CONSULT_BRIDGE = "-bridge"
# Roles of legs an interaction's record names (customer_channel, agent_channel, legs).
_RECORD_ROLES = frozenset(
    {LegKind.AGENT, LegKind.CALLBACK, LegKind.OUTDIAL, LegKind.CONSULT, LegKind.TRANSFER}
)


def _wanted_channels(ix: Interaction) -> set[str]:
    wanted = {c for c in (ix.customer_channel, ix.agent_channel) if c}
    return wanted | {leg.channel for leg in ix.legs}


def _looks_like_interaction(bridge_id: str) -> bool:
    return len(bridge_id) == 32 and all(c in "0123456789abcdef" for c in bridge_id)


class OrphanSweeper:
    def __init__(
        self,
        store: Store,
        ari: AriClient,
        app: str,
        seen_for: Callable[[str], str | None],
        on_removed: Callable[[str], None] | None = None,
    ) -> None:
        """`seen_for(channel)`: the interaction this replica took the channel
        for, also before the interaction's record is saved; `on_removed(kind)`
        is told of each channel or bridge removed."""
        self._store = store
        self._ari = ari
        self._app = app
        self._seen_for = seen_for
        self._on_removed = on_removed
        self._suspects: set[tuple[str, str]] = set()
        self.removed = 0

    def forget(self) -> None:
        """Start afresh (this replica stopped owning the event stream)."""
        self._suspects.clear()

    def _in_our_app(self, channel: Channel) -> bool:
        dialplan = channel.get("dialplan") or {}
        if dialplan.get("app_name") != "Stasis":
            return False
        return str(dialplan.get("app_data") or "").split(",", 1)[0] == self._app

    async def sweep(self) -> int:
        """One sweep; the number of channels and bridges removed."""
        channels = await self._ari.channels()
        bridges = await self._ari.bridges()
        indexed = await self._store.channel_interactions([c["id"] for c in channels])
        channel_owner: dict[str, str | None] = {}
        for channel in channels:
            cid = channel["id"]
            role = leg_rules.leg_kind(cid)
            if role is not None and role not in _RECORD_ROLES:
                continue  # another feature's leg
            owner = indexed.get(cid) or leg_rules.leg_interaction(cid) or self._seen_for(cid)
            if owner is not None or self._in_our_app(channel):
                channel_owner[cid] = owner
        bridge_owner: dict[str, str] = {}
        for bridge in bridges:
            bid = bridge["id"]
            if bid.endswith(_CONSULT_BRIDGE):
                leg = bid.removesuffix(_CONSULT_BRIDGE)
                if leg_rules.leg_kind(leg) != LegKind.CONSULT:
                    continue  # another feature's bridge
                owner = leg_rules.leg_interaction(leg)
            else:
                owner = bridge_rules.shared_owner(bid) or (
                    bid if _looks_like_interaction(bid) else None
                )
            if owner is not None:
                bridge_owner[bid] = owner
        owners = {o for o in channel_owner.values() if o} | set(bridge_owner.values())
        records = await self._store.interactions(sorted(owners))

        orphans: set[tuple[str, str]] = set()
        for cid, owner in channel_owner.items():
            ix = records.get(owner) if owner else None
            if ix is None:
                if owner is not None and self._seen_for(cid) == owner:
                    continue  # taken for a call whose record is being saved
                orphans.add(("channel", cid))
            elif ix.status is Status.ENDED or cid not in _wanted_channels(ix):
                orphans.add(("channel", cid))
        for bid, owner in bridge_owner.items():
            ix = records.get(owner)
            if ix is None:
                continue  # not a bridge of ours after all
            if ix.status is Status.ENDED:
                orphans.add(("bridge", bid))
            elif bid.endswith(_CONSULT_BRIDGE):
                leg_channel = bid.removesuffix(_CONSULT_BRIDGE)
                if all(leg.channel != leg_channel for leg in ix.legs):
                    orphans.add(("bridge", bid))
            elif bid == ix.id and ix.bridge == bridge_rules.shared_bridge_id(ix.id):
                orphans.add(("bridge", bid))  # (left by the move)

        confirmed = orphans & self._suspects
        self._suspects = orphans - confirmed
        for kind, item in sorted(confirmed):
            log.warning("%s %s belongs to no live interaction: removing it", kind, item)
            if kind == "channel":
                await self._ari.hangup(item)
            else:
                await self._ari.destroy_bridge(item)
            if self._on_removed is not None:
                self._on_removed(kind)
        self.removed += len(confirmed)
        return len(confirmed)
