"""The routing script (IN-3) on a real Redis: it offers only an interaction
whose status the table lets ring; sent behind a new call's admission (one
round trip), it sees the call just queued, and a pair it reserves reaches
the caller whatever the admission's outcome."""

from __future__ import annotations

import uuid

import pytest

from controlplane.adapters.store import RouteBehind, RoutingStep, Store
from controlplane.domain.interaction import Interaction, Status
from controlplane.domain.legs import LegKind, leg_id
from tests.support.records import support_call

pytestmark = pytest.mark.inprocess

TENANT, TEAM, QUEUE = "acme", "support", "support"


async def _available(store: Store, agent: str, since: int) -> None:
    await store.redis.hset(
        store.agent_key(TENANT, agent), mapping={"state": "available", "extension": "1001"}
    )
    await store.redis.zadd(store.avail_key(TENANT, TEAM), {agent: since})


def _interaction(entered_at: int) -> Interaction:
    return support_call(entered_at=entered_at)


async def _queued(store: Store, entered_at: int, status: Status) -> Interaction:
    ix = _interaction(entered_at)
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


SPECS: list[tuple[str, int, tuple[str, ...]]] = [(QUEUE, 1, (TEAM,))]


async def _admit_routed(
    store: Store,
    ix: Interaction,
    *,
    dc_limit: int = 10,
    bad_write: bool = False,
    forgotten: bool = False,
) -> tuple[int | Exception, list[RoutingStep]]:
    """A new call's admission with its save and the routing step behind it:
    the admission's code (or its error) and what the routing step handed on."""
    steps: list[RoutingStep] = []
    for script in (store._admit, store._dispatch):  # as after the service's first calls
        await store.redis.script_load(script.script)
    if forgotten:  # Redis restarted: it knows the routing step's script alone
        await store.redis.script_flush()
        await store.redis.script_load(store._dispatch.script)
    writes = list(store.saving(ix, new_channel=ix.customer_channel, enqueue=True))
    if bad_write:
        writes.append(("NOSUCHCOMMAND", "x"))  # the script fails after its slot
    try:
        code: int | Exception = await store.admit(
            ix.id,
            TENANT,
            dc_limit=dc_limit,
            tenant_limit=10,
            now=ix.entered_at,
            lease_ms=60_000,
            writes=writes,
            route=RouteBehind(SPECS, steps.append),
        )
    except Exception as exc:  # what the admission raised
        code = exc
    return code, steps


@pytest.mark.spec("IN-3", "LIM-1")
async def test_the_routing_step_behind_an_admission_sees_the_call_just_queued(
    store: Store,
) -> None:
    await _available(store, "alice", 1)
    ix = _interaction(1000)
    code, steps = await _admit_routed(store, ix)
    assert code == 0
    assert len(steps) == 1 and steps[0].after_admission
    reserved = steps[0].reservation
    assert reserved is not None and (reserved.interaction, reserved.agent) == (ix.id, "alice")
    assert await store.redis.hget(store.ix_key(ix.id), "status") == "ringing"
    assert (await store.agent(TENANT, "alice")).state.value == "reserved"
    # no agent left: the next call is queued and the step behind it finds no pair
    second = _interaction(1001)
    code, steps = await _admit_routed(store, second)
    assert code == 0 and steps == [RoutingStep(None, after_admission=True)]
    assert await store.queue_length(TENANT, QUEUE) == 1


@pytest.mark.spec("IN-3", "LIM-2")
async def test_a_pair_reserved_behind_a_refused_admission_is_handed_on(store: Store) -> None:
    """The datacenter is full: the new call is refused and writes nothing, but
    the routing step behind it still ran and paired a call waiting before."""
    waiting = await _queued(store, 100, Status.QUEUED)
    await _available(store, "alice", 1)
    ix = _interaction(1000)
    code, steps = await _admit_routed(store, ix, dc_limit=0)
    assert code == 26
    assert len(steps) == 1 and steps[0].reservation is not None
    assert (steps[0].reservation.interaction, steps[0].reservation.agent) == (waiting.id, "alice")
    assert not await store.redis.exists(store.ix_key(ix.id))


@pytest.mark.spec("IN-3", "REL-2")
async def test_a_pair_reserved_behind_a_failing_admission_is_handed_on(store: Store) -> None:
    waiting = await _queued(store, 100, Status.QUEUED)
    await _available(store, "alice", 1)
    code, steps = await _admit_routed(store, _interaction(1000), bad_write=True)
    assert isinstance(code, Exception)
    assert len(steps) == 1 and steps[0].reservation is not None
    assert steps[0].reservation.interaction == waiting.id


@pytest.mark.spec("IN-3", "REL-2")
async def test_an_admission_redis_has_forgotten_is_made_and_a_full_step_is_still_due(
    store: Store,
) -> None:
    """Redis restarted and lost the admission's script: the admission is made
    all the same, and since the routing step ran before the new call was
    queued, its outcome says that a step is still due."""
    await _available(store, "alice", 1)
    ix = _interaction(1000)
    code, steps = await _admit_routed(store, ix, forgotten=True)
    assert code == 0
    assert steps == [RoutingStep(None, after_admission=False)]
    assert await store.redis.hget(store.ix_key(ix.id), "status") == "queued"
    reserved = await store.reserve_next(TENANT, SPECS, 1001)  # the step still due
    assert reserved is not None and reserved.interaction == ix.id
