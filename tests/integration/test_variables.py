"""Call-associated data (CAD-1..CAD-7) on real calls: the flow's variables on
the offer, the connected agent's saves against versions, the flow setting
values during the call, and secure values kept to the interaction's party."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack
from tests.support.asterisk import AmiEvents
from tests.support.constants import SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import Phone, PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration

CUSTOMER = "+15557654321"
SHOWN = [
    "customer_name",
    "account",
    "case_number",
    "balance",
    "vip",
    "follow_up_at",
    "customer_email",
]


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in document["variables"]}


def variables_path(ix_id: str) -> str:
    return f"/v1/interactions/{ix_id}/variables"


async def save(desktop: Desktop, ix_id: str, edits: dict[str, Any], expect: int = 200) -> Any:
    body = {"variables": {n: {"value": v, "version": ver} for n, (v, ver) in edits.items()}}
    return await desktop.call("PATCH", variables_path(ix_id), body, expect=expect)


async def flow_sets(admin: Desktop, ix_id: str, values: dict[str, Any], expect: int = 200) -> Any:
    return await admin.call(
        "PUT", f"/v1/interactions/{ix_id}/flow-variables", {"variables": values}, expect=expect
    )


async def hang_up(customer: Phone, agent: Desktop, ix_id: str) -> None:
    await customer.hangup()
    await agent.event("interaction.ended", lambda e: e["data"]["id"] == ix_id)
    await agent.wrap_up(ix_id, "resolved")


@pytest.mark.spec("CAD-1", "CAD-2", "CAD-5", "CAD-7", "IN-1")
async def test_given_flow_set_values_while_queued_when_offered_then_offer_and_get_carry_them(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-admin-token") as flow,
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        ix_id = (await flow.event("interaction.queued"))["data"]["id"]

        # CAD-1: the interaction starts with the flow's variables and defaults.
        start = by_name(await supervisor.call("GET", variables_path(ix_id)))
        assert list(start) == SHOWN
        assert start["vip"]["value"] == "false" and start["vip"]["version"] == 0
        assert start["balance"]["value"] is None and start["balance"]["type"] == "decimal"
        assert start["case_number"]["editable"] and not start["balance"]["editable"]
        assert start["account"]["secure"]

        # CAD-7: the flow sets values while the call waits in the queue.
        saved = await flow_sets(flow, ix_id, {"balance": "+01234.50", "account": "DE-ACCT-77"})
        assert saved["versions"] == {"balance": 1, "account": 1}
        assert "DE-ACCT-77" not in json.dumps(saved)

        # IN-1: the offer carries the variables with their current values.
        await alice.available()
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix_id
        offered = {v["name"]: v for v in offer["variables"]}
        assert list(offered) == SHOWN  # CAD-2: configured order
        assert offered["balance"]["value"] == "1234.50" and offered["balance"]["version"] == 1
        assert offered["balance"]["source"] == "flow"
        assert offered["account"]["value"] == "DE-ACCT-77"  # the offered agent is a party
        assert offered["vip"]["value"] == "false"

        # CAD-5: GET returns the same saved values; not editable before the answer.
        ringing = await alice.call("GET", variables_path(ix_id))
        assert ringing["can_edit"] is False and ringing["status"] == "ringing"
        assert by_name(ringing)["balance"]["value"] == "1234.50"
        await phone.wait_for("incoming")
        await phone.answer()
        await alice.event("interaction.connected")
        connected = await alice.call("GET", variables_path(ix_id))
        assert connected["can_edit"] is True
        assert by_name(connected)["account"]["value"] == "DE-ACCT-77"
        await customer.wait_for("established")
        await hang_up(customer, alice, ix_id)


@pytest.mark.spec("CAD-3", "CAD-5")
async def test_given_connected_agent_when_saving_valid_values_then_stored_normalised(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001", answer_after_ms=200)
        ix_id, customer = call.ix_id, call.customer
        result = await save(
            alice,
            ix_id,
            {
                "case_number": ("0042", 0),
                "follow_up_at": ("2024-05-01T12:00:00+02:00", 0),
                "customer_name": ("Jane Doe", 0),
                "customer_email": ("x" * 256, 0),  # exactly the limit
            },
        )
        values = by_name(result)
        assert values["case_number"]["value"] == "42"
        assert values["follow_up_at"]["value"] == "2024-05-01T10:00:00.000+00:00"
        assert values["customer_name"]["value"] == "Jane Doe"
        assert values["customer_email"]["value"] == "x" * 256
        assert all(values[n]["version"] == 1 for n in ("case_number", "follow_up_at"))
        assert values["case_number"]["updated_by"] == "alice"
        assert values["case_number"]["source"] == "agent"

        # The agent's desktop is told, in one event for the save.
        event = await alice.event("interaction.variables_updated")
        assert event["private"] is True
        changed = {v["name"]: v for v in event["data"]["variables"]}
        assert set(changed) == {"case_number", "follow_up_at", "customer_name", "customer_email"}
        assert changed["case_number"]["value"] == "42"

        # A JSON number is accepted for an integer; the version advances.
        again = by_name(await save(alice, ix_id, {"case_number": (43, 1)}))
        assert again["case_number"]["value"] == "43" and again["case_number"]["version"] == 2

        # CAD-5: the last saved values can always be fetched (restore).
        restored = by_name(await alice.call("GET", variables_path(ix_id)))
        assert restored["case_number"]["value"] == "43"
        assert restored["follow_up_at"]["value"] == "2024-05-01T10:00:00.000+00:00"
        assert restored["customer_name"]["version"] == 1
        await hang_up(customer, alice, ix_id)
        after = by_name(await alice.call("GET", variables_path(ix_id)))
        assert after["case_number"]["value"] == "43"


@pytest.mark.spec("CAD-3", "CAD-1", "CAD-6", "SEC-2")
async def test_given_a_call_when_a_save_breaks_a_rule_then_refused_and_nothing_changes(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        ix_id = (await alice.event("interaction.offered"))["data"]["interaction_id"]
        await phone.wait_for("incoming")

        async def refused(desktop: Desktop, edits: dict[str, Any], status: int) -> Any:
            with pytest.raises(ApiError) as err:
                await save(desktop, ix_id, edits)
            assert err.value.status == status, err.value.body
            return err.value.body["details"]

        # Ringing is not connected: the offered agent may not edit yet.
        details = await refused(alice, {"customer_name": ("Jane", 0)}, 403)
        assert details["rule"] == "CAD-3"

        await phone.answer()
        await alice.event("interaction.connected")
        await customer.wait_for("established")
        before = await alice.call("GET", variables_path(ix_id))

        # One bad value refuses the whole save, naming the rule and the variable.
        details = await refused(
            alice, {"customer_name": ("Jane", 0), "case_number": ("forty-two", 0)}, 400
        )
        assert details["rule"] == "CAD-3" and details["variable"] == "case_number"
        details = await refused(alice, {"customer_name": ("J" * 257, 0)}, 400)
        assert details["rule"] == "CAD-3" and details["variable"] == "customer_name"
        details = await refused(alice, {"follow_up_at": ("2024-05-01T10:00:00", 0)}, 400)
        assert details["variable"] == "follow_up_at"
        assert "UTC offset" in details["problems"][0]["problem"]
        details = await refused(alice, {"follow_up_at": ("next tuesday", 0)}, 400)
        assert details["rule"] == "CAD-3"
        details = await refused(alice, {"case_number": ("7", 0), "balance": ("1.00", 0)}, 403)
        assert details["rule"] == "CAD-3" and details["variable"] == "balance"
        details = await refused(alice, {"shoe_size": ("44", 0)}, 400)
        assert details["rule"] == "CAD-1" and details["variable"] == "shoe_size"
        await refused(alice, {"case_number": ("7", -1)}, 400)  # schema: a version is >= 0
        with pytest.raises(ApiError) as err:
            await alice.call("PATCH", variables_path(ix_id), {"variables": {}})
        assert err.value.status == 400

        # Only the agent connected to the interaction edits; others do not even see.
        details = await refused(bob, {"customer_name": ("Bob", 0)}, 403)
        assert details["rule"] == "CAD-3"
        with pytest.raises(ApiError) as err:
            await bob.call("GET", variables_path(ix_id))
        assert err.value.status == 403 and err.value.body["details"]["rule"] == "CAD-6"
        details = await refused(supervisor, {"customer_name": ("Sup", 0)}, 403)
        assert details["rule"] == "CAD-3"

        assert await alice.call("GET", variables_path(ix_id)) == before  # nothing changed

        # After the end (in wrap-up) the agent still sees but no longer edits.
        await customer.hangup()
        await alice.event("interaction.ended")
        details = await refused(alice, {"customer_name": ("Late", 0)}, 403)
        assert details["rule"] == "CAD-3"
        after = await alice.call("GET", variables_path(ix_id))
        assert after["variables"] == before["variables"] and after["can_edit"] is False
        assert not [e for e in alice.events if e["type"] == "interaction.variables_updated"]
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("CAD-4")
async def test_given_two_desktops_on_a_call_when_both_save_from_one_version_then_first_wins(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as first,
        Desktop(stack.url, "demo-alice-token", "alice") as second,
    ):
        call = await connected_call(phones, ari, first, "1001", answer_after_ms=200)
        ix_id, customer = call.ix_id, call.customer
        read_by_second = by_name(await second.call("GET", variables_path(ix_id)))
        assert read_by_second["customer_name"]["version"] == 0

        won = by_name(await save(first, ix_id, {"customer_name": ("Jane", 0)}))
        assert won["customer_name"]["version"] == 1

        # The other desktop is notified of the first save ...
        event = await second.event("interaction.variables_updated")
        (changed,) = event["data"]["variables"]
        assert changed["name"] == "customer_name" and changed["value"] == "Jane"
        assert changed["version"] == 1 and event["data"]["updated_by"] == "alice"

        # ... and its later save based on the older version is refused with a
        # conflict naming the variable and its current value; nothing is saved,
        # not even the variable that had no conflict.
        with pytest.raises(ApiError) as err:
            await save(second, ix_id, {"case_number": ("5", 0), "customer_name": ("John", 0)})
        assert err.value.status == 409
        assert err.value.body["error_id"] == "variable-conflict"
        details = err.value.body["details"]
        assert details["rule"] == "CAD-4" and details["variable"] == "customer_name"
        assert details["current_value"] == "Jane" and details["current_version"] == 1
        now = by_name(await second.call("GET", variables_path(ix_id)))
        assert now["customer_name"]["value"] == "Jane"
        assert now["case_number"]["version"] == 0 and now["case_number"]["value"] is None

        # Based on the current version the save goes through.
        redone = by_name(await save(second, ix_id, {"customer_name": ("John", 1)}))
        assert redone["customer_name"]["value"] == "John"
        assert redone["customer_name"]["version"] == 2
        await hang_up(customer, first, ix_id)


@pytest.mark.spec("CAD-4")
async def test_given_many_simultaneous_saves_from_one_version_then_exactly_one_wins(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(phones, ari, alice, "1001", answer_after_ms=200)
        ix_id, customer = call.ix_id, call.customer

        async def attempt(n: int) -> tuple[int, Any]:
            try:
                return 200, await save(alice, ix_id, {"case_number": (str(n), 0)})
            except ApiError as err:
                return err.status, err.body

        results = await asyncio.gather(*(attempt(n) for n in range(1, 21)))
        winners = [body for status, body in results if status == 200]
        losers = [body for status, body in results if status == 409]
        assert len(winners) == 1 and len(losers) == 19, [s for s, _ in results]
        value = by_name(winners[0])["case_number"]["value"]
        assert all(b["details"]["current_value"] == value for b in losers)
        assert all(b["details"]["current_version"] == 1 for b in losers)
        final = by_name(await alice.call("GET", variables_path(ix_id)))["case_number"]
        assert (final["value"], final["version"]) == (value, 1)
        await hang_up(customer, alice, ix_id)


@pytest.mark.spec("CAD-7", "CAD-4")
async def test_given_connected_call_when_flow_sets_a_variable_then_agent_sees_current_value(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-admin-token") as flow,
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
    ):
        call = await connected_call(phones, ari, alice, "1001", answer_after_ms=200)
        ix_id, customer = call.ix_id, call.customer
        await flow_sets(flow, ix_id, {"balance": "99.95"})
        event = await alice.event("interaction.variables_updated")
        assert event["data"]["source"] == "flow" and event["data"]["updated_by"] is None
        (balance,) = event["data"]["variables"]
        assert (balance["name"], balance["value"], balance["version"]) == ("balance", "99.95", 1)
        await flow_sets(flow, ix_id, {"balance": 120})  # the balance changes again
        event = await alice.event("interaction.variables_updated")
        assert event["data"]["variables"][0]["value"] == "120"
        shown = by_name(await alice.call("GET", variables_path(ix_id)))
        assert shown["balance"]["value"] == "120" and shown["balance"]["version"] == 2

        # The flow changing a value the agent is editing: the agent's save based
        # on the older version is refused, naming the flow's value.
        await save(alice, ix_id, {"case_number": ("10", 0)})
        await flow_sets(flow, ix_id, {"case_number": "11"})
        with pytest.raises(ApiError) as err:
            await save(alice, ix_id, {"case_number": ("12", 1)})
        assert err.value.status == 409
        assert err.value.body["details"]["current_value"] == "11"
        assert err.value.body["details"]["current_version"] == 2

        # Only the flow sets flow variables, with valid values of its variables.
        with pytest.raises(ApiError) as err:
            await flow_sets(alice, ix_id, {"balance": "0"})
        assert err.value.status == 403 and err.value.body["details"]["rule"] == "CAD-7"
        with pytest.raises(ApiError) as err:
            await flow_sets(flow, ix_id, {"balance": "a lot"})
        assert err.value.status == 400
        assert err.value.body["details"]["variable"] == "balance"
        with pytest.raises(ApiError) as err:
            await flow_sets(flow, ix_id, {"no_such": "1"})
        assert err.value.body["details"]["rule"] == "CAD-1"

        await customer.hangup()
        await alice.event("interaction.ended")
        with pytest.raises(ApiError) as err:
            await flow_sets(flow, ix_id, {"balance": "1"})
        assert err.value.status == 409 and err.value.body["details"]["rule"] == "CAD-7"
        assert by_name(await alice.call("GET", variables_path(ix_id)))["balance"]["value"] == "120"
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("CAD-6")
async def test_given_secure_values_on_a_call_then_only_the_agent_sees_them_never_logs_or_ami(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    account = f"ACCT-SECRET-{uuid.uuid4().hex}"
    email = f"mail-secret-{uuid.uuid4().hex}@example.com"
    refused_secret = f"REFUSED-SECRET-{uuid.uuid4().hex}"
    secrets = (account, email, refused_secret)
    log_path = stack.service.log_path
    log_start = log_path.stat().st_size

    async with (
        Desktop(stack.url, "demo-admin-token") as flow,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        phone = await phones.agent("1001", answer_after_ms=None)
        await alice.login("1001")
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        ix_id = (await flow.event("interaction.queued"))["data"]["id"]
        await flow_sets(flow, ix_id, {"account": account})

        await alice.available()
        offer = (await alice.event("interaction.offered"))["data"]
        assert {v["name"]: v["value"] for v in offer["variables"]}["account"] == account
        await phone.wait_for("incoming")
        await phone.answer()
        await alice.event("interaction.connected")
        await customer.wait_for("established")

        saved = by_name(await save(alice, ix_id, {"customer_email": (email, 0)}))
        assert saved["customer_email"]["value"] == email
        event = await alice.event("interaction.variables_updated")
        assert event["data"]["variables"][0]["value"] == email
        with pytest.raises(ApiError) as err:  # a refused secure value is not echoed
            await save(alice, ix_id, {"customer_email": (refused_secret + "\x01", 1)})
        assert err.value.status == 400 and refused_secret not in json.dumps(err.value.body)
        with pytest.raises(ApiError) as err:  # the party's conflict shows the value
            await save(alice, ix_id, {"customer_email": ("other@example.com", 0)})
        assert err.value.body["details"]["current_value"] == email

        # The party sees the values; the supervisor sees them masked; bob nothing.
        mine = by_name(await alice.call("GET", variables_path(ix_id)))
        assert mine["account"]["value"] == account and mine["customer_email"]["value"] == email
        masked = by_name(await supervisor.call("GET", variables_path(ix_id)))
        assert masked["account"]["value"] is None and masked["account"]["masked"] is True
        assert masked["customer_email"]["value"] is None
        assert masked["customer_email"]["version"] == 1
        assert masked["vip"]["value"] == "false" and masked["vip"]["masked"] is False
        with pytest.raises(ApiError) as err:
            await bob.call("GET", variables_path(ix_id))
        assert err.value.status == 403

        await customer.hangup()
        await alice.event("interaction.ended")
        await alice.wrap_up(ix_id, "resolved")
        await supervisor.event("interaction.wrapped_up")

        # Supervisors' and other agents' event streams never carried a value.
        assert any(e["type"] == "interaction.connected" for e in supervisor.events)
        for desktop in (supervisor, flow, bob):
            stream = json.dumps(desktop.events)
            assert not [s for s in secrets if s in stream]

    # Neither the service's log, nor Asterisk's logs, nor AMI ever saw them.
    service_text = log_path.read_text(errors="replace")[log_start:]
    assert ix_id in service_text  # this call was logged ...
    assert "customer_email v1" in service_text  # ... including the save
    assert not [s for s in secrets if s in service_text]
    for path in (stack.asterisk.log_path, stack.asterisk.messages_log):
        if path.exists():
            text = path.read_text(errors="replace")
            assert not [s for s in secrets if s in text], path
    agent_leg = f"{ix_id}-a1"
    assert any(agent_leg in json.dumps(e) for e in ami_events.events)  # AMI saw the call
    ami_text = json.dumps(ami_events.events)
    assert not [s for s in secrets if s in ami_text]
