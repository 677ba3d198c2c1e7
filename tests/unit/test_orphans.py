"""Which channels and bridges the orphan sweep removes, and when: only what
no live interaction wants, and only when two sweeps in a row found it so."""

from __future__ import annotations

import uuid
from typing import cast

import pytest

from controlplane.adapters.ari import AriClient, Bridge, Channel
from controlplane.adapters.store import Store
from controlplane.domain.interaction import (
    Direction,
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
)
from controlplane.domain.legs import LegKind, leg_id
from controlplane.orphans import OrphanSweeper


class FakeAri:
    def __init__(self) -> None:
        self.channels_: dict[str, Channel] = {}
        self.bridges_: set[str] = set()
        self.hung_up: list[str] = []
        self.destroyed: list[str] = []

    def add_channel(self, cid: str, app_data: str | None = None) -> None:
        channel: Channel = {"id": cid, "name": f"PJSIP/x-{cid}"}
        if app_data is not None:
            channel["dialplan"] = {"app_name": "Stasis", "app_data": app_data}
        self.channels_[cid] = channel

    async def channels(self) -> list[Channel]:
        return list(self.channels_.values())

    async def bridges(self) -> list[Bridge]:
        return [{"id": b} for b in sorted(self.bridges_)]

    async def hangup(self, cid: str, reason: str = "normal") -> bool:
        self.hung_up.append(cid)
        return self.channels_.pop(cid, None) is not None

    async def destroy_bridge(self, bid: str) -> bool:
        self.destroyed.append(bid)
        self.bridges_.discard(bid)
        return True


class FakeStore:
    def __init__(self) -> None:
        self.index: dict[str, str] = {}
        self.records: dict[str, Interaction] = {}

    async def channel_interactions(self, channel_ids: list[str]) -> dict[str, str]:
        return {c: self.index[c] for c in channel_ids if c in self.index}

    async def interactions(self, ix_ids: list[str]) -> dict[str, Interaction]:
        return {i: self.records[i] for i in ix_ids if i in self.records}


def _ix(status: Status = Status.CONNECTED) -> Interaction:
    ix_id = uuid.uuid4().hex
    return Interaction(
        id=ix_id,
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme",
        ani="+15550000001",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel=f"cust-{ix_id[:6]}",
        status=status,
        agent_channel=leg_id(ix_id, LegKind.AGENT, 1),
        bridge=ix_id,
    )


def _sweeper(ari: FakeAri, store: FakeStore, seen: dict[str, str] | None = None) -> OrphanSweeper:
    return OrphanSweeper(cast(Store, store), cast(AriClient, ari), "controlplane", (seen or {}).get)


def _live_call(ari: FakeAri, store: FakeStore, status: Status = Status.CONNECTED) -> Interaction:
    ix = _ix(status)
    store.records[ix.id] = ix
    store.index[ix.customer_channel] = ix.id
    ari.add_channel(ix.customer_channel, "controlplane,inbound,8005550100")
    assert ix.agent_channel is not None
    ari.add_channel(ix.agent_channel, "controlplane,agent," + ix.id)
    ari.bridges_.add(ix.id)
    return ix


async def test_live_calls_and_others_channels_are_left_alone() -> None:
    ari, store = FakeAri(), FakeStore()
    ix = _live_call(ari, store)
    consult = leg_id(ix.id, LegKind.CONSULT, 1)
    ix.legs.append(
        Leg(
            channel=consult,
            role=LegRole.CONSULT,
            state=LegState.CONSULTING,
            target="agent",
            agent="bob",
        )
    )
    ari.add_channel(consult)
    ari.bridges_.add(f"{consult}-bridge")
    ari.add_channel("1733.7", "tests,whatever")  # another app's channel
    ari.add_channel("1733.8")  # a channel in the dialplan (a Local half, a phone)
    ari.bridges_.add("someone-elses-bridge")
    sweeper = _sweeper(ari, store)
    for _ in range(3):
        assert await sweeper.sweep() == 0
    assert ari.hung_up == [] and ari.destroyed == []


async def test_other_features_legs_and_bridges_are_left_to_them() -> None:
    """Supervision's legs, snoops and bridges are not in the interaction's
    record; their own reconciliation keeps them, the sweep does not judge."""
    ari, store = FakeAri(), FakeStore()
    ix = _live_call(ari, store)
    ari.add_channel(leg_id(ix.id, LegKind.SUPERVISOR, 1))  # a supervisor's leg
    ari.add_channel(leg_id(ix.id, LegKind.SNOOP, 1), f"controlplane,snoop,{ix.id}")  # a snoop
    ari.bridges_.add(f"{leg_id(ix.id, LegKind.SUPERVISOR, 1)}-bridge")
    ended = _live_call(ari, store, Status.ENDED)
    ari.add_channel(leg_id(ended.id, LegKind.SUPERVISOR, 1))
    sweeper = _sweeper(ari, store)
    await sweeper.sweep()
    await sweeper.sweep()
    assert leg_id(ix.id, LegKind.SUPERVISOR, 1) not in ari.hung_up
    assert leg_id(ix.id, LegKind.SNOOP, 1) not in ari.hung_up
    assert leg_id(ended.id, LegKind.SUPERVISOR, 1) not in ari.hung_up
    assert f"{leg_id(ix.id, LegKind.SUPERVISOR, 1)}-bridge" not in ari.destroyed
    assert set(ari.hung_up) == {ended.customer_channel, str(ended.agent_channel)}


async def test_leftovers_of_an_ended_call_go_on_the_second_sweep() -> None:
    ari, store = FakeAri(), FakeStore()
    ix = _live_call(ari, store, Status.ENDED)
    sweeper = _sweeper(ari, store)
    assert await sweeper.sweep() == 0  # first sighting: maybe work in progress
    assert ari.hung_up == []
    assert await sweeper.sweep() == 3
    assert sorted(ari.hung_up) == sorted([ix.customer_channel, str(ix.agent_channel)])
    assert ari.destroyed == [ix.id]


async def test_a_leg_its_live_call_no_longer_names_goes() -> None:
    ari, store = FakeAri(), FakeStore()
    ix = _live_call(ari, store)
    stale = leg_id(ix.id, LegKind.AGENT, 0)  # an earlier offer's leg whose hang-up was lost
    ari.add_channel(stale)
    gone_consult = (
        f"{leg_id(ix.id, LegKind.CONSULT, 9)}-bridge"  # the bridge of a consult that ended
    )
    ari.bridges_.add(gone_consult)
    sweeper = _sweeper(ari, store)
    await sweeper.sweep()
    assert await sweeper.sweep() == 2
    assert ari.hung_up == [stale] and ari.destroyed == [gone_consult]


@pytest.mark.spec("REL-2", "IN-2")
async def test_a_direct_bridge_left_by_a_move_goes_and_the_shared_one_stays_until_the_end() -> (
    None
):
    ari, store = FakeAri(), FakeStore()
    moved = _live_call(ari, store)
    moved.bridge = f"{moved.id}-shared"  # its parties moved; its direct bridge was left
    ari.bridges_.add(moved.bridge)
    racing = _live_call(ari, store)  # the shared bridge of a move whose record is not written yet
    ari.bridges_.add(f"{racing.id}-shared")
    ended = _live_call(ari, store, Status.ENDED)
    ended.bridge = f"{ended.id}-shared"
    ari.bridges_.add(ended.bridge)
    sweeper = _sweeper(ari, store)
    await sweeper.sweep()
    await sweeper.sweep()
    assert moved.bridge not in ari.destroyed and f"{racing.id}-shared" not in ari.destroyed
    assert sorted(ari.destroyed) == sorted([moved.id, ended.id, f"{ended.id}-shared"])


async def test_an_orphan_seen_once_and_then_wanted_is_kept() -> None:
    ari, store = FakeAri(), FakeStore()
    ix = _live_call(ari, store)
    placed = leg_id(ix.id, LegKind.TRANSFER, 1)  # a transfer leg placed before its record names it
    ari.add_channel(placed)
    sweeper = _sweeper(ari, store)
    await sweeper.sweep()
    ix.legs.append(
        Leg(
            channel=placed,
            role=LegRole.TRANSFER,
            state=LegState.RINGING,
            target="agent",
            agent="bob",
        )
    )
    assert await sweeper.sweep() == 0
    assert await sweeper.sweep() == 0
    assert ari.hung_up == []


async def test_a_new_customer_whose_call_is_being_saved_is_kept() -> None:
    ari, store = FakeAri(), FakeStore()
    ari.add_channel("1733.9", "controlplane,inbound,8005550100")
    seen = {"1733.9": uuid.uuid4().hex}  # StasisStart handled, record not saved yet
    sweeper = _sweeper(ari, store, seen)
    for _ in range(3):
        assert await sweeper.sweep() == 0
    # once this replica no longer knows it (its replica died before saving): it goes
    seen.clear()
    await sweeper.sweep()
    assert await sweeper.sweep() == 1
    assert ari.hung_up == ["1733.9"]


async def test_a_leg_of_ours_without_any_record_goes() -> None:
    ari, store = FakeAri(), FakeStore()
    leg = leg_id(uuid.uuid4().hex, LegKind.OUTDIAL, 1)
    ari.add_channel(leg)
    sweeper = _sweeper(ari, store)
    await sweeper.sweep()
    sweeper.forget()  # ownership lost in between: sightings start afresh
    assert await sweeper.sweep() == 0
    assert await sweeper.sweep() == 1
    assert ari.hung_up == [leg]
