"""The agent's interaction history (HI-1) and click-to-call from it (HI-2),
with real calls: an inbound call and an outdial are wrapped up, show in the
history, and an entry's number is dialled again as an outdial."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_outdial import header, of, phone_idle, pstn_call, pstn_calls, slots
from tests.support.asterisk import AmiEvents
from tests.support.constants import ECHO, SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration

CUSTOMER = "+15551000123"  # a caller whose number the simulator answers (behaviour 100)


async def history(desk: Desktop, agent: str, query: str = "") -> list[dict[str, Any]]:
    result = await desk.call("GET", f"/v1/agents/{agent}/history{query}")
    entries: list[dict[str, Any]] = result["entries"]
    return entries


async def inbound_call_wrapped_up(
    phones: PhoneFactory, alice: Desktop, reason: str
) -> dict[str, Any]:
    customer = await phones.customer(CUSTOMER)
    await customer.dial(SUPPORT)
    connected = (await alice.event("interaction.connected"))["data"]
    await customer.wait_for("established")
    await customer.hangup()
    await alice.event("interaction.ended", of(connected["id"]))
    await alice.wrap_up(connected["id"], reason)
    result: dict[str, Any] = connected
    return result


@pytest.mark.spec("HI-1")
async def test_given_wrapped_up_calls_when_agent_opens_history_then_both_show_newest_first_with_number_direction_times_queue_and_reason(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        await alice.login("1001")
        await alice.available()
        assert await history(alice, "alice") == []
        inbound = await inbound_call_wrapped_up(phones, alice, "resolved")
        await phone_idle(stack, "1001")
        out = await alice.call("POST", "/v1/agents/alice/outdial", {"number": ECHO}, expect=201)
        await alice.event("interaction.connected", of(out["id"]))
        # not in the history before its wrap-up
        assert [e["interaction_id"] for e in await history(alice, "alice")] == [inbound["id"]]
        await alice.end(out["id"])
        await alice.wrap_up(out["id"], "follow_up")

        entries = await history(alice, "alice", "?type=all")
        assert [e["interaction_id"] for e in entries] == [out["id"], inbound["id"]]
        newest, oldest = entries
        assert newest["direction"] == "outbound" and newest["kind"] == "outdial"
        assert newest["number"] == ECHO and newest["queue"] is None
        assert newest["wrap_up_reason"] == "follow_up"
        assert newest["wrap_up_label"] == "Needs follow-up"
        assert oldest["direction"] == "inbound" and oldest["number"] == CUSTOMER
        assert oldest["queue"] == "support" and oldest["queue_name"] == "Support"
        assert oldest["wrap_up_reason"] == "resolved" and oldest["type"] == "call"
        for entry in entries:
            started = datetime.fromisoformat(entry["started_at"])
            connected = datetime.fromisoformat(entry["connected_at"])
            ended = datetime.fromisoformat(entry["ended_at"])
            assert started <= connected <= ended
            assert entry["duration_seconds"] is not None
        # the "calls" tab shows the voice calls: here, all of them
        assert await history(alice, "alice", "?type=calls") == entries
        assert await history(supervisor, "alice") == entries
        # another agent cannot read it; a bad query is refused
        with pytest.raises(ApiError) as err:
            await history(bob, "alice")
        assert err.value.status == 403
        for query in ("?type=mail", "?limit=0", "?limit=x"):
            with pytest.raises(ApiError) as err:
                await history(alice, "alice", query)
            assert err.value.status == 400 and err.value.body["details"]["rule"] == "HI-1"
        assert [e["interaction_id"] for e in await history(alice, "alice", "?limit=1")] == [
            out["id"]
        ]


@pytest.mark.spec("HI-2", "OD-3", "OD-4", "DN-2")
async def test_given_history_entry_when_agent_clicks_to_call_then_its_number_is_dialled_as_an_outdial_edited_or_not(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        inbound = await inbound_call_wrapped_up(phones, alice, "resolved")
        await phone.wait_for("closed")
        await phone_idle(stack, "1001")

        # click-to-call the caller's number as it is
        path = f"/v1/agents/alice/history/{inbound['id']}/call"
        ix = await alice.call("POST", path, {}, expect=201)
        assert ix["direction"] == "outbound" and ix["dnis"] == CUSTOMER
        await alice.event("interaction.connected", of(ix["id"]), timeout=10)
        sim = await pstn_call(ami_events)
        assert sim["Number"] == CUSTOMER.removeprefix("+1")
        assert header(sim, "CallerIDNum") == {"+15550001000"}

        # HI-2: refused during an active call
        with pytest.raises(ApiError) as err:
            await alice.call("POST", path, {}, expect=201)
        assert err.value.status == 409 and err.value.body["details"]["rule"] == "HI-2"
        await alice.end(ix["id"])
        await alice.wrap_up(ix["id"], "resolved")
        await phone.wait_for("closed")
        await phone_idle(stack, "1001")

        # edited first (on the keypad), with another of the profile's ANIs
        edited = await alice.call(
            "POST", path, {"number": "+1 555 200 0001", "ani": "+15550001001"}, expect=201
        )
        assert edited["dnis"] == "+15552000001"
        connected = await alice.event("interaction.connected", of(edited["id"]), timeout=10)
        assert connected["data"]["ani"] == "+15550001001"
        calls = pstn_calls(ami_events)
        assert calls[-1]["Number"] == "5552000001"
        assert header(calls[-1], "CallerIDNum") == {"+15550001001"}
        await alice.end(edited["id"])
        await alice.wrap_up(edited["id"], "resolved")

        # an edited number goes through the dial-number rules; an unknown entry is 404
        with pytest.raises(ApiError) as err:
            await alice.call("POST", path, {"number": "12"}, expect=201)
        assert err.value.status == 400 and err.value.body["details"]["rule"] == "DN-2"
        with pytest.raises(ApiError) as err:
            await alice.call("POST", f"/v1/agents/alice/history/{'0' * 32}/call", {}, expect=201)
        assert err.value.status == 404
        assert await slots(stack, "acme") == 0
