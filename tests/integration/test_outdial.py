"""Outdial end to end (OD-1..OD-8, DN-1..DN-4, LIM-2): the agent dials out from
the keypad or the address book; the agent's phone rings first; once the
agent answers, the customer (the PSTN simulator) is dialled with the chosen
ANI as caller ID; when the customer answers both are connected. Failures end
the attempt with an error event, free the agent and the limit slot."""

from __future__ import annotations

import ast
import asyncio
from functools import partial
from typing import Any

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.domain.interaction import now_ms
from tests.integration.conftest import OUTDIAL_RING_SECONDS, Stack
from tests.integration.test_hold import packets_sent_to
from tests.support.asterisk import AmiEvents, audio_flows, channels_of_bridge, wait_until
from tests.support.constants import (
    BUSY,
    CONGESTION,
    DC_PREFIX,
    DEFAULT_ANI,
    ECHO,
    NEVER_ANSWERS,
    OTHER_ANI,
    REJECTS,
)
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


# Helpers shared by the outbound test modules ------------------------------------------


def pstn_calls(ami_events: AmiEvents) -> list[dict[str, str]]:
    """The calls the PSTN simulator got (one UserEvent each)."""
    return [
        e
        for e in ami_events.events
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "PstnSim"
    ]


async def pstn_call(ami_events: AmiEvents, timeout: float = 5.0) -> dict[str, str]:
    return await ami_events.wait_for(
        "UserEvent", lambda e: e.get("UserEvent") == "PstnSim", timeout=timeout
    )


def header(event: dict[str, Any], name: str) -> set[str]:
    """An AMI header's values (a UserEvent header that repeats a channel header
    comes twice, as the text of a list)."""
    value = str(event.get(name))
    if value.startswith("["):
        return {str(v) for v in ast.literal_eval(value)}
    return {value}


def of(ix_id: str) -> Any:
    return lambda e: e["data"].get("id", e["data"].get("interaction_id")) == ix_id


async def outdial(desk: Desktop, agent: str, expect: int = 201, **body: Any) -> Any:
    return await desk.call("POST", f"/v1/agents/{agent}/outdial", body, expect=expect)


async def refused(desk: Desktop, agent: str, status: int, **body: Any) -> dict[str, Any]:
    """An outdial the API refuses; its error body."""
    with pytest.raises(ApiError) as err:
        await outdial(desk, agent, **body)
    assert err.value.status == status, err.value.body
    result: dict[str, Any] = err.value.body
    return result


async def slots(stack: Stack, tenant: str | None) -> int:
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        return await store.slots_used(tenant, now_ms())
    finally:
        await store.close()


async def phone_idle(stack: Stack, extension: str) -> None:
    """Wait until the control plane knows the phone is on-hook again (ST-4)."""
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:

        async def idle() -> bool:
            return not await client.sismember(f"{DC_PREFIX}busy_devices", extension)

        await wait_until(idle, what=f"phone {extension} on-hook")
    finally:
        await client.aclose()


async def state_of(desk: Desktop) -> dict[str, Any]:
    result: dict[str, Any] = await desk.me()
    return result


async def active_interactions(stack: Stack) -> set[str]:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        return {str(m) for m in await client.smembers(f"{DC_PREFIX}active")}
    finally:
        await client.aclose()


# OD-1..OD-4, OD-6, OD-7: the whole call -------------------------------------------------


@pytest.mark.spec("OD-1", "OD-2", "OD-3", "OD-4", "OD-6", "OD-7", "DN-1", "LIM-3")
async def test_given_idle_agent_when_outdial_from_keypad_then_phone_rings_first_customer_sees_chosen_ani_and_both_are_connected(  # noqa: E501
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.idle("break")
        await alice.state_event("idle")

        # OD-3: the profile's ANIs, alphabetically, and the tenant's default.
        anis = await alice.call("GET", "/v1/agents/alice/outdial-anis")
        assert anis == {"anis": [DEFAULT_ANI, OTHER_ANI], "default": DEFAULT_ANI}

        # OD-2, DN-1: typed with punctuation; only digits and '+' are dialled.
        ix = await outdial(alice, "alice", number="+1 (555) 100-0000", ani=OTHER_ANI)
        ix_id = ix["id"]
        assert ix["direction"] == "outbound" and ix["kind"] == "outdial"
        assert ix["status"] == "ringing" and ix["agent"] == "alice"
        assert ix["dnis"] == ECHO and ix["ani"] == OTHER_ANI
        reserved = (await alice.state_event("reserved"))["data"]
        assert reserved["previous"] == "idle" and reserved["interaction"] == ix_id
        offer = (await alice.event("interaction.offered", of(ix_id)))["data"]
        assert offer["direction"] == "outbound" and offer["status"] == "ringing"
        assert offer["can_cancel"] is True and offer["label"] == "Outdial"
        assert await slots(stack, "acme") == 1  # LIM-1: the attempt holds a slot

        # OD-4: the agent's phone rings first, showing the customer's number;
        # the customer is not dialled yet.
        incoming = await phone.wait_for("incoming")
        assert incoming.peer_number in (ECHO, ECHO.lstrip("+"))
        assert pstn_calls(ami_events) == []

        # The agent answers: the customer is dialled with the chosen ANI (OD-3).
        await phone.answer()
        dialing = (await alice.event("interaction.dialing", of(ix_id)))["data"]
        assert dialing["status"] == "dialing"
        sim = await pstn_call(ami_events)
        assert sim["Number"] == ECHO.removeprefix("+1") and sim["Behaviour"] == "100"
        assert header(sim, "CallerIDNum") == {OTHER_ANI}

        # The customer answers: both are connected in the interaction's bridge.
        connected = (await alice.event("interaction.connected", of(ix_id)))["data"]
        assert connected["status"] == "connected" and connected["connected_at"]
        await alice.state_event("connected")
        assert await channels_of_bridge(ari, ix_id) == {f"{ix_id}-a1", f"{ix_id}-o1"}
        assert await audio_flows(ari, [f"{ix_id}-a1"])
        await phone.wait_for_audio()  # the customer's echo of the agent's tone

        # OD-6: recording (tenant and profile allow it) and hold work as on any call.
        assert connected["recording"] == "recording"
        held = await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert held["held"] is True
        assert await channels_of_bridge(ari, ix_id) == {f"{ix_id}-a1"}
        moh = await ami_events.wait_for(
            "MusicOnHoldStart", lambda e: e.get("Uniqueid") == f"{ix_id}-o1"
        )
        assert moh["Class"] == "default"  # the customer hears music on hold
        assert await packets_sent_to(ari, f"{ix_id}-a1") < 5  # the agent hears nothing
        resumed = await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert resumed["held"] is False
        await phone.wait_for_audio()

        # End and wrap-up: the agent goes back to idle with the idle reason (OD-7:
        # acme does not set "available after outdial").
        ended = await alice.end(ix_id)
        assert ended["end_cause"] == "agent_end"
        await alice.state_event("wrap_up")
        record = await alice.wrap_up(ix_id, "resolved")
        assert record["state"] == "idle" and record["reason"] == "break"
        assert await slots(stack, "acme") == 0
        names = {r.get("name") for r in await ari.stored_recordings()}
        assert ix_id in names


@pytest.mark.spec("OD-2", "OD-3", "OD-7")
async def test_given_tenant_with_available_after_outdial_when_idle_agent_dials_address_book_entry_then_default_ani_and_available_after_wrap_up(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    # tenant "lim": available after outdial; agent l1020's profile has no keypad
    phone = await phones.agent("1020", answer_after_ms=0)
    async with Desktop(stack.url, "test-lim-l1020-token", "l1020") as agent:
        await agent.login("1020")
        await agent.idle("break")
        book = await agent.call("GET", "/v1/address-book?search=echo")
        assert book == {"entries": [{"name": "Echo desk", "number": ECHO}]}
        # OD-2: no keypad permission: a typed number is refused, the book works
        body = await refused(agent, "l1020", 403, number=ECHO)
        assert body["details"]["rule"] == "OD-2"
        ix = await outdial(agent, "l1020", address_book="echo desk")
        assert ix["dnis"] == ECHO and ix["ani"] == "+15550003000"  # the tenant's default
        await phone.wait_for("established")
        sim = await pstn_call(ami_events)
        assert header(sim, "CallerIDNum") == {"+15550003000"}
        await agent.event("interaction.connected", of(ix["id"]))
        await agent.end(ix["id"])
        record = await agent.wrap_up(ix["id"], "done")
        assert record["state"] == "available"  # OD-7: even though it started from idle


# OD-1, OD-2, OD-3, DN: refusals change nothing ------------------------------------------


@pytest.mark.spec("OD-1", "OD-2", "OD-3", "DN-2", "DN-3", "DN-4", "SEC-2")
async def test_given_bad_requests_when_outdial_then_refused_naming_the_rule_and_nothing_changes(
    stack: Stack, ami_events: AmiEvents
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-carol-token", "carol") as carol,
    ):
        # OD-1: logged out, and a profile without outdial
        body = await refused(alice, "alice", 409, number=ECHO)
        assert body["details"]["rule"] == "OD-1"
        await alice.login("1001")
        await alice.available()
        await carol.login("1003")
        body = await refused(carol, "carol", 403, number=ECHO)
        assert body["details"]["rule"] == "OD-1"
        # an agent dials only for themself
        with pytest.raises(ApiError) as err:
            await outdial(carol, "alice", number=ECHO)
        assert err.value.status == 403

        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"number": "1002"}, 400, "DN-3"),  # an internal extension
            ({"number": "+1 800 555 0101"}, 400, "DN-3"),  # an entry point
            ({"number": "12"}, 400, "DN-2"),  # too short
            ({"number": "+1555100000012345"}, 400, "DN-2"),  # too long
            ({"number": "5551000000"}, 400, "DN-2"),  # no form (no + or IDD prefix)
            ({"number": "+1 900 555 1234"}, 400, "DN-4"),  # the dial plan's denied prefix
            ({"number": ECHO, "ani": "+15559999999"}, 400, "OD-3"),  # not a profile ANI
            ({}, 400, "OD-2"),  # neither number nor address book
            ({"number": ECHO, "address_book": "Acme Billing"}, 400, "OD-2"),  # both
            ({"address_book": "Nobody"}, 400, "OD-2"),
        ]
        for request, status, rule in cases:
            body = await refused(alice, "alice", status, **request)
            assert body["details"]["rule"] == rule, (request, body)
        # SEC-2: unknown fields and wrong types are refused by the schema
        await refused(alice, "alice", 400, number=ECHO, extra="x")
        await refused(alice, "alice", 400, number=12345)

        # nothing changed: alice is available, no call, no slot, nothing dialled
        assert (await state_of(alice))["state"] == "available"
        assert await active_interactions(stack) == set()
        assert await slots(stack, None) == 0
        assert pstn_calls(ami_events) == []


@pytest.mark.spec("LIM-2", "LIM-1")
async def test_given_tenant_at_its_limit_when_agent_dials_out_then_refused_with_code_27_and_text(
    stack: Stack,
) -> None:
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        for i in range(20):  # acme's limit: 20 calls elsewhere
            code = await store.admit(
                f"elsewhere-{i}",
                "acme",
                dc_limit=50,
                tenant_limit=20,
                now=now_ms(),
                lease_ms=60_000,
            )
            assert code == 0
        async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
            await alice.login("1001")
            await alice.available()
            body = await refused(alice, "alice", 409, number=ECHO)
            assert body["details"]["rule"] == "LIM-2" and body["details"]["code"] == 27
            assert body["details"]["text"] == (
                "The tenant has reached its maximum of concurrent calls."
            )
            assert (await state_of(alice))["state"] == "available"
            assert await store.slots_used("acme", now_ms()) == 20
    finally:
        await store.close()


# OD-5: failures ---------------------------------------------------------------------------


@pytest.mark.spec("OD-5", "LIM-3")
@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        (BUSY, "busy"),
        (CONGESTION, "congestion"),
        (REJECTS, "rejected"),
        (NEVER_ANSWERS, "no_answer"),
    ],
)
async def test_given_customer_not_reached_when_agent_answered_then_error_event_names_cause_agent_back_and_slot_freed(  # noqa: E501
    stack: Stack, phones: PhoneFactory, number: str, outcome: str
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        before = (await alice.state_event("available"))["data"]
        ix = await outdial(alice, "alice", number=number)
        await alice.event("interaction.dialing", of(ix["id"]))
        failed = (
            await alice.event(
                "interaction.outdial_failed", of(ix["id"]), timeout=OUTDIAL_RING_SECONDS + 6
            )
        )["data"]
        assert failed["outcome"] == outcome and failed["rule"] == "OD-5"
        assert failed["message"] and failed["number"] == number
        ended = (await alice.event("interaction.ended", of(ix["id"])))["data"]
        assert ended["end_cause"] == "not_connected" and ended["last_outcome"] == outcome
        back = (await alice.state_event("available"))["data"]
        assert back["previous"] == "reserved"
        assert back["seq"] > before["seq"]
        await phone.wait_for("closed")
        assert await slots(stack, "acme") == 0
        assert await active_interactions(stack) == set()


@pytest.mark.spec("OD-5")
@pytest.mark.parametrize(
    ("reject_with", "outcome"), [(603, "agent_declined"), (None, "agent_no_answer")]
)
async def test_given_agent_does_not_take_the_outdial_then_it_ends_with_the_cause_and_agent_returns_to_idle(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory, reject_with: int | None, outcome: str
) -> None:
    await phones.agent("1001", answer_after_ms=None, reject_with=reject_with)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.idle("lunch")
        ix = await outdial(alice, "alice", number=ECHO)
        failed = (
            await alice.event(
                "interaction.outdial_failed", of(ix["id"]), timeout=OUTDIAL_RING_SECONDS + 6
            )
        )["data"]
        assert failed["outcome"] == outcome
        back = (await alice.event("agent.state", lambda e: e["data"]["previous"] == "reserved"))[
            "data"
        ]
        assert back["state"] == "idle" and back["reason"] == "lunch"
        assert pstn_calls(ami_events) == []  # the customer was never dialled
        assert await slots(stack, "acme") == 0


@pytest.mark.spec("OD-4", "OD-5")
async def test_given_customer_ringing_when_agent_cancels_then_attempt_ends_as_cancelled(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        ix = await outdial(alice, "alice", number=NEVER_ANSWERS)
        await alice.event("interaction.dialing", of(ix["id"]))
        cancelled = await alice.call("POST", f"/v1/interactions/{ix['id']}/cancel")
        assert cancelled["status"] == "ended" and cancelled["end_cause"] == "cancelled"
        failed = (await alice.event("interaction.outdial_failed", of(ix["id"])))["data"]
        assert failed["outcome"] == "cancelled"
        await alice.state_event("available")
        await phone.wait_for("closed")
        assert await slots(stack, "acme") == 0
        # a second cancel is refused: nothing rings any more
        with pytest.raises(ApiError) as err:
            await alice.call("POST", f"/v1/interactions/{ix['id']}/cancel")
        assert err.value.status == 409 and err.value.body["details"]["rule"] == "OD-4"


@pytest.mark.spec("OD-4")
async def test_given_tenant_without_cancel_when_agent_cancels_ringing_outdial_then_refused(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1012", answer_after_ms=None)
    async with Desktop(stack.url, "test-lim-l1012-token", "l1012") as agent:
        await agent.login("1012")
        await agent.available()
        ix = await outdial(agent, "l1012", number=ECHO)
        await phone.wait_for("incoming")
        with pytest.raises(ApiError) as err:
            await agent.call("POST", f"/v1/interactions/{ix['id']}/cancel")
        assert err.value.status == 409 and err.value.body["details"]["rule"] == "OD-4"
        assert (await agent.call("GET", f"/v1/interactions/{ix['id']}"))["status"] == "ringing"
        # the agent declines on the phone instead
        await phone.reject(status=486)
        failed = (await agent.event("interaction.outdial_failed", of(ix["id"])))["data"]
        assert failed["outcome"] == "agent_declined"
        await agent.state_event("available")


# OD-8: an inbound offer racing an outdial ----------------------------------------------


@pytest.mark.spec("OD-8", "ST-2")
async def test_given_available_agent_when_inbound_offer_races_an_outdial_then_exactly_one_wins_and_the_other_fails_cleanly(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    outcomes: list[str] = []
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.available()
        for round_ in range(3):
            await alice.state_event("available")
            customer_ani = f"+1555000080{round_}"
            customer = await phones.customer(customer_ani)
            # fire both at once
            dial: Any
            attempt: Any
            dial, attempt = await asyncio.gather(
                customer.dial("8005550100"),
                alice.call("POST", "/v1/agents/alice/outdial", {"number": ECHO}, expect=201),
                return_exceptions=True,
            )
            assert not isinstance(dial, BaseException), dial
            queued = (await supervisor.event("interaction.queued", partial(_from, customer_ani)))[
                "data"
            ]
            reserved = await alice.state_event("reserved")
            if isinstance(attempt, ApiError):
                # the inbound offer came first: the outdial failed cleanly
                assert attempt.status == 409 and attempt.body["details"]["rule"] in ("OD-8", "OD-1")
                outcomes.append("inbound")
                assert reserved["data"]["interaction"] == queued["id"]
                offer = (await alice.event("interaction.offered"))["data"]
                assert offer["interaction_id"] == queued["id"]
                await phone.wait_for("incoming")
                await customer.hangup()
                await alice.event("interaction.ended", of(queued["id"]))
            else:
                # the outdial came first: the inbound call waits in its queue
                assert not isinstance(attempt, BaseException), attempt
                outcomes.append("outdial")
                assert reserved["data"]["interaction"] == attempt["id"]
                # the agent's offer is the outdial's (read here, so that a
                # later round's inbound offer is not taken for this one)
                await alice.event("interaction.offered", of(attempt["id"]))
                await phone.wait_for("incoming")
                with pytest.raises(AssertionError):
                    await alice.event("interaction.offered", of(queued["id"]), timeout=1.0)
                assert (await supervisor.call("GET", f"/v1/interactions/{queued['id']}"))[
                    "status"
                ] == "queued"
                await customer.hangup()
                await supervisor.event("interaction.ended", of(queued["id"]))
                await phone.reject(status=486)
                await alice.event("interaction.outdial_failed", of(attempt["id"]))
            # never double-booked: one reservation only
            with pytest.raises(AssertionError):
                await alice.state_event("reserved", timeout=0.3)
            await wait_until(lambda: _state_in(alice, ("available",)), what="alice available again")
            await phone.wait_for("closed")
            await phone_idle(stack, "1001")
    assert len(outcomes) == 3


def _from(ani: str, event: dict[str, Any]) -> bool:
    return bool(event["data"]["ani"] == ani)


async def _state_in(desk: Desktop, states: tuple[str, ...]) -> bool:
    return bool((await desk.me())["state"] in states)


# CB-4: callbacks count against the limits ---------------------------------------------------


@pytest.mark.spec("CB-4", "LIM-2", "LIM-3")
async def test_given_tenant_at_its_limit_when_agent_takes_a_callback_then_refused_with_27_not_dialled_and_retried_once_a_slot_frees(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=0)
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        for i in range(20):  # acme's limit: 20 calls elsewhere
            await store.admit(
                f"elsewhere-{i}",
                "acme",
                dc_limit=50,
                tenant_limit=20,
                now=now_ms(),
                lease_ms=60_000,
            )
        async with (
            Desktop(stack.url, "demo-alice-token", "alice") as alice,
            Desktop(stack.url, "demo-admin-token") as admin,
        ):
            await alice.login("1001")
            await alice.available()
            await alice.state_event("available")
            created = await admin.call(
                "POST", "/v1/callbacks", {"number": ECHO, "queue": "support"}, expect=201
            )
            ix_id = created["id"]
            await alice.event("interaction.offered", of(ix_id))
            # the agent takes it: the dial attempt is refused with the code and its text
            refusal = (await alice.event("interaction.refused", of(ix_id)))["data"]
            assert refusal["code"] == 27 and refusal["rule"] == "LIM-2"
            assert refusal["text"] == "The tenant has reached its maximum of concurrent calls."
            failed = (await alice.event("interaction.callback_failed", of(ix_id)))["data"]
            assert failed["outcome"] == "limit_reached" and failed["retry_at"]
            await alice.event("agent.state", lambda e: e["data"]["previous"] == "reserved")
            assert pstn_calls(ami_events) == []  # the customer was not dialled
            assert await store.slots_used("acme", now_ms()) == 20

            # a slot frees: the callback comes back and is dialled, holding a slot
            await store.release("elsewhere-0", "acme")
            await alice.event("interaction.connected", of(ix_id), timeout=15)
            assert await store.slots_used("acme", now_ms()) == 20
            await alice.end(ix_id)
            await alice.wrap_up(ix_id, "resolved")
            assert await store.slots_used("acme", now_ms()) == 19
            for i in range(1, 20):
                await store.release(f"elsewhere-{i}", "acme")
    finally:
        await store.close()
