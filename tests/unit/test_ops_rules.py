"""Operations (OPS-1, OPS-2) and the audit trail, without I/O: what the AMI
dashboards get, which events are sent when, metric labels, and how audit
records name who acted and keep secure values out."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from controlplane import metrics
from controlplane.adapters.ami import AmiClient
from controlplane.adapters.store import Store
from controlplane.api.auth import Unauthorized, authenticate
from controlplane.audit import ACTOR, AuditLog, acting_as, safe_fields
from controlplane.config import Config, load_config
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.opsevents import (
    LIMIT_USAGE,
    QUEUE_STATS,
    ChangeFilter,
    Figures,
    OpsEvents,
    limit_usage,
    queue_stats,
)
from controlplane.tasks import KeyedSerializer, TaskGroup
from tests.support.constants import DEMO

NOW = 1_700_000_000_000


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(DEMO)


def figures(**kw: Any) -> Figures:
    base: dict[str, Any] = {
        "now": NOW,
        "waiting": {},
        "agents": {},
        "dc_used": 0,
        "tenant_used": {},
    }
    base.update(kw)
    return Figures(**base)


def stats_of(events: list[tuple[str, dict[str, str]]], tenant: str, queue: str) -> dict[str, str]:
    for name, fields in events:
        if name == QUEUE_STATS and fields["Tenant"] == tenant and fields["Queue"] == queue:
            return fields
    raise AssertionError(f"no {QUEUE_STATS} for {tenant}/{queue}")


# OPS-1: the figures --------------------------------------------------------------


@pytest.mark.spec("OPS-1")
def test_given_waiting_calls_and_agents_when_stats_built_then_one_event_per_queue(
    config: Config,
) -> None:
    events = queue_stats(
        config,
        figures(
            waiting={("acme", "support"): (2, NOW - 42_500)},
            agents={
                ("acme", "alice"): AgentState.CONNECTED,
                ("acme", "bob"): AgentState.AVAILABLE,
                ("acme", "carol"): AgentState.RONA,  # tier2: vip only
            },
        ),
    )
    queues = {(f["Tenant"], f["Queue"]) for _, f in events}
    assert queues == {(t, q) for t, cfg in config.local_tenants().items() for q in cfg.queues}
    assert {("acme", "support"), ("acme", "vip"), ("globex", "main")} <= queues
    support = stats_of(events, "acme", "support")
    assert support["Waiting"] == "2" and support["LongestWaitSeconds"] == "42"
    # tier1: alice, bob, erin, frank
    assert support["Agents"] == "4"
    assert (support["Connected"], support["Available"], support["LoggedOut"]) == ("1", "1", "2")
    assert support["Rona"] == "0" and support["QueueName"] == "Support"
    vip = stats_of(events, "acme", "vip")  # tier1 + tier2
    assert (vip["Agents"], vip["Rona"], vip["Waiting"], vip["LongestWaitSeconds"]) == (
        "5",
        "1",
        "0",
        "0",
    )


@pytest.mark.spec("OPS-1", "LIM-1")
def test_given_slots_used_when_usage_built_then_datacenter_and_each_tenant_reported(
    config: Config,
) -> None:
    events = limit_usage(config, figures(dc_used=3, tenant_used={"acme": 2, "globex": 1}))
    assert [e[0] for e in events] == [LIMIT_USAGE] * 3
    assert events[0][1] == {"Datacenter": "dc1", "Scope": "datacenter", "Used": "3", "Max": "50"}
    by_tenant = {f["Tenant"]: f for _, f in events[1:]}
    assert by_tenant["acme"]["Used"] == "2" and by_tenant["acme"]["Max"] == "20"
    assert by_tenant["globex"]["Used"] == "1" and by_tenant["globex"]["Max"] == "5"


@pytest.mark.spec("OPS-1")
def test_given_events_sent_when_only_the_wait_grows_then_nothing_until_the_full_round(
    config: Config,
) -> None:
    chooser = ChangeFilter(full_seconds=5)
    first = queue_stats(config, figures(waiting={("acme", "support"): (1, NOW - 1000)}))
    assert chooser.select(first, 0.0) == first  # the first round sends everything
    for event in first:
        chooser.sent(event)
    later = queue_stats(config, figures(now=NOW + 3000, waiting={("acme", "support"): (1, NOW)}))
    assert chooser.select(later, 1.0) == []  # the longest wait alone is no change
    changed = queue_stats(config, figures(waiting={("acme", "support"): (2, NOW - 1000)}))
    picked = chooser.select(changed, 2.0)
    assert [(f["Tenant"], f["Queue"], f["Waiting"]) for _, f in picked] == [
        ("acme", "support", "2")
    ]
    assert chooser.select(later, 5.0) == later  # every 5 s: everything again


class _Ami:
    logged_in = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def user_event(self, name: str, fields: dict[str, str]) -> None:
        self.sent.append((name, fields))


class _FixedOps(OpsEvents):
    async def read(self) -> Figures:
        return figures(dc_used=1, tenant_used={"acme": 1})


@pytest.mark.spec("OPS-1")
async def test_given_replica_not_owning_the_event_stream_when_tick_then_it_publishes_nothing(
    config: Config,
) -> None:
    ami = _Ami()
    owner = False

    async def is_owner() -> bool:
        return owner

    ops = _FixedOps(config, cast(Store, None), cast(AmiClient, ami), is_owner)
    assert await ops.tick() == [] and ami.sent == []
    owner = True
    sent = await ops.tick()
    tenants = config.local_tenants()
    queues = sum(len(t.queues) for t in tenants.values())
    assert len(sent) == len(ami.sent) == queues + 1 + len(tenants)  # + datacenter, tenants
    assert await ops.tick() == []  # nothing changed


# OPS-2: metric labels ------------------------------------------------------------


@pytest.mark.spec("OPS-2")
def test_given_requests_when_labelled_then_route_templates_never_raw_paths() -> None:
    app = web.Application()

    async def ok(_request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_post("/v1/interactions/{ix_id}/end", ok)
    ix_path = "/v1/interactions/" + "a" * 32 + "/end"
    for path, route in ((ix_path, "/v1/interactions/{ix_id}/end"), ("/nope/123", "unmatched")):
        request = make_mocked_request("POST", path, app=app)
        match = asyncio.run(app.router.resolve(request))
        request._match_info = match  # what the app does before running the handler
        assert metrics.route_label(request) == route
    assert metrics.method_label("BREW") == "other"
    assert metrics.method_label("PATCH") == "PATCH"


@pytest.mark.spec("OPS-2")
def test_given_hooks_when_called_then_counters_in_the_text_format_move() -> None:
    def value(name: str, labels: dict[str, str]) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    before = value("cp_admissions_refused_total", {"tenant": "t-unit", "code": "27"})
    metrics.admission("t-unit", 27)
    metrics.admission("t-unit", 0)
    metrics.offer_made("t-unit", "q")
    metrics.rona("t-unit", "q", "declined")
    assert value("cp_admissions_refused_total", {"tenant": "t-unit", "code": "27"}) == before + 1
    assert value("cp_admissions_total", {"tenant": "t-unit"}) >= 1
    text, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    assert b'cp_ronas_total{queue="q",reason="declined",tenant="t-unit"}' in text
    assert b'cp_offers_total{queue="q",tenant="t-unit"}' in text


# Audit trail ---------------------------------------------------------------------


class _Redis:
    def __init__(self) -> None:
        self.added: list[tuple[str, dict[str, str]]] = []

    async def xadd(self, key: str, fields: dict[str, str], **_kw: Any) -> str:
        self.added.append((key, fields))
        return "0-1"


class _Store:
    prefix = "cp:{dc1}:"

    def __init__(self) -> None:
        self.redis = _Redis()


@pytest.mark.spec("CAD-6")
def test_given_bodies_and_events_with_values_when_reduced_then_only_codes_and_names_remain() -> (
    None
):
    body = {
        "state": "idle",
        "reason": "break",
        "number": "+15551234567",
        "variables": {"account": {"value": "S3CRET", "version": 0}, "customer_name": "x"},
    }
    kept = safe_fields(body, ("state", "reason", "extension"))
    assert kept == {"state": "idle", "reason": "break", "variables": ["account", "customer_name"]}
    event = {"interaction_id": "i", "variables": [{"name": "account", "value": "S3CRET"}]}
    assert "S3CRET" not in repr(safe_fields(event, ("status",)))
    assert safe_fields(event, ("status",), variable_names=False) == {}


@pytest.mark.spec("SEC-1")
async def test_given_api_caller_when_states_change_then_chosen_ones_name_the_caller() -> None:
    store = _Store()
    audit = AuditLog(cast(Store, store))
    chosen = Transition(AgentState.IDLE, AgentState.AVAILABLE, Trigger.GO_AVAILABLE, None)
    routed = Transition(AgentState.AVAILABLE, AgentState.RESERVED, Trigger.OFFER, None)
    with acting_as("agent:alice"):
        await audit.agent_state("acme", "alice", chosen, NOW, 1)
        await audit.agent_state("acme", "bob", routed, NOW, 7)  # dispatch on her request
    await audit.agent_state("acme", "alice", chosen, NOW, 2)  # no caller: a timer
    actors = [fields["actor"] for _, fields in store.redis.added]
    assert actors == ["agent:alice", "system", "system"]
    assert {key for key, _ in store.redis.added} == {"cp:{dc1}:audit:acme"}


@pytest.mark.spec("SEC-1")
async def test_given_caller_when_job_or_background_task_runs_then_actor_follows() -> None:
    tasks = TaskGroup()
    serial = KeyedSerializer(tasks)
    seen: list[str | None] = []

    async def job() -> None:
        await asyncio.sleep(0)
        seen.append(ACTOR.get())

    with acting_as("agent:bob"):
        serial.submit("ix", job)  # queued by the caller, but background work
        await serial.run("ix", job)  # an API action's own job
        background = tasks.spawn("bg", job())
    await background
    await tasks.close()
    assert seen == [None, "agent:bob", None]


# SEC-2: tokens -------------------------------------------------------------------


@pytest.mark.spec("SEC-1", "SEC-2")
@pytest.mark.parametrize(
    "header",
    [
        "Bearer \udcff\udcfe",  # bytes that are no UTF-8, as aiohttp hands them on
        "Bearer demo-alice-token\x00",
        "Bearer " + "x" * 5000,
        "Bearer dömo-alice-token",
        "Basic ZGVtbzpkZW1v",
        "Bearer ",
    ],
)
def test_given_malformed_token_when_authenticating_then_401_not_a_crash(
    config: Config, header: str
) -> None:
    with pytest.raises(Unauthorized):
        authenticate(config, header, None)
