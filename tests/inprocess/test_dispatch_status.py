"""The routing script (IN-3) checks the interaction status table: it offers
only an interaction whose status the table lets ring, on a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from controlplane.adapters.store import Store
from controlplane.domain.interaction import Direction, Interaction, Status
from controlplane.domain.legs import LegKind, leg_id

pytestmark = pytest.mark.inprocess

TENANT, TEAM, QUEUE = "acme", "support", "support"


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(redis_url, f"dc{uuid.uuid4().hex[:8]}")
    try:
        yield store
    finally:
        await store.close()


async def _available(store: Store, agent: str, since: int) -> None:
    await store.redis.hset(
        store.agent_key(TENANT, agent), mapping={"state": "available", "extension": "1001"}
    )
    await store.redis.zadd(store.avail_key(TENANT, TEAM), {agent: since})


async def _queued(store: Store, entered_at: int, status: Status) -> Interaction:
    ix = Interaction(
        id=uuid.uuid4().hex,
        tenant=TENANT,
        direction=Direction.INBOUND,
        label="Support",
        ani="+15551230000",
        dnis="+15559870000",
        entry_point="support",
        flow="main",
        queue=QUEUE,
        queue_name="Support",
        node="ast1",
        customer_channel="c1",
        entered_at=entered_at,
    )
    await store.save_interaction(ix)
    await store.enqueue(ix)
    if status is not Status.QUEUED:  # it moved on while its queue entry stayed
        await store.redis.hset(store.ix_key(ix.id), "status", status.value)
    return ix


@pytest.mark.spec("IN-3")
async def test_only_a_queued_interaction_is_offered(store: Store) -> None:
    specs: list[tuple[str, int, tuple[str, ...]]] = [(QUEUE, 1, (TEAM,))]
    await _available(store, "alice", 1)
    ended = await _queued(store, 100, Status.ENDED)
    waiting = await _queued(store, 200, Status.QUEUED)

    first = await store.reserve_next(TENANT, specs, 1000)
    # the ended interaction left the queue without an offer; nobody was reserved
    assert first is None
    assert await store.redis.hget(store.ix_key(ended.id), "status") == "ended"
    assert await store.queue_length(TENANT, QUEUE) == 1
    assert (await store.agent(TENANT, "alice")).state.value == "available"

    second = await store.reserve_next(TENANT, specs, 1001)
    assert second is not None and (second.interaction, second.agent) == (waiting.id, "alice")
    assert await store.redis.hget(store.ix_key(waiting.id), "status") == "ringing"
    assert await store.queue_length(TENANT, QUEUE) == 0


@pytest.mark.spec("CO-1")
async def test_a_consult_request_in_a_queue_reserves_an_agent(store: Store) -> None:
    specs: list[tuple[str, int, tuple[str, ...]]] = [(QUEUE, 1, (TEAM,))]
    await _available(store, "bob", 1)
    owner = uuid.uuid4().hex
    request = leg_id(owner, LegKind.CONSULT, 1)
    await store.enqueue_request(TENANT, QUEUE, request, 50)

    reserved = await store.reserve_next(TENANT, specs, 1000)
    assert reserved is not None and (reserved.interaction, reserved.agent) == (request, "bob")
    # the request is no interaction: no record is written for it
    assert not await store.redis.exists(store.ix_key(request))
    assert (await store.agent(TENANT, "bob")).state.value == "reserved"
