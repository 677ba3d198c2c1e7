"""Operations on real calls: the AMI dashboard events (OPS-1), the Prometheus
metrics (OPS-2) and the audit trail, each read the way an operator would:
a separate AMI connection, a scrape of /metrics, a supervisor's API call."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

import devstack
from controlplane.adapters.ari import AriClient
from controlplane.config import Config, load_config
from tests.integration.conftest import RUN_DIR, SERVICE_PORT, Stack
from tests.support.asterisk import AmiEvents
from tests.support.constants import DC_PREFIX, GLOBEX, SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration


AmiEvent = dict[str, str]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Dashboard:
    """What an AMI dashboard sees: the UserEvents on a separate AMI connection,
    waited for after a mark (the events received up to then)."""

    def __init__(self, ami: AmiEvents) -> None:
        self.ami = ami

    def mark(self, upto: AmiEvent | None = None) -> frozenset[int]:
        """The events so far, or up to and including `upto`."""
        events = self.ami.events
        if upto is not None:
            events = events[: next(i for i, e in enumerate(events) if e is upto) + 1]
        return frozenset(id(e) for e in events)

    async def wait(
        self, name: str, since: frozenset[int] = frozenset(), timeout: float = 10.0, **f: str
    ) -> AmiEvent:
        def match(event: AmiEvent) -> bool:
            return (
                event.get("UserEvent") == name
                and id(event) not in since
                and all(event.get(k) == v for k, v in f.items())
            )

        return await self.ami.wait_for("UserEvent", match, timeout)


async def scrape(base_url: str = "") -> Samples:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url or f'http://127.0.0.1:{SERVICE_PORT}'}/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def members(config: Config, queue: str) -> int:
    """How many of Acme's agents belong to the queue's teams."""
    tenant = config.tenants["acme"]
    return sum(1 for a in tenant.agents.values() if a.team in tenant.queues[queue].teams)


async def put_secrets(alice: Desktop, flow: Desktop, ix_id: str) -> list[str]:
    """Secure values on the call (CAD-6): one set by the flow, one saved by the agent."""
    secrets = [f"ACCT-{uuid.uuid4().hex[:10]}", f"{uuid.uuid4().hex[:10]}@secret.example"]
    await flow.call(
        "PUT", f"/v1/interactions/{ix_id}/flow-variables", {"variables": {"account": secrets[0]}}
    )
    await alice.call(
        "PATCH",
        f"/v1/interactions/{ix_id}/variables",
        {
            "variables": {
                "customer_email": {"value": secrets[1], "version": 0},
                "customer_name": {"value": "Pat Doe", "version": 0},
            }
        },
    )
    return secrets


@pytest.mark.spec("OPS-1", "LIM-1", "CAD-6")
async def test_given_calls_waiting_and_connected_when_dashboard_listens_then_it_sees_the_figures(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    ami = Dashboard(ami_events)
    config = load_config(RUN_DIR / "test.toml")
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as flow,
    ):
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15551110001", answer_after_ms=200
        )
        ix_id, first = call.ix_id, call.customer
        secrets = await put_secrets(alice, flow, ix_id)
        second = await phones.customer("+15551110002")
        await second.dial(SUPPORT)
        await flow.event("interaction.queued", lambda e: e["data"]["ani"] == "+15551110002")

        # One call connected to Alice, one waiting in Support: the queue's
        # figures, the agents of its team (tier1: alice, bob, erin, frank) by state.
        support = await ami.wait("CPQueueStats", Tenant="acme", Queue="support", Waiting="1")
        assert support["Datacenter"] == "dc1" and support["QueueName"] == "Support"
        assert support["Connected"] == "1" and support["Available"] == "0"
        tier1 = members(config, "support")  # alice, bob, erin, frank, ...
        assert support["Agents"] == str(tier1) and support["LoggedOut"] == str(tier1 - 1)
        assert 0 <= int(support["LongestWaitSeconds"]) <= 10
        vip = await ami.wait("CPQueueStats", Tenant="acme", Queue="vip", Connected="1")
        assert vip["Waiting"] == "0" and vip["Agents"] == str(members(config, "vip"))
        # Limit usage: two calls hold slots of Acme and of the datacenter.
        acme = await ami.wait("CPLimitUsage", Scope="tenant", Tenant="acme", Used="2")
        assert acme["Max"] == str(config.tenants["acme"].max_concurrent_calls)
        dc = await ami.wait("CPLimitUsage", Scope="datacenter", Used="2")
        assert dc["Max"] == str(config.datacenter.max_concurrent_calls)
        assert dc["Datacenter"] == "dc1"
        globex = await ami.wait("CPLimitUsage", Scope="tenant", Tenant="globex")
        assert (globex["Used"], globex["Max"]) == ("0", "5")  # (as in config/demo.toml)
        # Agent states, on every change.
        state = await ami.wait("CPAgentState", Tenant="acme", Agent="alice", State="connected")
        assert state["Previous"] == "reserved" and state["ChangedAt"] and state["Seq"]

        # The waiting caller gives up: the dashboard shows it within a tick.
        mark, hung_up = ami.mark(), time.monotonic()
        await second.hangup()
        await ami.wait("CPQueueStats", mark, Tenant="acme", Queue="support", Waiting="0")
        await ami.wait("CPLimitUsage", mark, Scope="tenant", Tenant="acme", Used="1")
        shown_after = time.monotonic() - hung_up
        print(f"OPS-1: a change reached the AMI dashboard after {shown_after:.2f} s")
        assert shown_after < 3.0

        await first.hangup()
        await alice.state_event("wrap_up")
        mark = ami.mark()
        await ami.wait("CPLimitUsage", mark, Scope="datacenter", Used="0")
        await ami.wait("CPQueueStats", mark, Tenant="acme", Queue="support", WrapUp="1")
        await alice.wrap_up(ix_id, "resolved")
        await ami.wait("CPAgentState", mark, Agent="alice", Previous="wrap_up", State="available")

    # CAD-6: no AMI event of any kind carried a secure value.
    everything = json.dumps(ami_events.events)
    for secret in secrets:
        assert secret not in everything


@pytest.mark.spec("OPS-1")
async def test_given_two_replicas_when_figures_do_not_change_then_one_publishes_every_five_seconds(
    stack: Stack, ami_events: AmiEvents
) -> None:
    ami = Dashboard(ami_events)
    second_port = SERVICE_PORT - 1
    config2 = RUN_DIR / "replica2.toml"
    config2.write_text(
        (RUN_DIR / "test.toml").read_text().replace(f"{SERVICE_PORT}", f"{second_port}", 1)
    )
    replica2 = devstack.ServiceRunner(config2, RUN_DIR, port=second_port, stasis_app=None)
    replica2.start()
    try:
        # Globex's queue does not change here: only the periodic rounds send it.
        arrivals: list[float] = []
        mark = ami.mark()
        for _ in range(3):
            event = await ami.wait("CPQueueStats", mark, timeout=8, Tenant="globex", Queue="main")
            arrivals.append(float(event["Timestamp"]))  # Asterisk's time of the event
            mark = ami.mark(upto=event)
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        print(f"OPS-1: periodic rounds {', '.join(f'{g:.2f}' for g in gaps)} s apart")
        # Two publishers would interleave their rounds: a gap of at most 2.5 s.
        assert all(4.5 <= g <= 6.5 for g in gaps), gaps
        # The replica without the event stream reports so in its metrics.
        assert value(await scrape(replica2.url), "cp_ari_event_stream_connected") == 0
        assert value(await scrape(), "cp_ari_event_stream_connected") == 1
    finally:
        replica2.stop()


@pytest.mark.spec("OPS-2", "RONA-1", "LIM-2")
async def test_given_real_calls_when_metrics_scraped_then_counters_gauges_and_latencies_moved(
    stack: Stack, phones: PhoneFactory
) -> None:
    before = await scrape()
    for connection in ("ami", "ari", "redis"):
        assert value(before, "cp_connection_up", connection=connection) == 1
    assert value(before, "cp_ari_event_stream_connected") == 1

    phone = await phones.agent("1001", answer_after_ms=None)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer("+15551110003")
        await customer.dial(SUPPORT)
        # First offer: the phone rings out (RONA); the second is answered.
        await alice.state_event("rona", timeout=15)
        await phone.wait_for("closed")
        await alice.available()
        await phone.wait_for("incoming")
        await phone.answer()
        connected = (await alice.event("interaction.connected"))["data"]
        ix_id = connected["id"]

        during = await scrape()
        assert value(during, "cp_calls", tenant="acme", state="connected") == 1
        assert value(during, "cp_calls", tenant="acme", state="queued") == 0
        assert value(during, "cp_agents", tenant="acme", state="connected") == 1
        assert value(during, "cp_agents", tenant="globex", state="logged_out") == 1

        await alice.end(ix_id)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        await customer.wait_for("closed")

    # Over the limits: Globex (5 calls) is full, then the datacenter (50) is.
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    far = int(time.time() * 1000) + 120_000
    try:
        for scope, code in ((f"slots:tenant:{'globex'}", "27"), ("slots:dc", "26")):
            fill = 5 if code == "27" else 50
            await client.zadd(f"{DC_PREFIX}{scope}", {f"filler-{i}": far for i in range(fill)})
            refused = value(
                await scrape(), "cp_admissions_refused_total", tenant="globex", code=code
            )
            caller = await phones.customer(f"+1555111000{code[-1]}")
            await caller.dial(GLOBEX)
            await caller.wait_for("closed")
            after_refusal = await scrape()
            now = value(after_refusal, "cp_admissions_refused_total", tenant="globex", code=code)
            assert now == refused + 1, (code, refused, now)
            await client.delete(f"{DC_PREFIX}{scope}")
    finally:
        await client.aclose()

    after = await scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("cp_offers_total", tenant="acme", queue="support") == 2
    assert moved("cp_ronas_total", tenant="acme", queue="support", reason="ring_no_answer") == 1
    assert moved("cp_admissions_total", tenant="acme") == 1
    assert moved("cp_calls_ended_total", tenant="acme", cause="agent_end") == 1
    # API latencies, labelled by route template.
    for method, route in (
        ("POST", "/v1/agents/{agent_id}/login"),
        ("PUT", "/v1/agents/{agent_id}/state"),
        ("POST", "/v1/interactions/{ix_id}/end"),
        ("POST", "/v1/interactions/{ix_id}/wrap-up"),
    ):
        count = moved("cp_api_request_duration_seconds_count", method=method, route=route)
        assert count >= 1, (method, route)
        assert moved("cp_api_requests_total", method=method, route=route, status="200") >= 1
        fast = moved(
            "cp_api_request_duration_seconds_bucket", method=method, route=route, le="0.25"
        )
        assert fast == count  # (each answered within 250 ms)
    routes = {dict(labels).get("route", "") for (_, labels) in after}
    assert not any(re.search(r"[0-9a-f]{32}|alice", r) for r in routes), routes
    median = _median_ms(before, after, "PUT", "/v1/agents/{agent_id}/state")
    print(f"OPS-2: PUT state answered within {median} ms (histogram bucket of the median)")


def _median_ms(before: Samples, after: Samples, method: str, route: str) -> float:
    """The upper bound of the histogram bucket holding the median."""
    buckets: list[tuple[float, float]] = []
    for (name, labels), v in after.items():
        d = dict(labels)
        if (
            name == "cp_api_request_duration_seconds_bucket"
            and d.get("route") == route
            and d.get("method") == method
        ):
            buckets.append((float(d["le"]), v - before.get((name, labels), 0.0)))
    buckets.sort()
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= total / 2:
            return le * 1000
    return float("inf")


@pytest.mark.spec("SEC-1", "CAD-6", "END-1")
async def test_given_actions_and_a_call_when_supervisor_reads_audit_then_every_change_is_there(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as flow,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
        Desktop(stack.url, "demo-globex-supervisor-token") as globex,
    ):
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15551110005", answer_after_ms=200
        )
        ix_id, customer = call.ix_id, call.customer
        secrets = await put_secrets(alice, flow, ix_id)
        await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        with pytest.raises(ApiError) as refused:
            await alice.end(ix_id)  # END-1: not while held
        assert refused.value.status == 409
        await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        await alice.end(ix_id)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        await customer.wait_for("closed")

        body = await supervisor.call("GET", "/v1/audit?limit=500")
        records: list[dict[str, Any]] = body["records"]
        ids = [r["id"] for r in records]
        assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")), reverse=True)
        ordered = list(reversed(records))  # oldest first

        def find(action: str, **where: Any) -> dict[str, Any]:
            for r in ordered:
                if r["action"] == action and all(
                    r.get(k) == v or r["details"].get(k) == v or r["target"].get(k) == v
                    for k, v in where.items()
                ):
                    return dict(r)
            raise AssertionError(
                f"no audit record {action} {where}: {[r['action'] for r in ordered]}"
            )

        login = find("POST /v1/agents/{agent_id}/login", outcome="ok")
        assert login["actor"] == "agent:alice" and login["target"] == {"agent_id": "alice"}
        assert login["details"]["extension"] == "1001" and login["details"]["status"] == 200
        assert find("agent.state", state="idle", trigger="login")["actor"] == "agent:alice"
        assert find("agent.state", state="available", trigger="go_available")["actor"] == (
            "agent:alice"
        )
        assert find("agent.state", state="reserved")["actor"] == "system"
        assert find("agent.state", state="connected")["actor"] == "system"
        assert find("interaction.queued", interaction=ix_id)["actor"] == "system"
        assert find("interaction.connected", interaction=ix_id)["actor"] == "system"
        held = find("POST /v1/interactions/{ix_id}/hold")
        assert held["outcome"] == "ok" and held["target"] == {"ix_id": ix_id}
        assert find("interaction.held", interaction=ix_id)["actor"] == "agent:alice"
        no_end = find("POST /v1/interactions/{ix_id}/end", outcome="refused")
        assert no_end["details"]["rule"] == "END-1" and no_end["details"]["status"] == 409
        assert find("POST /v1/interactions/{ix_id}/end", outcome="ok")["actor"] == "agent:alice"
        ended = find("interaction.ended", interaction=ix_id)
        assert ended["actor"] == "agent:alice" and ended["details"]["end_cause"] == "agent_end"
        saved = find("PATCH /v1/interactions/{ix_id}/variables")
        assert saved["details"]["variables"] == ["customer_email", "customer_name"]
        by_flow = find("PUT /v1/interactions/{ix_id}/flow-variables")
        assert by_flow["actor"].startswith("admin:") and by_flow["details"]["variables"] == [
            "account"
        ]
        wrapped = find("agent.state", previous="wrap_up", trigger="wrap_up_done")
        assert wrapped["actor"] == "agent:alice" and wrapped["details"]["state"] == "available"
        for r in records:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT[0-9:.]+\+00:00", r["at"]), r
        # CAD-6: no secure value in any record.
        text = json.dumps(records)
        for secret in secrets:
            assert secret not in text

        # limit: the newest records; bad limits refused; agents and other tenants see nothing.
        two = await supervisor.call("GET", "/v1/audit?limit=2")
        assert [r["id"] for r in two["records"]] == ids[:2]
        for bad in ("0", "1001", "-1", "abc", "1e3", " 5"):
            with pytest.raises(ApiError) as err:
                await supervisor.call("GET", f"/v1/audit?limit={bad}")
            assert err.value.status == 400 and err.value.body["details"]["rule"] == "SEC-2"
        with pytest.raises(ApiError) as err:
            await alice.call("GET", "/v1/audit")
        assert err.value.status == 403
        theirs = await globex.call("GET", "/v1/audit?limit=1000")
        assert "alice" not in json.dumps(theirs) and ix_id not in json.dumps(theirs)
