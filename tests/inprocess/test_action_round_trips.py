"""What the agents' actions wait for before they answer (HOLD-1, HOLD-2,
TR-5, TR-6, END-2): the Redis round trips one after the other and the ARI
requests between the HTTP request and its answer.

A round trip is one write of commands to Redis (a pipeline, a transaction
or a script is one), counted as in `test_entry_round_trips`, and only when
it is made for the request (the request's actor is set: in its handler and
its jobs, not in the work that runs beside or after it, such as the fake
Asterisk's events or the routing step after a wrap-up). One sent while
another of the request's is still under way is beside it, not after it:
the answer waits for the round trips that are not beside another. Each action runs a
few times; the median time of its answer is printed (in-process: fake
Asterisk, real Redis)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from controlplane.audit import ACTOR, AuditLog, acting_as
from tests.inprocess.conftest import Service, wait_until
from tests.inprocess.scenes import Call, available, of
from tests.inprocess.test_entry_round_trips import _background, _names
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess

# (round trips waited for, ARI requests). Before, hold and resume waited for
# 5: the interaction read by the API and again in the action's job, saved,
# the event, the audit record of the request. Now the read, the save and the
# record: the event follows the answer in its order.
MAX_HOLD = (3, 2)
MAX_RESUME = (3, 2)
# Before, 8 round trips and 4 ARI requests: the two reads, the interaction
# saved, the agent's wrap-up (its change and its event), the event, the
# number's leg indexed and its originate, the record; the agent's leg hung
# up. Now the read, the save, the agent's change and its event (beside the
# hang-up), the record: the event and ringing the number follow the answer.
MAX_TRANSFER = (5, 3)
# Before, 12: the interaction and the agent read by the API and again by the
# job, one after the other; saved; the agent's change and its event; the
# history; the event; the agent read again; the routing step; the record.
# Now: the two reads together; saved; the change; its event; the history,
# the event and the agent together; the record (the routing step follows).
MAX_WRAP_UP = (6, 0)


@dataclass
class Trace:
    round_trips: list[bytes] = field(default_factory=list)
    beside: int = 0  # round trips sent while another of the action's was under way
    ari: list[str] = field(default_factory=list)
    on: bool = False
    times: dict[str, list[float]] = field(default_factory=dict)

    async def measure(
        self, name: str, action: Callable[[], Awaitable[Any]], bounds: tuple[int, int]
    ) -> Any:
        """Runs the action (an API request) and checks what its answer waited
        for against the bounds; the trace ends with the request's audit
        record, the last thing before the answer."""
        self.round_trips.clear()
        self.ari.clear()
        self.beside = 0
        self.on = True
        started = time.perf_counter()
        try:
            result = await action()
        finally:
            self.on = False
        self.times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        trips = [_names(t) for t in self.round_trips]
        waited = len(trips) - self.beside
        assert waited <= bounds[0], (name, waited, trips)
        assert len(self.ari) <= bounds[1], (name, self.ari)
        return result

    def report(self) -> None:
        for name, times in self.times.items():
            print(f"\n{name}: p50 {statistics.median(times):.2f} ms over {len(times)}")


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch, service: Service) -> Iterator[Trace]:
    seen = Trace()
    send = AbstractConnection.send_packed_command
    read = AbstractConnection.read_response
    under_way: set[int] = set()  # connections with a round trip of the action in flight

    async def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        if seen.on:
            parts = [command] if isinstance(command, bytes | str) else list(command)
            raw = b"".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)
            if ACTOR.get() is not None and not _background(raw):
                seen.round_trips.append(raw)
                seen.beside += bool(under_way)
                under_way.add(id(self))
        await send(self, command, check_health)

    async def answered(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        try:
            return await read(self, *args, **kwargs)
        finally:
            under_way.discard(id(self))

    request = service.ari.request

    async def observed(method: str, path: str, **kwargs: Any) -> Any:
        if seen.on:
            seen.ari.append(f"{method} {path}")
        return await request(method, path, **kwargs)

    api_action = AuditLog.api_action

    async def last(self: AuditLog, *args: Any, **kwargs: Any) -> None:
        with acting_as("the request's audit record"):  # (written after its actor's part)
            await api_action(self, *args, **kwargs)
        seen.on = False  # the request's work is done; its answer goes out

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    monkeypatch.setattr(AbstractConnection, "read_response", answered)
    monkeypatch.setattr(service.ari, "request", observed)
    monkeypatch.setattr(AuditLog, "api_action", last)
    yield seen
    seen.report()


async def _answered(service: Service, desktop: Desktop, extension: str) -> Call:
    """A customer's call to support, answered by the desktop's available agent."""
    customer = service.ari.customer_calls(SUPPORT, CUSTOMER)
    offer = (await desktop.event("interaction.offered"))["data"]
    leg = await service.ari.ringing(service.agent_endpoint(extension))
    service.ari.far_answer(leg.id)
    await desktop.event("interaction.connected", of(offer["interaction_id"]))
    await desktop.state_event("connected")
    return Call(offer["interaction_id"], customer, leg.id)


async def _forgotten(service: Service, *channels: str) -> None:
    """The call's end is handled: its channels no longer lead to it."""
    prefix = f"cp:{{{service.config.service.datacenter}}}:chan:"
    client = aioredis.Redis.from_url(service.config.service.redis_url)

    async def gone() -> bool:
        return not await client.exists(*(prefix + c for c in channels))

    try:
        await wait_until(gone, "the call's channels forgotten")
    finally:
        await client.aclose()


@pytest.mark.spec("HOLD-1", "HOLD-2", "END-2", "SEC-1")
async def test_hold_resume_and_wrap_up_in_few_round_trips(service: Service, trace: Trace) -> None:
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as watch,
    ):
        await available(alice, "1001")
        for _ in range(3):
            call = await _answered(service, alice, "1001")
            path = f"/v1/interactions/{call.ix_id}"
            for _ in range(5):
                held = await trace.measure(
                    "hold", partial(alice.call, "POST", f"{path}/hold"), MAX_HOLD
                )
                assert held["held"] is True
                assert (await alice.event("interaction.held", of(call.ix_id)))["data"]["held"]
                resumed = await trace.measure(
                    "resume", partial(alice.call, "POST", f"{path}/resume"), MAX_RESUME
                )
                assert resumed["held"] is False
                event = await alice.event("interaction.resumed", of(call.ix_id))
                assert event["data"]["held"] is False
            # the events keep the actions' order, also when they follow the answers
            await alice.call("POST", f"{path}/hold")
            await alice.call("POST", f"{path}/resume")
            await alice.end(call.ix_id)
            last = [
                await alice.event(kind, of(call.ix_id))
                for kind in ("interaction.held", "interaction.resumed", "interaction.ended")
            ]
            seen = [alice.events.index(e) for e in last]
            assert seen == sorted(seen), [e["type"] for e in alice.events[seen[0] :]]
            await alice.state_event("wrap_up")
            await service.ari.wait_for(
                "the call's channels gone", lambda: not service.ari.leftovers()
            )
            await _forgotten(service, call.customer, call.agent_leg)
            record = await trace.measure(
                "wrap-up",
                partial(alice.wrap_up, call.ix_id, "resolved"),
                MAX_WRAP_UP,
            )
            assert record["state"] == "available"
            await alice.state_event("available")
            wrapped = await alice.event("interaction.wrapped_up", of(call.ix_id))
            assert wrapped["data"]["wrap_up_reason"] == "resolved"
        # the events that followed the answers name who acted (SEC-1)
        await _audited(watch, {"interaction.held": 18, "interaction.resumed": 18})


async def _audited(watch: Desktop, counts: dict[str, int]) -> None:
    records = (await watch.call("GET", "/v1/audit?limit=1000"))["records"]
    for action, count in counts.items():
        actors = [r["actor"] for r in records if r["action"] == action]
        assert actors == ["agent:alice"] * count, (action, actors)


@pytest.mark.spec("TR-5", "TR-6", "END-2")
async def test_blind_transfer_and_wrap_up_in_few_round_trips(
    service: Service, trace: Trace
) -> None:
    fake = service.ari
    number = "+15551000000"
    far_end = service.number_endpoint(number)
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as watch,
    ):
        await available(alice, "1001")
        for _ in range(5):
            call = await _answered(service, alice, "1001")
            moved = await trace.measure(
                "blind transfer",
                partial(
                    alice.call,
                    "POST",
                    f"/v1/interactions/{call.ix_id}/transfer",
                    {"kind": "dial_number", "target": number},
                ),
                MAX_TRANSFER,
            )
            assert moved["agent"] is None and moved["status"] == "ringing"
            assert [(x["role"], x["state"], x["number"]) for x in moved["legs"]] == [
                ("transfer", "ringing", number)
            ]
            await alice.state_event("wrap_up")
            transferred = await watch.event("interaction.transferred", of(call.ix_id))
            leg = await fake.ringing(far_end)  # rung right after the answer
            assert leg.id == moved["legs"][0]["channel"]
            fake.far_answer(leg.id)
            connected = await watch.event(  # (the first was Alice's)
                "interaction.connected", lambda e: e["data"]["agent"] is None
            )
            assert connected["data"]["id"] == call.ix_id
            assert watch.events.index(transferred) < watch.events.index(connected)
            fake.far_hangup(call.customer)
            await watch.event("interaction.ended", of(call.ix_id))
            await fake.wait_for("the call's channels gone", lambda: not fake.leftovers())
            await _forgotten(service, call.customer, call.agent_leg, leg.id)
            await trace.measure(
                "wrap-up", partial(alice.wrap_up, call.ix_id, "resolved"), MAX_WRAP_UP
            )
            await alice.state_event("available")
        await _audited(watch, {"interaction.transferred": 5})
