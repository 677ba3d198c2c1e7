"""Routing: who gets which call (ST-2, ST-4, IN-3), ring-no-answer (RONA-1,
RONA-2, ST-3), and atomic selection across replicas."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from functools import partial
from typing import Any

import pytest

import devstack
from tests.integration.conftest import RUN_DIR, SERVICE_PORT, Stack
from tests.support.constants import SUPPORT, VIP
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration


async def ready(desktop: Desktop, extension: str) -> None:
    await desktop.login(extension)
    await desktop.available()
    await desktop.state_event("available")


async def queued(supervisor: Desktop, ani: str) -> str:
    ev = await supervisor.event("interaction.queued", lambda e: e["data"]["ani"] == ani)
    return str(ev["data"]["id"])


async def no_event(desktop: Desktop, kind: str, seconds: float) -> None:
    """Nothing of that kind arrives within `seconds` (a bounded negative check)."""
    try:
        ev = await desktop.event(kind, timeout=seconds)
    except AssertionError:
        return
    raise AssertionError(f"unexpected {kind}: {ev}")


@pytest.mark.spec("ST-4")
async def test_given_agent_phone_off_hook_when_call_arrives_then_no_offer_until_it_is_idle(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await ready(alice, "1001")
        await phone.dial("*43")  # the phone's echo test keeps the device busy
        await phone.wait_for("established")
        customer = await phones.customer("+15550000401")
        await customer.dial(SUPPORT)
        ix_id = await queued(supervisor, "+15550000401")
        await no_event(alice, "interaction.offered", 2.0)
        assert (await alice.me())["state"] == "available"

        await phone.hangup()  # on-hook again: now the call is offered
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix_id
        await phone.wait_for("incoming")
        await customer.hangup()
        await alice.event("interaction.ended")


@pytest.mark.spec("IN-3")
async def test_given_calls_in_two_queues_when_agent_is_free_then_higher_priority_first(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        early = await phones.customer("+15550000001")
        await early.dial(SUPPORT)
        await queued(supervisor, "+15550000001")
        late = await phones.customer("+15550000002")
        await late.dial(VIP)
        vip_id = await queued(supervisor, "+15550000002")

        await ready(alice, "1001")
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == vip_id, "the priority-5 queue is served first"
        assert offer["queue"] == "vip"
        await early.hangup()
        await late.hangup()
        await alice.event("interaction.ended", lambda e: e["data"]["id"] == vip_id)


@pytest.mark.spec("IN-3")
async def test_given_two_waiting_calls_when_agent_is_free_then_longest_waiting_first(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        first = await phones.customer("+15550000011")
        await first.dial(SUPPORT)
        first_id = await queued(supervisor, "+15550000011")
        second = await phones.customer("+15550000012")
        await second.dial(SUPPORT)
        second_id = await queued(supervisor, "+15550000012")

        await ready(alice, "1001")
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == first_id
        await first.hangup()
        await second.hangup()
        await supervisor.event("interaction.ended", lambda e: e["data"]["id"] == first_id)
        await supervisor.event("interaction.ended", lambda e: e["data"]["id"] == second_id)


@pytest.mark.spec("IN-3", "ST-2")
async def test_given_two_available_agents_when_call_arrives_then_longest_available_is_offered(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=None)
    await phones.agent("1002", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        await ready(bob, "1002")  # bob first: he has been available longer
        await ready(alice, "1001")
        customer = await phones.customer("+15550000021")
        await customer.dial(SUPPORT)
        offer = (await bob.event("interaction.offered"))["data"]
        await no_event(alice, "interaction.offered", 0.5)
        await customer.hangup()
        await bob.event("interaction.ended", lambda e: e["data"]["id"] == offer["interaction_id"])


@pytest.mark.spec("RONA-1", "RONA-2", "ST-3")
async def test_given_agent_does_not_answer_when_ring_time_runs_out_then_rona_and_call_requeued(
    stack: Stack, phones: PhoneFactory
) -> None:
    alice_phone = await phones.agent("1001", answer_after_ms=None)  # never answers
    bob_phone = await phones.agent("1002", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await ready(alice, "1001")
        await bob.login("1002")
        first = await phones.customer("+15550000031")
        await first.dial(SUPPORT)
        first_id = await queued(supervisor, "+15550000031")
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == first_id
        await alice_phone.wait_for("incoming")

        later = await phones.customer("+15550000032")  # arrives while alice's phone rings
        await later.dial(SUPPORT)
        later_id = await queued(supervisor, "+15550000032")

        # RONA-1: the queue's ring time (4 s in tests) runs out.
        withdrawn = (await alice.event("interaction.offer_withdrawn", timeout=8))["data"]
        assert withdrawn["interaction_id"] == first_id
        assert withdrawn["choices"] == ["available", "idle"]
        rona = await alice.state_event("rona")
        assert rona["data"]["previous"] == "reserved"
        await alice_phone.wait_for("closed")  # the phone stopped ringing

        # The call is back in its queue ahead of the later call: the next
        # agent gets it first (RONA-1), and alice gets nothing (RONA-2).
        await bob.available()
        to_bob = (await bob.event("interaction.offered"))["data"]
        assert to_bob["interaction_id"] == first_id
        await bob_phone.wait_for("incoming")
        await no_event(alice, "interaction.offered", 1.0)

        # ST-3: alice stays in RONA until she chooses; then she gets the later call.
        assert (await alice.me())["state"] == "rona"
        await alice.available()
        to_alice = (await alice.event("interaction.offered"))["data"]
        assert to_alice["interaction_id"] == later_id

        await first.hangup()
        await later.hangup()
        await bob.event("interaction.ended", lambda e: e["data"]["id"] == first_id)
        await alice.event("interaction.ended", lambda e: e["data"]["id"] == later_id)


@pytest.mark.spec("RONA-1")
async def test_given_agent_rejects_the_offer_then_rona_and_next_agent_is_offered(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=None, reject_with=486)
    bob_phone = await phones.agent("1002", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        await ready(alice, "1001")
        await ready(bob, "1002")
        customer = await phones.customer("+15550000041")
        await customer.dial(SUPPORT)
        offer = (await alice.event("interaction.offered"))["data"]
        rona = await alice.state_event("rona")
        assert rona["data"]["reason"] == "declined"
        to_bob = (await bob.event("interaction.offered"))["data"]
        assert to_bob["interaction_id"] == offer["interaction_id"]
        await bob_phone.wait_for("incoming")
        await customer.hangup()
        await bob.event("interaction.ended")


def _is_interaction(ix: str, event: dict[str, Any]) -> bool:
    return bool(event["data"]["id"] == ix)


AGENTS = [
    ("alice", "1001"),
    ("bob", "1002"),
    ("carol", "1003"),
    ("erin", "1005"),
    ("frank", "1006"),
]


@pytest.mark.spec("IN-3", "ST-2")
async def test_given_two_replicas_when_20_calls_meet_5_agents_then_no_double_booking(
    stack: Stack, phones: PhoneFactory
) -> None:
    second_port = SERVICE_PORT - 1
    config2 = RUN_DIR / "replica2.toml"
    config2.write_text(
        (RUN_DIR / "test.toml").read_text().replace(f"{SERVICE_PORT}", f"{second_port}", 1)
    )
    replica2 = devstack.ServiceRunner(config2, RUN_DIR, port=second_port, stasis_app=None)
    replica2.start()
    try:
        urls = [stack.url, replica2.url]
        agent_phones: dict[str, Phone] = {}
        for _, ext in AGENTS:
            agent_phones[ext] = await phones.agent(ext, answer_after_ms=150)
        desktops = [
            Desktop(urls[i % 2], f"demo-{name}-token", name) for i, (name, _) in enumerate(AGENTS)
        ]
        for d in desktops:
            await d.__aenter__()
        try:
            for d, (_, ext) in zip(desktops, AGENTS, strict=True):
                await ready(d, ext)
            total = 20
            done = asyncio.Event()
            handled: Counter[str] = Counter()

            async def work(d: Desktop) -> None:
                while not done.is_set():
                    try:
                        offer = await d.event("interaction.offered", timeout=1.0)
                    except AssertionError:
                        continue
                    ix = str(offer["data"]["interaction_id"])
                    await d.event("interaction.connected", partial(_is_interaction, ix))
                    await asyncio.sleep(0.2)
                    await d.end(ix)
                    await d.wrap_up(ix, "resolved")
                    handled[ix] += 1
                    if sum(handled.values()) >= total:
                        done.set()

            workers = [asyncio.create_task(work(d)) for d in desktops]
            customers = [await phones.customer(f"+1555000{i:04d}") for i in range(total)]
            await asyncio.gather(*(c.dial(VIP) for c in customers))
            await asyncio.wait_for(done.wait(), timeout=60)
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

            assert len(handled) == total and set(handled.values()) == {1}
            offers: Counter[str] = Counter()
            for d in desktops:
                for ev in d.events:
                    if ev["type"] == "interaction.offered":
                        offers[ev["data"]["interaction_id"]] += 1
                    if ev["type"] == "agent.state" and ev["data"]["state"] == "reserved":
                        # never offered anything unless available (ST-2)
                        assert ev["data"]["previous"] == "available", ev
                # the agent's own changes, in their order, never overlap two calls
                changes = sorted(
                    (e["data"]["seq"], e["data"]["state"])
                    for e in d.events
                    if e["type"] == "agent.state"
                )
                assert [seq for seq, _ in changes] == list(range(1, len(changes) + 1))
                states = [state for _, state in changes]
                for a, b in itertools.pairwise(states):
                    assert (a, b) in {
                        ("logged_out", "idle"),
                        ("idle", "available"),
                        ("available", "reserved"),
                        ("reserved", "connected"),
                        ("connected", "wrap_up"),
                        ("wrap_up", "available"),
                    }, states
            assert set(offers) == set(handled) and set(offers.values()) == {1}
        finally:
            for d in desktops:
                await d.__aexit__(None, None, None)
    finally:
        replica2.stop()
