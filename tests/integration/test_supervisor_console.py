"""The supervisor console's API against the real stack (SUP-1..SUP-4,
SUP-6): live queues, agents and limits with the day's figures, counted
where calls are queued, answered, abandoned and refused; a supervisor
setting agents idle or logging them out; the day's interactions, their CSV
export and the 15-minute chart; and the batched WebSocket view."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import Stack
from tests.integration.test_limits import _fill
from tests.support.constants import SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration

FIRST = "+15551110001"
SECOND = "+15551110002"


def queue(snap: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in snap["queues"] if q["id"] == qid)


def agent(snap: dict[str, Any], aid: str) -> dict[str, Any]:
    return next(a for a in snap["agents"] if a["id"] == aid)


@pytest.mark.spec("SUP-1", "SUP-2", "SUP-3", "SUP-6")
async def test_given_calls_abandoned_and_answered_then_queues_agents_and_records_show_them(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
    ):
        await alice.login("1001")
        # SUP-1: a call waits (nobody available): waiting, the oldest entry time
        first = await phones.customer(FIRST)
        await first.dial(SUPPORT)
        queued = (await sup.event("interaction.queued"))["data"]
        snap = await sup.call("GET", "/v1/supervisor/snapshot")
        support = queue(snap, "support")
        assert support["waiting"] == 1
        assert support["oldest_entered_at"] == queued["entered_at"]
        assert support["today"]["offered"] == 1 and support["today"]["service_level"] is None
        assert support["service_level_seconds"] == 20
        assert support["agents"]["idle"] == 1 and support["agents_total"] == 4  # tier1
        assert support["agents"]["logged_out"] == 3
        assert (
            queue(snap, "vip")["waiting"] == 0 and queue(snap, "vip")["oldest_entered_at"] is None
        )
        listed = await sup.call("GET", "/v1/supervisor/interactions")
        assert [r["id"] for r in listed["queued"]] == [queued["id"]] and not listed["active"]

        # the caller gives up: abandoned
        await first.hangup()
        await sup.event("interaction.ended", lambda e: e["data"]["id"] == queued["id"])
        support = queue(await sup.call("GET", "/v1/supervisor/queues"), "support")
        assert support["waiting"] == 0 and support["today"]["abandoned"] == 1

        # SUP-2: the next call is answered at once: within the service level
        await alice.available()
        second = await phones.customer(SECOND)
        await second.dial(SUPPORT)
        connected = (await alice.event("interaction.connected"))["data"]
        await second.wait_for("established")
        snap = await sup.call("GET", "/v1/supervisor/snapshot")
        today = queue(snap, "support")["today"]
        assert (today["offered"], today["answered"], today["answered_in_sl"]) == (2, 1, 1)
        assert today["service_level"] == 1.0
        row = agent(snap, "alice")
        assert row["state"] == "connected" and row["team"] == "tier1"
        assert row["since"] is not None and row["ronas_today"] == 0
        call = row["call"]
        assert call["id"] == connected["id"] and call["queue"] == "support"
        assert call["direction"] == "inbound" and call["connected_at"] == connected["connected_at"]
        # SUP-3: the call holds a slot of the tenant and of the datacenter
        limits = snap["limits"]
        assert limits["tenant"] == {"used": 1, "max": 20}
        assert limits["datacenter"]["used"] == 1 and limits["datacenter"]["max"] == 50
        assert limits["refused_today"] == {"26": 0, "27": 0}
        listed = await sup.call("GET", "/v1/supervisor/interactions?status=active")
        assert [r["id"] for r in listed["active"]] == [connected["id"]]
        assert listed["active"][0]["status"] == "connected"

        await second.hangup()
        await alice.state_event("wrap_up")
        await alice.wrap_up(connected["id"], "resolved")
        await phone.wait_for("closed")

        # SUP-6: both are in the day's completed interactions, newest first
        listed = await sup.call("GET", "/v1/supervisor/interactions?status=completed")
        done = listed["completed"]
        assert [r["id"] for r in done] == [connected["id"], queued["id"]]
        assert done[0]["end_cause"] == "customer_hangup" and done[0]["agent"] == "alice"
        assert done[0]["wrap_up_reason"] == "resolved"
        assert done[0]["customer_number"] == SECOND
        assert done[1]["end_cause"] == "abandoned" and done[1]["agent"] is None
        for query, expected in (
            ("end_cause=abandoned", [queued["id"]]),
            ("wrap_up_reason=resolved", [connected["id"]]),
            ("agent=alice&queue=support", [connected["id"]]),
            ("direction=outbound", []),
            ("queue=vip", []),
        ):
            got = await sup.call("GET", f"/v1/supervisor/interactions?status=completed&{query}")
            assert [r["id"] for r in got["completed"]] == expected, query
        page = await sup.call("GET", "/v1/supervisor/interactions?status=completed&limit=1")
        assert [r["id"] for r in page["completed"]] == [connected["id"]]
        rest = await sup.call(
            "GET", f"/v1/supervisor/interactions?status=completed&cursor={page['next_cursor']}"
        )
        assert [r["id"] for r in rest["completed"]] == [queued["id"]]

        # the CSV export: a header and one row per completed interaction
        async with (
            aiohttp.ClientSession(headers={"Authorization": "Bearer demo-supervisor-token"}) as h,
            h.get(f"{stack.url}/v1/supervisor/interactions.csv") as resp,
        ):
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in resp.headers["Content-Disposition"]
            text = await resp.text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["id"] for r in rows] == [queued["id"], connected["id"]]  # oldest first
        assert rows[1]["customer_number"] == SECOND and rows[1]["wrap_up_reason"] == "resolved"
        assert "variables" not in text and "customer_name" not in text

        # the chart of the day: this quarter hour's counts and service level
        chart = await sup.call("GET", "/v1/supervisor/charts?queue=support")
        assert len(chart["buckets"]) == 96
        busy = [b for b in chart["buckets"] if b["offered"]]
        assert sum(b["offered"] for b in busy) == 2
        assert sum(b["answered"] for b in busy) == 1 and sum(b["abandoned"] for b in busy) == 1
        assert [b["service_level"] for b in busy if b["answered"]] == [1.0]
        # another tenant's supervisor sees none of it
        async with Desktop(stack.url, "demo-globex-supervisor-token") as globex:
            other = await globex.call("GET", "/v1/supervisor/interactions")
            assert not other["completed"] and not other["queued"]
            assert all(
                q["today"]["offered"] == 0
                for q in (await globex.call("GET", "/v1/supervisor/queues"))["queues"]
            )


@pytest.mark.spec("SUP-2", "SUP-4")
async def test_given_agents_when_supervisor_sets_idle_or_logs_out_then_desktops_follow_unless_on_a_call(  # noqa: E501
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
    ):
        await alice.login("1001")
        await alice.available()
        # SUP-2: a RONA counts for the day
        customer = await phones.customer(FIRST)
        await customer.dial(SUPPORT)
        await phone.wait_for("incoming")
        await alice.state_event("rona", timeout=10)
        row = agent(await sup.call("GET", "/v1/supervisor/agents"), "alice")
        assert row["state"] == "rona" and row["ronas_today"] == 1
        await customer.hangup()
        await sup.event("interaction.ended")

        # filters: by team and by queue (vip is served by tier1 and tier2)
        tier2 = await sup.call("GET", "/v1/supervisor/agents?team=tier2")
        assert {a["team"] for a in tier2["agents"]} == {"tier2"}
        vip = await sup.call("GET", "/v1/supervisor/agents?queue=vip")
        assert {a["team"] for a in vip["agents"]} == {"tier1", "tier2"}
        sales = await sup.call("GET", "/v1/supervisor/agents?queue=sales")
        assert "alice" not in {a["id"] for a in sales["agents"]}
        with pytest.raises(ApiError) as unknown:
            await sup.call("GET", "/v1/supervisor/agents?team=nope")
        assert unknown.value.status == 400

        # SUP-4: from rona to idle with a reason; the agent's desktop follows
        path = "/v1/supervisor/agents/alice/state"
        done = await sup.call("PUT", path, {"state": "idle", "reason": "break"})
        assert done["state"] == "idle" and done["reason"] == "break"
        seen = await alice.event("agent.state", lambda e: e["data"]["previous"] == "rona")
        assert seen["data"]["state"] == "idle" and seen["data"]["reason"] == "break"
        # only the supervisor states, known reasons
        for bad in ({"state": "available"}, {"state": "idle", "reason": "nap"}, {"state": "idle"}):
            with pytest.raises(ApiError) as wrong:
                await sup.call("PUT", path, bad)
            assert wrong.value.status == 400
        # an agent may not use it, another tenant's supervisor does not know Alice
        with pytest.raises(ApiError) as forbidden:
            await alice.call("PUT", path, {"state": "logged_out"})
        assert forbidden.value.status == 403
        async with Desktop(stack.url, "demo-globex-supervisor-token") as globex:
            with pytest.raises(ApiError) as other:
                await globex.call("PUT", path, {"state": "logged_out"})
            assert other.value.status == 404

        # refused while the agent is connected or in wrap-up, with a clear message
        await alice.available()
        second = await phones.customer(SECOND)
        await second.dial(SUPPORT)
        await phone.wait_for("incoming")
        await phone.answer()
        ix_id = (await alice.event("interaction.connected"))["data"]["id"]
        await second.wait_for("established")
        for wanted in ({"state": "idle", "reason": "break"}, {"state": "logged_out"}):
            with pytest.raises(ApiError) as busy:
                await sup.call("PUT", path, wanted)
            assert busy.value.status == 409
            assert busy.value.body["details"]["rule"] == "SUP-4"
            assert "connected to a call" in busy.value.body["message"]
        await second.hangup()
        await alice.state_event("wrap_up")
        with pytest.raises(ApiError) as wrapping:
            await sup.call("PUT", path, {"state": "logged_out"})
        assert wrapping.value.body["details"]["rule"] == "SUP-4"
        assert wrapping.value.body["details"]["state"] == "wrap_up"
        after = await alice.wrap_up(ix_id, "resolved")
        assert after["state"] in ("available", "idle")

        # logged out by the supervisor
        out = await sup.call("PUT", path, {"state": "logged_out"})
        assert out["state"] == "logged_out"
        assert (await alice.state_event("logged_out"))["data"]["previous"] == after["state"]

        # audited: the action and the state change name the supervisor
        records = (await sup.call("GET", "/v1/audit?limit=200"))["records"]
        puts = [r for r in records if r["action"] == "PUT /v1/supervisor/agents/{agent_id}/state"]
        by_supervisor = [r for r in puts if r["actor"].startswith("supervisor:")]
        assert {r["outcome"] for r in by_supervisor} == {"ok", "refused"}
        # (the rest: Alice's own try, refused)
        assert [r["outcome"] for r in puts if r not in by_supervisor] == ["refused"]
        changes = [
            r
            for r in records
            if r["action"] == "agent.state"
            and r["details"].get("state") in ("idle", "logged_out")
            and r["details"].get("previous") in ("rona", after["state"])
        ]
        assert changes and all(r["actor"].startswith("supervisor:") for r in changes), changes
        await phone.wait_for("closed")


@pytest.mark.spec("SUP-3")
async def test_given_a_full_tenant_when_calls_are_refused_then_the_day_counts_them(
    stack: Stack, phones: PhoneFactory
) -> None:
    store = await _fill(stack, "acme", 20)  # acme's limit is 20
    try:
        async with Desktop(stack.url, "demo-supervisor-token") as sup:
            limits = (await sup.call("GET", "/v1/supervisor/limits"))["limits"]
            assert limits["tenant"] == {"used": 20, "max": 20}
            assert limits["datacenter"]["used"] == 20
            for n in range(2):
                customer = await phones.customer(f"+1555000060{n}")
                await customer.dial(SUPPORT)
                assert (await sup.event("interaction.refused"))["data"]["code"] == 27
                await customer.wait_for("closed")
            limits = (await sup.call("GET", "/v1/supervisor/limits"))["limits"]
            assert limits["refused_today"] == {"26": 0, "27": 2}
            for i in range(20):
                await store.release(f"elsewhere-acme-{i}", "acme")
            limits = (await sup.call("GET", "/v1/supervisor/limits"))["limits"]
            assert limits["tenant"]["used"] == 0 and limits["refused_today"]["27"] == 2
    finally:
        await store.close()


@pytest.mark.spec("SUP-1", "SUP-2", "SUP-3")
async def test_given_a_supervisor_websocket_then_a_snapshot_then_batched_deltas_only_on_change(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1002", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        aiohttp.ClientSession(headers={"Authorization": "Bearer demo-supervisor-token"}) as http,
        http.ws_connect(f"{stack.url}/v1/supervisor/events") as ws,
    ):
        first = json.loads((await ws.receive(timeout=5)).data)
        assert first["type"] == "snapshot" and agent(first, "bob")["state"] == "logged_out"
        # nothing happens: nothing is sent
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=1.5)
        # a burst of changes: login, available, idle, available within a moment
        await bob.login("1002")
        await bob.available()
        await bob.idle("lunch")
        await bob.available()
        started = time.monotonic()
        messages: list[dict[str, Any]] = []
        while time.monotonic() - started < 2.0:
            try:
                msg = await ws.receive(timeout=max(0.05, 2.0 - (time.monotonic() - started)))
            except TimeoutError:
                break
            messages.append(json.loads(msg.data))
        assert messages and all(m["type"] == "delta" for m in messages)
        assert len(messages) <= 3, messages  # batched: not one per event (4 changes)
        last_bob = [a for m in messages for a in m.get("agents", []) if a["id"] == "bob"][-1]
        assert last_bob["state"] == "available"
        # only bob changed: no other agent, queue rows only where his state counts
        changed = {a["id"] for m in messages for a in m.get("agents", [])}
        assert changed == {"bob"}
        await bob.logout()
