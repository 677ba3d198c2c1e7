"""The entry path's cost (IN-1, IN-2, IN-3): from a customer's StasisStart to
the originate of the agent's leg, and from the agent leg's StasisStart to
the add of both legs to the interaction's bridge, the Redis round trips and
the ARI requests, and how many of them run one after the other.

A round trip is one write of commands to Redis (a pipeline, a transaction
or a script is one). Not the call's: what the service's own loops write
beside every call (the event-stream lease, timers, slot leases, phones'
device states) and what a new connection asks Redis first.

Steps in sequence: every round trip and ARI request is held back by the
same delay; the time a window takes, in delays, counts the steps that had
to wait for each other (work done beside them costs no more delays)."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from controlplane.notifier import Notifier
from tests.inprocess.conftest import Service, wait_until
from tests.inprocess.scenes import available
from tests.support.constants import CUSTOMER, ECHO, SUPPORT
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess

BACKGROUND_KEYS = (b"}:owner:", b"}:timers", b"}:busy_devices")
BACKGROUND_FIRST = (b"HELLO", b"PING", b"CLIENT", b"SMEMBERS")  # + slot lease renewals
# Admission with the interaction saved, indexed, with its flow's variables
# and queued, and the routing step behind it (one round trip); the `queued`
# event; the agent's `reserved` event; the offer's leg written; and the
# routing step that finds no further pair (it runs beside the offer).
# Before: 12 (13 with the agent's record), then 7 (the admission and the
# save apart), then 6 (the routing step apart).
MAX_ROUND_TRIPS = 5
MAX_ARI = 3  # the customer's answer and music on hold, the originate
# In sequence before the originate: admission with the save and the routing
# step; the offer's leg. The customer's answer and music, the `queued` and
# `reserved` events and the routing step that finds nothing run beside them.
# Before: 8 (admission, save, answer, music, `queued`, routing step,
# `reserved`, the offer's leg), then 4 (the admission and the save apart),
# then 3 (the routing step after the admission's answer).
MAX_SEQUENTIAL_ENTRY = 2
# In sequence from the agent's answer to the add: the interaction read; the
# agent's `connected` transition; the recorder's start (REC-1: the demo's
# support queue records). The bridge exists already, the music stops beside
# the add and the agent's `connected` event goes out beside them. Before: 6
# (+ the bridge's creation, the music's stop), then 4 (+ the agent's event).
MAX_SEQUENTIAL_ANSWER = 3
DELAY = 0.04  # seconds each round trip and ARI request is held back


@dataclass
class Path:
    """What the service sent between the customer's StasisStart and the
    agent leg's originate."""

    started: float = 0.0
    originated: float = 0.0
    round_trips: list[bytes] = field(default_factory=list)
    ari: list[str] = field(default_factory=list)
    on: bool = False
    # from the agent leg's StasisStart to the add to the bridge
    answered: float = 0.0
    added: float = 0.0
    answer_round_trips: list[bytes] = field(default_factory=list)
    answer_ari: list[str] = field(default_factory=list)
    answer_on: bool = False
    delay: float = 0.0  # held back in either window

    def steps(self) -> tuple[int, int]:
        """Steps in sequence before the originate and before the add (with a delay)."""
        assert self.delay
        return (
            math.floor((self.originated - self.started) / self.delay),
            math.floor((self.added - self.answered) / self.delay),
        )


def _commands(raw: bytes) -> list[list[bytes]]:
    """The commands of one write (RESP arrays), each as its first arguments."""
    lines = raw.split(b"\r\n")
    return [
        lines[i + 2 : i + 10 : 2]
        for i, line in enumerate(lines)
        if line.startswith(b"*") and i + 2 < len(lines)
    ]


def _background(raw: bytes) -> bool:
    first = _commands(raw)[0] if _commands(raw) else [b""]
    if first[0] in BACKGROUND_FIRST:
        return True
    if first[0] == b"ZADD" and len(first) > 2 and first[2] == b"XX":
        return True  # slot leases renewed (LIM-3)
    return any(key in raw for key in BACKGROUND_KEYS)


def _names(raw: bytes) -> str:
    """One round trip's commands with their first arguments, for a failure's message."""
    return "; ".join(
        " ".join(a.decode(errors="replace")[:40] for a in args) for args in _commands(raw)
    )


@pytest.fixture
def path(monkeypatch: pytest.MonkeyPatch, service: Service) -> Iterator[Path]:
    seen = Path()
    send = AbstractConnection.send_packed_command

    async def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        if seen.on or seen.answer_on:
            parts = [command] if isinstance(command, bytes | str) else list(command)
            raw = b"".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)
            if not _background(raw):
                (seen.round_trips if seen.on else seen.answer_round_trips).append(raw)
            if seen.delay:
                await asyncio.sleep(seen.delay)
        await send(self, command, check_health)

    request = service.ari.request

    async def observed(method: str, path: str, **kwargs: Any) -> Any:
        if seen.on:
            seen.ari.append(f"{method} {path}")
            if method == "POST" and path == "/channels":  # the agent's leg
                seen.originated = time.perf_counter()
                seen.on = False
            elif seen.delay:
                await asyncio.sleep(seen.delay)
        elif seen.answer_on:
            seen.answer_ari.append(f"{method} {path}")
            if method == "POST" and path.endswith("/addChannel"):
                seen.added = time.perf_counter()
                seen.answer_on = False
            elif seen.delay:
                await asyncio.sleep(seen.delay)
        return await request(method, path, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    monkeypatch.setattr(service.ari, "request", observed)
    yield seen


async def _one_call(
    service: Service, alice: Desktop, path: Path, *, answer: bool = False
) -> Path:
    """A customer calls, alice's phone rings (and she answers, then the
    customer hangs up and she wraps up), or the customer hangs up."""
    path.round_trips.clear()
    path.ari.clear()
    path.answer_round_trips.clear()
    path.answer_ari.clear()
    path.started = time.perf_counter()
    path.on = True
    customer = service.ari.customer_calls(SUPPORT, CUSTOMER)
    offer = (await alice.event("interaction.offered"))["data"]
    assert not path.on, "the agent's leg was never originated"
    leg = await service.ari.ringing(service.agent_endpoint("1001"))
    if answer:
        await wait_until(lambda: _music_on(service, customer), "the customer hears music")
        path.answered = time.perf_counter()
        path.answer_on = True
        service.ari.far_answer(leg.id)
        await alice.event("interaction.connected")
        assert not path.answer_on, "the legs were never added to the bridge"
        # (the music stopped and both legs are in the interaction's bridge)
        await wait_until(lambda: _bridged(service, customer, leg.id), "customer and agent bridged")
    service.ari.far_hangup(customer)
    await alice.event("interaction.ended")
    await service.ari.wait_for("the agent's leg gone", lambda: not service.ari.leftovers())
    if answer:
        await alice.state_event("wrap_up")
        await alice.wrap_up(offer["interaction_id"], "resolved")
    await alice.state_event("available")
    # the call's last writes are done: its legs no longer lead to it
    prefix = f"cp:{{{service.config.service.datacenter}}}:chan:"
    client = aioredis.Redis.from_url(service.config.service.redis_url)
    try:
        await wait_until(
            lambda: _none_exist(client, [prefix + customer, prefix + leg.id]),
            "the call's channels forgotten",
        )
    finally:
        await client.aclose()
    assert leg.id.endswith("-a1")
    return path


async def _none_exist(client: aioredis.Redis, keys: list[str]) -> bool:
    return not await client.exists(*keys)


async def _music_on(service: Service, channel_id: str) -> bool:
    channel = service.ari.channels_by_id.get(channel_id)
    return channel is not None and channel.moh is not None


async def _bridged(service: Service, customer: str, agent_leg: str) -> bool:
    channels = [service.ari.channels_by_id.get(c) for c in (customer, agent_leg)]
    return all(
        c is not None and c.bridge is not None and c.bridge == channels[0].bridge  # type: ignore[union-attr]
        for c in channels
    ) and channels[0].moh is None  # type: ignore[union-attr]


def _check(path: Path) -> None:
    trips = [_names(t) for t in path.round_trips]
    assert len(path.round_trips) <= MAX_ROUND_TRIPS, trips
    assert len(path.ari) <= MAX_ARI, path.ari
    assert path.ari[-1] == "POST /channels", path.ari


@pytest.mark.spec("IN-1", "IN-3")
async def test_entry_to_originate_in_few_round_trips(service: Service, path: Path) -> None:
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        await _one_call(service, alice, path)  # (Redis learns the scripts)
        _check(await _one_call(service, alice, path))


@pytest.mark.spec("IN-1")
async def test_thirty_calls_in_few_round_trips(service: Service, path: Path) -> None:
    """Every one of 30 calls after the first; prints the median time from
    entry to originate (the README's figure)."""
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        await _one_call(service, alice, path)
        times = []
        for _ in range(30):
            _check(await _one_call(service, alice, path))
            times.append((path.originated - path.started) * 1000)
        print(f"\nentry -> originate p50 {statistics.median(times):.2f} ms over {len(times)} calls")


@pytest.mark.spec("IN-1", "IN-2", "IN-3")
async def test_entry_and_answer_steps_in_sequence(service: Service, path: Path) -> None:
    """With every round trip and ARI request held back by the same delay, the
    originate and the add to the bridge come after few delays: what does not
    decide them runs beside them. (The fewest over three calls: the time
    beside the delays only adds.)"""
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        await _one_call(service, alice, path, answer=True)  # (Redis learns the scripts)
        path.delay = DELAY
        steps = []
        for _ in range(3):
            await _one_call(service, alice, path, answer=True)
            steps.append(path.steps())
            print(
                f"\nin sequence: {steps[-1][0]} before the originate of "
                f"{[_names(t) for t in path.round_trips]} {path.ari}; "
                f"{steps[-1][1]} before the add of "
                f"{[_names(t) for t in path.answer_round_trips]} {path.answer_ari}"
            )
        path.delay = 0.0
    assert min(s[0] for s in steps) <= MAX_SEQUENTIAL_ENTRY, steps
    assert min(s[1] for s in steps) <= MAX_SEQUENTIAL_ANSWER, steps


@pytest.mark.spec("IN-2")
async def test_thirty_answers_bridged(service: Service, path: Path) -> None:
    """Prints the median time from the agent leg's StasisStart to the add of
    both legs to the bridge over 30 answered calls."""
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        await _one_call(service, alice, path, answer=True)
        times = []
        for _ in range(30):
            await _one_call(service, alice, path, answer=True)
            times.append((path.added - path.answered) * 1000)
        print(f"\nanswer -> add p50 {statistics.median(times):.2f} ms over {len(times)} calls")


@pytest.mark.spec("IN-1", "LIM-3", "END-2")
@pytest.mark.parametrize("until", ["reserved", "ringing"])
async def test_customer_gone_before_the_answer_frees_the_agent_reserved_meanwhile(
    service: Service, until: str
) -> None:
    """The call is queued and offered while the customer is being answered:
    an agent who becomes available meanwhile is reserved for it, and their
    phone may ring already. When the customer has gone by the answer, the
    interaction ends abandoned, the agent is free again (available, a leg
    rung for them hung up) and the call's limit slot is released."""
    fake = service.ari
    request = fake.request
    held = False

    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.state_event("idle")
        customer = ""

        async def answer_too_late(method: str, path: str, **kwargs: Any) -> Any:
            nonlocal held
            if path == f"/channels/{customer}/answer" and not held:
                held = True
                await alice.available()
                await alice.state_event("reserved")  # routing took the queued call
                if until == "ringing":
                    await alice.event("interaction.offered")
                    await fake.ringing(service.agent_endpoint("1001"))
                fake.far_hangup(customer)
            return await request(method, path, **kwargs)

        fake.request = answer_too_late  # type: ignore[method-assign]
        customer = fake.customer_calls(SUPPORT, CUSTOMER)
        ended = (await supervisor.event("interaction.ended"))["data"]
        assert held
        assert ended["status"] == "ended" and ended["end_cause"] == "abandoned"
        await alice.state_event("available")
        if until == "ringing":
            assert fake.originated(service.agent_endpoint("1001"))
        # the agent's leg (if rung) hung up, the bridge made for it destroyed
        await fake.wait_for("nothing left", lambda: not fake.leftovers())
    fake.request = request  # type: ignore[method-assign]
    client = aioredis.Redis.from_url(service.config.service.redis_url)
    try:
        prefix = f"cp:{{{service.config.service.datacenter}}}:slots:"
        assert await client.zcard(prefix + "dc") == 0  # LIM-3
        assert await client.zcard(prefix + "tenant:acme") == 0
    finally:
        await client.aclose()


@pytest.mark.spec("CB-2", "RONA-1")
async def test_a_callback_gets_no_bridge_before_its_customer_is_called(service: Service) -> None:
    """A customer's call gets its bridge beside its first offer; a callback
    has no customer on the line while it is offered (the customer is dialled
    once the agent answered), so an offer that is not taken leaves no bridge
    behind while the callback waits in its queue again."""
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-admin-token") as admin,
    ):
        await available(alice, "1001")
        created = await admin.call(
            "POST", "/v1/callbacks", {"number": ECHO, "queue": "support"}, expect=201
        )
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == created["id"] and offer["kind"] == "callback"
        leg = await fake.ringing(service.agent_endpoint("1001"))
        fake.far_busy(leg.id)
        await alice.state_event("rona")
        await fake.wait_for("the agent's leg gone", lambda: not fake.leftovers())
        queued = await admin.call("GET", f"/v1/interactions/{created['id']}")
        assert queued["status"] == "queued"
        assert not fake.bridges_by_id


@pytest.mark.spec("IN-1", "IN-2")
async def test_a_phone_that_answers_at_once_is_bridged_while_the_offer_event_is_out(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offer's event goes out beside the interaction's next jobs: with
    its publication held back, an agent who answers at once is bridged all
    the same, and the event still comes before `interaction.connected`."""
    release = asyncio.Event()
    publish = Notifier.publish

    async def held(self: Notifier, kind: str, *args: Any, **kwargs: Any) -> None:
        if kind == "interaction.offered":
            await release.wait()
        await publish(self, kind, *args, **kwargs)

    monkeypatch.setattr(Notifier, "publish", held)
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        customer = service.ari.customer_calls(SUPPORT, CUSTOMER)
        leg = await service.ari.ringing(service.agent_endpoint("1001"))
        await wait_until(lambda: _music_on(service, customer), "the customer hears music")
        service.ari.far_answer(leg.id)
        await wait_until(lambda: _bridged(service, customer, leg.id), "customer and agent bridged")
        assert not [e for e in alice.events if e["type"] == "interaction.offered"]
        release.set()
        offer = await alice.event("interaction.offered")
        await alice.event("interaction.connected")
        kinds = [e["type"] for e in alice.events]
        assert kinds.index("interaction.offered") < kinds.index("interaction.connected"), kinds
        service.ari.far_hangup(customer)
        await alice.state_event("wrap_up")
        await alice.wrap_up(offer["data"]["interaction_id"], "resolved")
        await alice.state_event("available")
    await service.ari.wait_for("the call's legs gone", lambda: not service.ari.leftovers())
