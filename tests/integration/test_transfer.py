"""Blind transfer (TR-1..TR-7, DN-1..DN-3 for its targets) with real SIP
phones and the PSTN simulator: to a queue, an agent, an entry point and a
number; the transferring agent is in wrap-up at once and wraps up while the
call goes on with someone else."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import TRANSFER_RING_SECONDS, Stack
from tests.support.asterisk import AmiEvents, wait_until
from tests.support.constants import BILLING_ENTRY_POINT, CUSTOMER, ECHO, GAMMA_ENTRY_POINT, SALES
from tests.support.consults import (
    nothing_left_behind,
    of,
    path_carries,
    phone_idle,
    queued_members,
    refused,
    snapshot,
    state_of,
    talkers,
)
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import available_agent, call_gone, connected_call

pytestmark = pytest.mark.integration


async def transfer(desktop: Desktop, ix_id: str, kind: str, target: str) -> Any:
    return await desktop.call(
        "POST", f"/v1/interactions/{ix_id}/transfer", {"kind": kind, "target": target}
    )


def to_number(ix_id: str) -> Any:
    """The interaction connected again, with no agent: a number took it."""
    return lambda e: e["data"]["id"] == ix_id and e["data"]["agent"] is None


def header(event: dict[str, str], name: str) -> set[str]:
    """An AMI header's values (a UserEvent header that repeats a channel
    header, such as CallerIDNum, comes twice, as the text of a list)."""
    value = str(event.get(name))
    if value.startswith("["):
        return {str(v) for v in ast.literal_eval(value)}
    return {value}


def pstn_calls(ami_events: AmiEvents) -> list[dict[str, str]]:
    return [
        e
        for e in ami_events.events
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "PstnSim"
    ]


# TR-1: target lists ----------------------------------------------------------------


@pytest.mark.spec("TR-1")
async def test_given_targets_when_listed_then_filtered_by_search_with_current_states(
    stack: Stack,
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-carol-token", "carol") as carol,
    ):
        for desk, ext in ((alice, "1001"), (bob, "1002"), (carol, "1003")):
            await desk.login(ext)
        await bob.available()
        listed = await alice.call("GET", "/v1/targets?kind=agent")
        states = {t["id"]: t["state"] for t in listed["targets"]}
        assert "alice" not in states  # not oneself
        assert states["bob"] == "available" and states["carol"] == "idle"
        assert states["dave"] == "logged_out"
        bob_entry = next(t for t in listed["targets"] if t["id"] == "bob")
        assert bob_entry["name"] == "Bob Baker" and bob_entry["extension"] == "1002"
        assert bob_entry["team_name"] == "Tier 1" and bob_entry["selectable"] is True
        # filtered by search text (name, ID or extension, any case)
        found = await alice.call("GET", "/v1/targets?kind=agent&search=CAR")
        assert [t["id"] for t in found["targets"]] == ["carol"]
        found = await alice.call("GET", "/v1/targets?kind=agent&search=1002")
        assert [t["id"] for t in found["targets"]] == ["bob"]
        # refreshed: the current state
        await bob.idle("break")
        again = await alice.call("GET", "/v1/targets?kind=agent&search=bob")
        assert again["targets"][0]["state"] == "idle"
        assert again["targets"][0]["selectable"] is False

        queues = await alice.call("GET", "/v1/targets?kind=queue&search=vip")
        assert [(t["id"], t["name"]) for t in queues["targets"]] == [("vip", "VIP support")]
        entries = await alice.call("GET", "/v1/targets?kind=entry_point&search=billing")
        assert [(t["id"], t["number"]) for t in entries["targets"]] == [
            ("billing", BILLING_ENTRY_POINT)
        ]
        book = await alice.call("GET", "/v1/targets?kind=address_book&search=FIELD")
        assert book["targets"] == [
            {"kind": "address_book", "name": "Field service", "number": "+15552000003"}
        ]
        everything = await alice.call("GET", "/v1/targets?kind=address_book")
        assert len(everything["targets"]) == 2
        assert everything["transfer_kinds"] == [
            "agent",
            "queue",
            "entry_point",
            "dial_number",
            "address_book",
        ]
        for bad in ("", "?kind=nobody", "?kind=agent&x=1", "?kind=agent&search=" + "a" * 65):
            with pytest.raises(ApiError) as refusal:
                await alice.call("GET", f"/v1/targets{bad}")
            assert refusal.value.status == 400
            assert refusal.value.body["details"]["rule"] == "TR-1"


# TR-3: queue -----------------------------------------------------------------------


@pytest.mark.spec("TR-3", "TR-6", "END-2")
async def test_given_connected_call_when_transferred_to_a_queue_then_it_re_enters_at_its_entry_time(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """The call re-enters the target queue with the time it entered the
    contact center: ahead of a call that came to that queue later; the next
    agent of that queue takes it."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-dave-token", "dave") as dave,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        before = await alice.call("GET", f"/v1/interactions/{ix}")
        later = await phones.customer("+15559990001")
        await later.dial(SALES)  # waits in sales: dave is not logged in yet
        waiting = await supervisor.event("interaction.queued", lambda e: e["data"]["id"] != ix)
        await later.wait_for("established")

        moved = await transfer(alice, ix, "queue", "sales")
        assert moved["status"] == "queued" and moved["queue"] == "sales" and moved["agent"] is None
        assert moved["entered_at"] == before["entered_at"]
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        event = (await alice.event("interaction.transferred"))["data"]
        assert event["target"] == {"kind": "queue", "target": "sales"}
        assert (await call.phone.wait_for("closed")).ended_by_peer
        await call.customer.wait_for_audio()  # music while it waits again
        assert await talkers(ari, ix) == set()
        # TR-6, END-2: alice wraps up her part while the call waits
        await alice.wrap_up(ix, "follow_up")

        # the next agent of the sales queue gets the transferred call first
        dave_phone = await available_agent(phones, dave, "1004")
        offer = (await dave.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix and offer["queue"] == "sales"
        await dave_phone.wait_for("incoming")
        await dave_phone.answer()
        connected = (await dave.event("interaction.connected"))["data"]
        assert connected["id"] == ix and connected["agent"] == "dave"
        await path_carries(call.customer, [dave_phone], [])
        assert waiting["data"]["id"] in await queued_members(stack.redis.url)

        await later.hangup()
        await supervisor.event("interaction.ended", of(waiting["data"]["id"]))
        await call.customer.hangup()
        await dave.state_event("wrap_up")
        await dave.wrap_up(ix, "resolved")
        final = await dave.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "resolved" and final["agent"] == "dave"
        await nothing_left_behind(ari, stack.redis.url)


# TR-2: agent -----------------------------------------------------------------------


@pytest.mark.spec("TR-2", "TR-6", "END-2")
async def test_given_connected_call_when_transferred_to_an_available_agent_then_the_agent_takes_it(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        bob_phone = await available_agent(phones, bob, "1002")
        moved = await transfer(alice, ix, "agent", "bob")
        assert moved["status"] == "ringing" and moved["agent"] is None
        assert [(leg["role"], leg["state"], leg["agent"]) for leg in moved["legs"]] == [
            ("transfer", "ringing", "bob")
        ]
        # TR-6: alice is out of the call and in wrap-up at once
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        assert (await call.phone.wait_for("closed")).ended_by_peer
        # TR-2: bob was reserved atomically; his phone rings with the offer
        assert (await bob.state_event("reserved"))["data"]["reason"] == "transfer"
        offer = (await bob.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix and offer["transfer_from"] == "alice"
        assert offer["ani"] == CUSTOMER and offer["variables"]
        incoming = await bob_phone.wait_for("incoming")
        assert incoming.peer_number in (CUSTOMER, CUSTOMER.lstrip("+"))
        await call.customer.wait_for_audio()  # music meanwhile
        # END-2: alice wraps up her part while the call rings elsewhere
        assert (await alice.wrap_up(ix, "follow_up"))["state"] == "available"

        await bob_phone.answer()
        connected = (await bob.event("interaction.connected"))["data"]
        assert connected["agent"] == "bob" and connected["legs"] == []
        await bob.state_event("connected")
        leg = moved["legs"][0]["channel"]
        assert await talkers(ari, ix) == {call.customer_leg, leg}
        await path_carries(call.customer, [bob_phone], [])
        await path_carries(bob_phone, [call.customer], [])
        await bob.end(ix)
        await call.customer.wait_for("closed")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "resolved")
        final = await bob.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "resolved"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-2", "ST-2")
async def test_given_target_agent_in_wrap_up_or_not_available_when_transferred_to_then_refused(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """TR-2: never to an agent in wrap-up; a blind transfer needs the target
    available. Each refusal names the rule and changes nothing."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-carol-token", "carol") as carol,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        # bob takes a call of his own and ends it: he is in wrap-up
        bobs = await connected_call(phones, ari, bob, "1002", ani="+15559990002")
        await bob.end(bobs.ix_id)
        await bob.state_event("wrap_up")
        await carol.login("1003")  # idle
        await wait_until(lambda: call_gone(ari, bobs), what="bob's call gone from Asterisk")

        before = await snapshot(stack, ari)
        body = await refused(
            alice,
            "POST",
            f"/v1/interactions/{ix}/transfer",
            "TR-2",
            {"kind": "agent", "target": "bob"},
        )
        assert body["details"]["state"] == "wrap_up" and "wrap-up" in body["message"]
        body = await refused(
            alice,
            "POST",
            f"/v1/interactions/{ix}/transfer",
            "TR-2",
            {"kind": "agent", "target": "carol"},
        )
        assert body["details"]["state"] == "idle"
        await refused(
            alice,
            "POST",
            f"/v1/interactions/{ix}/transfer",
            "TR-2",
            {"kind": "agent", "target": "alice"},
        )
        missing = await refused(
            alice,
            "POST",
            f"/v1/interactions/{ix}/transfer",
            "TR-2",
            {"kind": "agent", "target": "nobody"},
        )
        assert missing["status"] == 404
        # another agent cannot transfer alice's call
        with pytest.raises(ApiError) as foreign:
            await transfer(bob, ix, "agent", "carol")
        assert foreign.value.status == 403
        assert await snapshot(stack, ari) == before
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["agent"] == "alice"
        await path_carries(call.customer, [call.phone], [])

        await bob.wrap_up(bobs.ix_id, "resolved")
        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-2", "RONA-1")
async def test_given_transfer_to_an_agent_when_the_agent_does_not_answer_then_the_call_is_dropped(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as watch,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        bob_phone = await available_agent(phones, bob, "1002")
        await transfer(alice, ix, "agent", "bob")
        await bob_phone.wait_for("incoming")
        failed = (
            await alice.event("interaction.transfer_failed", timeout=TRANSFER_RING_SECONDS + 6)
        )["data"]
        assert failed["then"] == "dropped" and failed["outcome"] == "ring_no_answer"
        assert failed["target"]["agent"] == "bob"
        ended = (await watch.event("interaction.ended", of(ix)))["data"]
        assert ended["end_cause"] == "transfer_not_answered"
        assert (await call.customer.wait_for("closed")).ended_by_peer
        await bob_phone.wait_for("closed")
        # RONA-1: the agent who did not take it is in rona
        assert (await bob.state_event("rona"))["data"]["previous"] == "reserved"
        withdrawn = (await bob.event("interaction.offer_withdrawn"))["data"]
        assert withdrawn["choices"] == ["available", "idle"]
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-2")
async def test_given_tenant_requeues_when_transfer_target_does_not_answer_then_call_requeued(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Tenant gamma sets transfer_no_answer = "requeue": the call goes back to
    the queue it came from, and the next available agent takes it."""
    async with (
        Desktop(stack.url, "test-gus-token", "gus") as gus,
        Desktop(stack.url, "test-gail-token", "gail") as gail,
    ):
        call = await connected_call(phones, ari, gus, "1007", number=GAMMA_ENTRY_POINT)
        ix = call.ix_id
        gail_phone = await available_agent(phones, gail, "1008")
        await transfer(gus, ix, "agent", "gail")
        await gail_phone.wait_for("incoming")
        failed = (
            await gus.event("interaction.transfer_failed", timeout=TRANSFER_RING_SECONDS + 6)
        )["data"]
        assert failed["then"] == "requeued"
        await gail.state_event("rona")
        assert ix in await queued_members(stack.redis.url)
        assert call.customer.current_call is not None  # still there, hearing music
        await call.customer.wait_for_audio()
        # gus wraps up; available again, he is offered the call (his phone answers)
        await gus.wrap_up(ix, "done")
        connected = (await gus.event("interaction.connected", of(ix)))["data"]
        assert connected["agent"] == "gus"
        await call.customer.hangup()
        await gus.event("interaction.ended", of(ix))
        await gus.wrap_up(ix, "done")
        await gail.available()
        await nothing_left_behind(ari, stack.redis.url)


# TR-4: entry point -----------------------------------------------------------------


@pytest.mark.spec("TR-4", "TR-6", "CAD-7")
async def test_given_variables_when_transferred_to_entry_point_then_flow_runs_never_back_to_agent(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-admin-token") as flow,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        await alice.call(
            "PATCH",
            f"/v1/interactions/{ix}/variables",
            {
                "variables": {
                    "customer_name": {"value": "Ada", "version": 0},
                    "case_number": {"value": "42", "version": 0},
                }
            },
        )
        # the flow updates the balance during the call: its current value is carried
        await flow.call(
            "PUT", f"/v1/interactions/{ix}/flow-variables", {"variables": {"balance": "10.00"}}
        )
        await flow.call(
            "PUT", f"/v1/interactions/{ix}/flow-variables", {"variables": {"balance": "12.50"}}
        )
        moved = await transfer(alice, ix, "entry_point", "billing")
        assert moved["status"] == "queued" and moved["entry_point"] == "billing"
        assert moved["label"] == "Acme Billing" and moved["queue"] == "billing"
        await alice.state_event("wrap_up")
        await call.phone.wait_for("closed")

        # TR-4: never back to the transferring agent: available again, and the
        # call (in a queue of her team) still waits
        record = await alice.wrap_up(ix, "resolved")
        assert record["state"] == "available"
        assert await state_of(alice) == "available"
        assert (await alice.call("GET", "/v1/agents/alice"))["offer"] is None
        assert ix in await queued_members(stack.redis.url)
        await phone_idle(stack.redis.url, "1001")
        # another agent takes it, with the target flow's variables
        bob_phone = await available_agent(phones, bob, "1002")
        offer = (await bob.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix and offer["label"] == "Acme Billing"
        values = {v["name"]: (v["type"], v["value"]) for v in offer["variables"]}
        assert values == {
            "customer_name": ("string", "Ada"),  # same name and type: carried
            "case_number": ("string", None),  # an integer before: not carried
            "balance": ("decimal", "12.50"),  # the flow's latest value
            "invoice": ("string", "none"),  # the target flow's default
        }
        await bob_phone.wait_for("incoming")
        await bob_phone.answer()
        await bob.event("interaction.connected", of(ix))
        shown = await bob.call("GET", f"/v1/interactions/{ix}/variables")
        assert {v["name"]: v["version"] for v in shown["variables"]} == {
            "customer_name": 0,
            "case_number": 0,
            "balance": 0,
            "invoice": 0,
        }
        assert await state_of(alice) == "available"
        await path_carries(call.customer, [bob_phone], [])
        await call.customer.hangup()
        await bob.event("interaction.ended", of(ix))
        await bob.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


# TR-5: dial number -----------------------------------------------------------------


@pytest.mark.spec("TR-5", "DN-1", "TR-6")
async def test_given_connected_call_when_transferred_to_a_number_then_the_far_end_takes_the_call(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as watch,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        # DN-1: only + # * : are kept of the special characters
        moved = await transfer(alice, ix, "dial_number", "+1 (555) 100-0000")
        assert moved["legs"][0]["number"] == ECHO and moved["legs"][0]["state"] == "ringing"
        await alice.state_event("wrap_up")
        connected = (await watch.event("interaction.connected", to_number(ix)))["data"]
        assert connected["agent"] is None
        assert [(leg["role"], leg["state"]) for leg in connected["legs"]] == [
            ("party", "connected")
        ]
        # the far end (the simulator) saw the customer's number
        dialled = next(e for e in pstn_calls(ami_events) if e.get("Number") == "5551000000")
        assert CUSTOMER in header(dialled, "CallerIDNum")
        leg = connected["legs"][0]["channel"]
        assert await talkers(ari, ix) == {call.customer_leg, leg}
        # the customer talks with the far end: it echoes the customer only
        await call.customer.set_muted(True)
        await call.customer.wait_for_silence()
        await call.customer.set_muted(False)
        await call.customer.wait_for_audio()
        await alice.wrap_up(ix, "resolved")
        await call.customer.hangup()
        ended = (await watch.event("interaction.ended", of(ix)))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-5")
async def test_given_transfer_to_an_address_book_name_then_its_number_rings_and_answers(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    """ "Field service" is +15552000003: it rings for 3 s, then answers."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as watch,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        moved = await transfer(alice, ix, "address_book", "field SERVICE")
        assert moved["legs"][0]["number"] == "+15552000003"
        await call.customer.wait_for_audio()  # music while it rings
        connected = (await watch.event("interaction.connected", to_number(ix), timeout=10))["data"]
        assert connected["legs"][0]["state"] == "connected"
        assert any(e.get("Number") == "5552000003" for e in pstn_calls(ami_events))
        await call.customer.hangup()
        await watch.event("interaction.ended", of(ix))
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-5")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(("+15556000002", "party_hangup", None), id="far-end-hangs-up"),
        pytest.param(("+15554000000", "transfer_not_answered", "busy"), id="busy"),
    ],
)
async def test_given_transfer_to_a_number_when_it_is_busy_or_hangs_up_then_the_call_ends(
    stack: Stack, ari: AriClient, phones: PhoneFactory, case: tuple[str, str, str | None]
) -> None:
    number, cause, outcome = case
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as watch,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        await transfer(alice, ix, "dial_number", number)
        if outcome is not None:
            failed = (await alice.event("interaction.transfer_failed"))["data"]
            assert failed["outcome"] == outcome and failed["then"] == "dropped"
        ended = (await watch.event("interaction.ended", of(ix), timeout=10))["data"]
        assert ended["end_cause"] == cause
        assert (await call.customer.wait_for("closed")).ended_by_peer
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-5", "DN-2", "DN-3", "TR-3", "TR-4")
async def test_given_targets_that_are_no_destination_when_transferred_then_refused_naming_rule(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        path = f"/v1/interactions/{ix}/transfer"
        before = await snapshot(stack, ari)
        cases = [
            ("dial_number", "1002", "DN-3"),  # an internal extension
            ("dial_number", "+1 800 555 0100", "DN-3"),  # an entry point (support)
            ("dial_number", BILLING_ENTRY_POINT, "DN-3"),
            ("dial_number", "12", "DN-2"),
            ("dial_number", "call me: abc", "DN-2"),
            ("dial_number", "+15551000000&Local/1001@agents", "DN-2"),
            ("address_book", "Nobody Known", "TR-5"),
            ("queue", "no-such-queue", "TR-3"),
            ("entry_point", "no-such-entry", "TR-4"),
        ]
        for kind, target, rule in cases:
            await refused(alice, "POST", path, rule, {"kind": kind, "target": target})
        with pytest.raises(ApiError) as shape:
            await alice.call("POST", path, {"kind": "phone", "target": "x"})
        assert shape.value.status == 400
        assert await snapshot(stack, ari) == before
        await path_carries(call.customer, [call.phone], [])
        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await nothing_left_behind(ari, stack.redis.url)


# TR-7: outdial ---------------------------------------------------------------------


@pytest.mark.spec("TR-7", "OD-6", "OD-7", "CO-1")
async def test_given_outdial_when_tenant_disables_transfer_to_queue_then_agents_and_numbers_only(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        alice_phone = await phones.agent("1001", answer_after_ms=0)
        await alice.login("1001")
        await alice.idle("break")  # OD-1: an idle agent may dial out
        started = await alice.call("POST", "/v1/agents/alice/outdial", {"number": ECHO}, expect=201)
        ix = started["id"]
        connected = (await alice.event("interaction.connected", of(ix)))["data"]
        assert connected["direction"] == "outbound"
        await alice_phone.wait_for("established")

        listed = await alice.call("GET", f"/v1/targets?kind=queue&interaction={ix}")
        assert listed["targets"] == []
        assert listed["transfer_kinds"] == ["agent", "dial_number", "address_book"]
        # TR-7 is the blind transfer's rule: the consult dialog of the same
        # call lists the queues (CO-1, OD-6)
        consult = f"/v1/targets?kind=queue&interaction={ix}&purpose=consult"
        for_consult = await alice.call("GET", consult)
        assert "queue" in for_consult["consult_kinds"]
        assert "support" in {t["id"] for t in for_consult["targets"]}
        before = await snapshot(stack, ari)
        for kind, target in (("queue", "support"), ("entry_point", "support")):
            body = await refused(
                alice,
                "POST",
                f"/v1/interactions/{ix}/transfer",
                "TR-7",
                {"kind": kind, "target": target},
            )
            assert body["details"]["allowed"] == ["agent", "dial_number", "address_book"]
        assert await snapshot(stack, ari) == before

        # an agent target is offered
        bob_phone = await available_agent(phones, bob, "1002")
        await transfer(alice, ix, "agent", "bob")
        await bob_phone.wait_for("incoming")
        await bob_phone.answer()
        now = (await bob.event("interaction.connected", of(ix)))["data"]
        assert now["agent"] == "bob" and now["direction"] == "outbound"
        await alice.state_event("wrap_up")
        # OD-7: the agent who dialled out is back in the state from before
        # (idle, with its reason); the agent who took the call over follows
        # the tenant's usual rule after wrap-up.
        after = await alice.wrap_up(ix, "resolved")
        assert (after["state"], after["reason"]) == ("idle", "break")
        await bob.end(ix)
        await bob.state_event("wrap_up")
        assert (await bob.wrap_up(ix, "resolved"))["state"] == "available"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("TR-4", "IN-3")
async def test_given_excluded_agent_when_head_call_excludes_them_then_next_call_is_offered(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """The call transferred to an entry point waits at the head of its queue
    and may not go back to alice; a later call behind it is offered to her."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        await transfer(alice, ix, "entry_point", "billing")
        await alice.state_event("wrap_up")
        later = await phones.customer("+15559990004")
        await later.dial(BILLING_ENTRY_POINT)
        queued = await supervisor.event("interaction.queued", lambda e: e["data"]["id"] != ix)
        await later.wait_for("established")
        await phone_idle(stack.redis.url, "1001")
        await alice.wrap_up(ix, "resolved")  # available: routing runs
        later_id = queued["data"]["id"]
        offer = (await alice.event("interaction.offered", of(later_id)))["data"]
        assert offer["label"] == "Acme Billing"
        assert ix in await queued_members(stack.redis.url)  # still waiting, ahead
        offers = [e for e in alice.events if e["type"] == "interaction.offered"]
        assert [e["data"]["interaction_id"] for e in offers] == [ix, later_id]
        await alice.event("interaction.connected", of(later_id))
        await later.hangup()
        await call.customer.hangup()
        await supervisor.event("interaction.ended", of(ix))
        await alice.state_event("wrap_up")
        await alice.wrap_up(later_id, "resolved")
        await nothing_left_behind(ari, stack.redis.url)
