"""Callbacks end to end (CB-1..CB-3): the flow (or a waiting caller) asks for a
callback; it waits in its queue; the agent's phone rings with an offer
labelled as a callback; when the agent answers, the customer is dialled
through the PSTN simulator; the customer answers and is connected, or is
tried again after the queue's spacing until the retry limit."""

from __future__ import annotations

import ast
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import (
    CALLBACK_RETRIES,
    CALLBACK_RETRY_SECONDS,
    CALLBACK_RING_SECONDS,
    Stack,
)
from tests.support.asterisk import (
    AmiEvents,
    audio_flows,
    channels_of_bridge,
    interaction_bridge,
    wait_until,
)
from tests.support.constants import (
    ANSWERS_AFTER_2S,
    BUSY,
    DC_PREFIX,
    DEFAULT_ANI,
    NEVER_ANSWERS,
    SUPPORT,
)
from tests.support.constants import ECHO as ANSWERS_AT_ONCE
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


async def request_callback(admin: Desktop, number: str, **extra: Any) -> dict[str, Any]:
    body = {"number": number, "queue": "support", **extra}
    result: dict[str, Any] = await admin.call("POST", "/v1/callbacks", body, expect=201)
    return result


def pstn_calls(ami_events: AmiEvents) -> list[dict[str, str]]:
    """The calls the PSTN simulator got (one UserEvent each)."""
    return [
        e
        for e in ami_events.events
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "PstnSim"
    ]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


def of(ix_id: str) -> Any:
    return lambda e: e["data"].get("id", e["data"].get("interaction_id")) == ix_id


@pytest.mark.spec("CB-1", "CB-2", "CB-3")
async def test_given_available_agent_when_flow_registers_callback_then_customer_dialled_on_answer_and_connected(  # noqa: E501
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await alice.login("1001")
        await alice.available()

        # CB-1: the flow registers the callback with its variables.
        created = await request_callback(
            admin, ANSWERS_AFTER_2S, variables={"case_number": "42", "customer_name": "Ada"}
        )
        ix_id = created["id"]
        assert created["kind"] == "callback" and created["status"] == "queued"
        assert created["ani"] == ANSWERS_AFTER_2S and created["dnis"] == SUPPORT
        queued = (await admin.event("interaction.queued", of(ix_id)))["data"]
        assert queued["entered_at"] == created["entered_at"]

        # CB-2: the offer is labelled as a callback and carries number, DNIS, queue.
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix_id
        assert offer["kind"] == "callback"
        assert offer["label"] == "Callback: Acme Support"
        assert offer["ani"] == ANSWERS_AFTER_2S
        assert offer["dnis"] == SUPPORT
        assert offer["queue"] == "support" and offer["queue_name"] == "Support"
        assert offer["status"] == "ringing"
        assert offer["entered_at"] == created["entered_at"]
        values = {v["name"]: v["value"] for v in offer["variables"]}
        assert values["case_number"] == "42" and values["customer_name"] == "Ada"
        await alice.state_event("reserved")

        # The agent's phone rings like for any offer, showing the customer's number ...
        incoming = await phone.wait_for("incoming")
        assert incoming.peer_number in (ANSWERS_AFTER_2S, ANSWERS_AFTER_2S.lstrip("+"))
        assert "Callback" in (incoming.peer_name or "")
        # ... and the customer is not dialled before the agent accepts.
        assert pstn_calls(ami_events) == []

        # The agent answers: the system dials the customer with the tenant's ANI ...
        await phone.answer()
        dialing = (await alice.event("interaction.dialing"))["data"]
        assert dialing["id"] == ix_id and dialing["attempts"] == 1
        sim = await ami_events.wait_for(
            "UserEvent", lambda e: e.get("UserEvent") == "PstnSim", timeout=5
        )
        assert sim["Number"] == ANSWERS_AFTER_2S.removeprefix("+1")
        assert sim["Behaviour"] == "200"
        assert _header(sim, "CallerIDNum") == {DEFAULT_ANI}
        # ... while the agent hears ringback and is still reserved.
        await phone.wait_for_audio(timeout=1.5)
        now = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert now["status"] == "dialing"
        assert (await alice.me())["state"] == "reserved"

        # CB-3: the customer answers: both are in the interaction's mixing bridge.
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["id"] == ix_id and connected["status"] == "connected"
        assert connected["kind"] == "callback" and connected["connected_at"]
        await alice.state_event("connected")
        bridge = await channels_of_bridge(ari, ix_id)
        assert bridge == {f"{ix_id}-a1", f"{ix_id}-c1"}
        assert "mixing" in (await interaction_bridge(ari, ix_id)).get("bridge_type", "")
        assert await audio_flows(ari, [f"{ix_id}-a1"])
        await phone.wait_for_audio()  # the customer's echo of the agent's tone

        # End and wrap-up work as for an inbound call.
        ended = await alice.end(ix_id)
        assert ended["end_cause"] == "agent_end"
        await phone.wait_for("closed")
        await alice.state_event("wrap_up")
        record = await alice.wrap_up(ix_id, "resolved")
        assert record["state"] == "available"
        final = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert final["wrap_up_reason"] == "resolved" and final["attempts"] == 1


@pytest.mark.spec("CB-3")
async def test_given_busy_customer_when_agent_takes_callback_then_agent_freed_and_callback_retried_after_spacing_until_limit(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        ix_id = (await request_callback(admin, BUSY))["id"]
        await admin.event("interaction.queued", of(ix_id))

        # First attempt: busy. The agent is available again at once (nothing to
        # wrap up) and the callback waits for the queue's spacing.
        await alice.event("interaction.offered")
        await alice.event("interaction.dialing")
        failed = await alice.event("interaction.callback_failed")
        assert failed["data"]["interaction_id"] == ix_id
        assert failed["data"]["attempt"] == 1 and failed["data"]["outcome"] == "busy"
        assert failed["data"]["retry_at"]
        freed = await alice.state_event("available")
        assert freed["data"]["previous"] == "reserved"
        await phone.wait_for("closed")
        scheduled = await admin.call("GET", f"/v1/interactions/{ix_id}")
        assert scheduled["status"] == "scheduled" and scheduled["last_outcome"] == "busy"
        assert scheduled["agent"] is None

        # It returns to its queue after the spacing, keeping its request time.
        requeued = await admin.event("interaction.queued", of(ix_id), timeout=10)
        spacing = (at(requeued) - at(failed)).total_seconds()
        assert spacing >= CALLBACK_RETRY_SECONDS - 0.05, spacing
        assert at(requeued) >= datetime.fromisoformat(failed["data"]["retry_at"])

        # Last attempt (the queue allows one retry): busy again, and it ends.
        offer = (await alice.event("interaction.offered", timeout=10))["data"]
        assert offer["interaction_id"] == ix_id and offer["kind"] == "callback"
        await alice.event("interaction.dialing")
        last = (await alice.event("interaction.callback_failed"))["data"]
        assert last["attempt"] == 1 + CALLBACK_RETRIES and last["retry_at"] is None
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["id"] == ix_id
        assert ended["end_cause"] == "customer_not_reached"
        assert ended["last_outcome"] == "busy" and ended["attempts"] == 1 + CALLBACK_RETRIES
        assert len(pstn_calls(ami_events)) == 1 + CALLBACK_RETRIES
        await wait_until(
            lambda: _state_is(alice, "available"), what="alice available after the last attempt"
        )


@pytest.mark.spec("CB-2", "CB-3")
async def test_given_customer_never_answers_when_ring_time_runs_out_then_callback_waits_in_queue_for_an_agent(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await alice.login("1001")
        await alice.available()
        ix_id = (await request_callback(admin, NEVER_ANSWERS))["id"]

        dialing = await alice.event("interaction.dialing")
        failed = await alice.event("interaction.callback_failed", timeout=CALLBACK_RING_SECONDS + 5)
        assert failed["data"]["outcome"] == "no_answer"
        rang = (at(failed) - at(dialing)).total_seconds()
        assert CALLBACK_RING_SECONDS - 0.3 <= rang <= CALLBACK_RING_SECONDS + 2, rang

        # Nobody is available when it returns: it waits in its queue like a call.
        await alice.idle("break")
        await admin.event("interaction.queued", of(ix_id))  # the request
        await admin.event("interaction.queued", of(ix_id), timeout=10)  # the retry
        waiting = await admin.call("GET", f"/v1/interactions/{ix_id}")
        assert waiting["status"] == "queued" and waiting["agent"] is None
        assert await _queued(stack, "support") == [ix_id]

        await alice.available()
        offer = (await alice.event("interaction.offered", timeout=10))["data"]
        assert offer["interaction_id"] == ix_id
        ended = (await alice.event("interaction.ended", timeout=CALLBACK_RING_SECONDS + 8))["data"]
        assert ended["end_cause"] == "customer_not_reached"
        assert ended["last_outcome"] == "no_answer"


@pytest.mark.spec("CB-3", "RONA-2")
async def test_given_callback_dialing_when_agent_hangs_up_then_attempt_cancelled_and_next_agent_offered(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    alice_phone = await phones.agent("1001", answer_after_ms=None)
    bob_phone = await phones.agent("1002", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        ix_id = (await request_callback(admin, NEVER_ANSWERS))["id"]
        await alice.event("interaction.offered")
        await alice_phone.wait_for("incoming")
        await bob.login("1002")
        await bob.available()

        await alice_phone.answer()
        await alice.event("interaction.dialing")
        await alice_phone.hangup()  # the agent gives up while the customer rings

        withdrawn = (await alice.event("interaction.offer_withdrawn"))["data"]
        assert withdrawn["interaction_id"] == ix_id and withdrawn["reason"] == "cancelled"
        await alice.state_event("rona")

        offer = (await bob.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix_id and offer["kind"] == "callback"
        await bob_phone.wait_for("incoming")
        ix = await admin.call("GET", f"/v1/interactions/{ix_id}")
        assert ix["attempts"] == 0  # the cancelled attempt does not count
        await bob_phone.reject()
        await bob.state_event("rona")
        await wait_until(lambda: _queued_now(stack, ix_id), what="the callback back in its queue")


@pytest.mark.spec("CB-1", "CB-2", "CB-3")
async def test_given_caller_waiting_when_pressing_the_callback_key_then_call_ends_and_callback_takes_its_place(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    agent_phone = await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        customer = await phones.customer(ANSWERS_AT_ONCE)
        await customer.dial(SUPPORT)
        call = (await supervisor.event("interaction.queued"))["data"]
        await customer.wait_for("established")
        await customer.wait_for_audio()  # music on hold

        await customer.send_dtmf("1")  # support's callback key
        ended = (await supervisor.event("interaction.ended", of(call["id"])))["data"]
        assert ended["end_cause"] == "callback_requested"
        callback = (
            await supervisor.event("interaction.queued", lambda e: e["data"]["id"] != call["id"])
        )["data"]
        assert callback["kind"] == "callback" and callback["ani"] == ANSWERS_AT_ONCE
        assert callback["dnis"] == SUPPORT and callback["label"] == "Callback: Acme Support"
        assert callback["entered_at"] == call["entered_at"]  # keeps the caller's place
        closed = await customer.wait_for("closed", timeout=10)  # after "Thank you. Goodbye."
        assert closed.ended_by_peer

        await alice.login("1001")
        await alice.available()
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == callback["id"] and offer["kind"] == "callback"
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["id"] == callback["id"] and connected["kind"] == "callback"
        await agent_phone.wait_for_audio()  # the echo of the called-back customer
        await agent_phone.hangup()
        ended = (await alice.event("interaction.ended", of(callback["id"])))["data"]
        assert ended["end_cause"] == "agent_hangup"
        await alice.state_event("wrap_up")


@pytest.mark.spec("CB-1", "SEC-2")
async def test_given_bad_callback_request_then_refused_naming_the_rule_and_nothing_queued(
    stack: Stack,
) -> None:
    async with (
        Desktop(stack.url, "demo-admin-token") as admin,
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
    ):
        bad: list[tuple[dict[str, Any], str]] = [
            ({"number": "+1555100&PJSIP/1001", "queue": "support"}, "number"),
            ({"number": "1555,1000000", "queue": "support"}, "number"),
            ({"number": "12", "queue": "support"}, "number"),
            ({"number": "+15551000000", "queue": "nope"}, "queue"),
            ({"number": "+15551000000", "queue": "support", "entry_point": "x"}, "entry_point"),
            ({"number": "+15551000000", "queue": "support", "dnis": "800$x"}, "dnis"),
            ({"number": "+15551000000", "queue": "support", "label": "a\r\nb"}, "label"),
        ]
        for request, field in bad:
            with pytest.raises(ApiError) as refused:
                await admin.call("POST", "/v1/callbacks", request, expect=201)
            assert refused.value.status == 400, request
            assert refused.value.body["details"]["rule"] == "CB-1", request
            assert refused.value.body["details"]["field"] == field, request

        with pytest.raises(ApiError) as typed:
            await admin.call(
                "POST",
                "/v1/callbacks",
                {"number": "+15551000000", "queue": "support", "variables": {"case_number": "x"}},
                expect=201,
            )
        assert typed.value.status == 400
        assert typed.value.body["details"]["rule"] == "CAD-3"

        with pytest.raises(ApiError) as forbidden:
            await alice.call(
                "POST", "/v1/callbacks", {"number": "+15551000000", "queue": "support"}, expect=201
            )
        assert forbidden.value.status == 403

        assert await _queued(stack, "support") == []
        assert await _active(stack) == set()
        assert not [e for e in admin.events if e["type"] == "interaction.queued"]


def _header(event: dict[str, Any], name: str) -> set[str]:
    """An AMI header's values: a UserEvent header that repeats a channel
    header (such as CallerIDNum) comes twice, as the text of a list."""
    value = str(event.get(name))
    if value.startswith("["):
        return {str(v) for v in ast.literal_eval(value)}
    return {value}


async def _state_is(desk: Desktop, state: str) -> bool:
    return bool((await desk.me())["state"] == state)


async def _queued(stack: Stack, queue: str) -> list[str]:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        return [str(m) for m in await client.zrange(f"{DC_PREFIX}queue:acme:{queue}", 0, -1)]
    finally:
        await client.aclose()


async def _active(stack: Stack) -> set[str]:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        return {str(m) for m in await client.smembers(f"{DC_PREFIX}active")}
    finally:
        await client.aclose()


async def _queued_now(stack: Stack, ix_id: str) -> bool:
    return ix_id in await _queued(stack, "support")
