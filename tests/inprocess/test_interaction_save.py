"""Saving an interaction (IN-2, HOLD-1, END-2) on a real Redis: a copy read
from the store writes only the fields it changed, so that what another step
(on this replica or another) changed since the read stays as that step left
it; a new interaction writes its whole record."""

from __future__ import annotations

import pytest

from controlplane.adapters.store import Store
from controlplane.domain.interaction import EndCause, Interaction, Status
from tests.support.records import support_call

pytestmark = pytest.mark.inprocess


async def _connected(store: Store) -> Interaction:
    ix = support_call(
        status=Status.CONNECTED, agent="alice", agent_channel="a1", bridge="direct-1"
    )
    await store.save_interaction(ix)
    return ix


async def _record(store: Store, ix_id: str) -> dict[str, str]:
    raw = await store.redis.hgetall(store.ix_key(ix_id))
    return {str(k): str(v) for k, v in raw.items()}


async def _read(store: Store, ix_id: str) -> Interaction:
    ix = await store.interaction(ix_id)
    assert ix is not None
    return ix


@pytest.mark.spec("IN-2", "HOLD-1")
async def test_a_copy_read_before_a_bridge_move_keeps_the_move(store: Store) -> None:
    """The parties moved to the shared bridge (another step wrote that field
    alone) while a step holding an older copy put the customer on hold: the
    hold's save leaves the new bridge in place."""
    new = await _connected(store)
    older = await _read(store, new.id)
    assert await store.set_bridge(new.id, "shared-1")
    older.held = True
    await store.save_interaction(older)
    record = await _record(store, new.id)
    assert record["bridge"] == "shared-1"
    assert record["held"] == "True"


@pytest.mark.spec("END-2")
async def test_a_copy_read_before_the_end_does_not_bring_the_call_back(store: Store) -> None:
    new = await _connected(store)
    older = await _read(store, new.id)
    ending = await _read(store, new.id)
    ending.status, ending.end_cause, ending.ended_at = Status.ENDED, EndCause.AGENT_END, 1
    await store.save_interaction(ending)
    older.held = True  # decided before the end, saved after it
    await store.save_interaction(older)
    record = await _record(store, new.id)
    assert record["status"] == "ended" and record["end_cause"] == EndCause.AGENT_END.value


@pytest.mark.spec("HOLD-1")
async def test_a_copy_saved_again_writes_what_it_changed_since_its_last_save(
    store: Store,
) -> None:
    new = await _connected(store)
    ix = await _read(store, new.id)
    ix.held = True
    await store.save_interaction(ix)
    ix.held = False  # back to what was read: still a change since the last save
    ix.agent, ix.agent_channel = None, None  # fields that go
    await store.save_interaction(ix)
    record = await _record(store, new.id)
    assert record["held"] == "False"
    assert "agent" not in record and "agent_channel" not in record
    assert record == (await _read(store, new.id)).to_fields() == ix.to_fields()


@pytest.mark.spec("IN-2")
async def test_a_new_interaction_writes_its_whole_record(store: Store) -> None:
    ix = await _connected(store)
    assert await _record(store, ix.id) == ix.to_fields()
    # a save of an unchanged copy writes no field of the record
    copy = await _read(store, ix.id)
    await store.redis.hset(store.ix_key(ix.id), "label", "changed elsewhere")
    await store.save_interaction(copy)
    assert (await _record(store, ix.id))["label"] == "changed elsewhere"
