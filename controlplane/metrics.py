"""Prometheus metrics (OPS-2), served in the text format at `GET /metrics`.

Counters and histograms count what this replica did, where it happens (small
hooks: `offer_made`, `rona`, `admission`, `call_ended`, and a middleware for
API latencies). Gauges of shared state (calls by status, agents by state)
are read from Redis at scrape time, so every replica reports the same
figures; connection gauges report this replica's own connections.

Labels are bounded: tenants, queues and codes come from the configuration,
routes are route templates (`/v1/interactions/{ix_id}/end`, never a raw
path), and unknown methods and paths collapse to `other` and `unmatched`.
No label or value ever carries a call variable, a number or a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import Status

if TYPE_CHECKING:
    from controlplane.adapters.ami import AmiClient
    from controlplane.adapters.ari import AriClient
    from controlplane.adapters.store import Store
    from controlplane.config import Config

REGISTRY = CollectorRegistry()
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

# Sub-millisecond buckets: the control plane's own work per action is meant
# to stay under 1 ms above the ARI round trip.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

OFFERS = Counter(
    "cp_offers",
    "Offers made to agents: the agent's phone was rung (IN-1)",
    ["tenant", "queue"],
    registry=REGISTRY,
)
RONAS = Counter(
    "cp_ronas",
    "Offers an agent did not take (RONA-1): ring_no_answer, declined, device_unreachable",
    ["tenant", "queue", "reason"],
    registry=REGISTRY,
)
ADMISSIONS = Counter(
    "cp_admissions",
    "Calls that took a concurrent-call slot (LIM-1)",
    ["tenant"],
    registry=REGISTRY,
)
ADMISSIONS_REFUSED = Counter(
    "cp_admissions_refused",
    "Calls refused by a concurrent-call limit (LIM-2): code 26 datacenter, 27 tenant",
    ["tenant", "code"],
    registry=REGISTRY,
)
CALLS_ENDED = Counter(
    "cp_calls_ended",
    "Interactions that ended, by end cause",
    ["tenant", "cause"],
    registry=REGISTRY,
)
API_REQUESTS = Counter(
    "cp_api_requests",
    "API requests by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
API_LATENCY = Histogram(
    "cp_api_request_duration_seconds",
    "Time to answer an API request (WebSocket sessions left out), by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
CALLS = Gauge(
    "cp_calls",
    "Interactions going on in this datacenter, by status (from Redis; equal on every replica)",
    ["tenant", "state"],
    registry=REGISTRY,
)
AGENTS = Gauge(
    "cp_agents",
    "Agents by state (from Redis; equal on every replica)",
    ["tenant", "state"],
    registry=REGISTRY,
)
CONNECTION_UP = Gauge(
    "cp_connection_up",
    "1 when this replica's connection works (ami: logged in; ari, redis: answered a ping)",
    ["connection"],
    registry=REGISTRY,
)
CONNECTION_LOSSES = Counter(
    "cp_connection_losses_total",
    "Live connections of this replica that dropped (ari: the event stream; ami)",
    ["connection"],
    registry=REGISTRY,
)
EVENT_STREAM = Gauge(
    "cp_ari_event_stream_connected",
    "1 on the replica that holds the Stasis event stream while it is connected "
    "(summed over replicas: 1)",
    registry=REGISTRY,
)

# Load: how long work waits (inputs for refusing work before it starts).
ARI_LATENCY = Histogram(
    "cp_ari_request_seconds",
    "ARI REST requests of this replica, from waiting for a connection to the answer "
    "(sending again included)",
    ["method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
EVENT_AGE = Histogram(
    "cp_ari_event_age_seconds",
    "How long after Asterisk stamped it this replica read each Stasis event",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
LOOP_LAG = Histogram(
    "cp_event_loop_lag_seconds",
    "How late this replica's event loop ran a timer (sampled four times a second)",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
JOBS_PENDING = Gauge(
    "cp_jobs_pending",
    "Jobs queued or running in this replica's per-interaction serializers",
    registry=REGISTRY,
)
TEARDOWNS_PENDING = Gauge(
    "cp_ari_teardowns_pending",
    "Hang-ups and bridge destructions this replica tries again until Asterisk confirms them",
    registry=REGISTRY,
)
ORPHANS_REMOVED = Counter(
    "cp_orphans_removed_total",
    "Channels and bridges that no live interaction wanted, removed by the orphan sweep",
    ["kind"],
    registry=REGISTRY,
)
OVERLOAD_REFUSED = Counter(
    "cp_calls_refused_overload",
    "New customer calls refused at the entry point while the service was overloaded",
    ["tenant"],
    registry=REGISTRY,
)
OVERLOAD_REFUSING = Gauge(
    "cp_overload_refusing",
    "1 while this replica refuses new customer calls as overloaded",
    registry=REGISTRY,
)
OVERLOAD_SIGNAL = Gauge(
    "cp_overload_signal",
    "The load signals admission under overload judges, as it sees them now "
    "(seconds; jobs_pending: jobs)",
    ["signal"],
    registry=REGISTRY,
)
LOOP_LAG_INTERVAL = 0.25

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_LIVE_STATUSES = tuple(s.value for s in Status if s is not Status.ENDED)
PING_TIMEOUT = 1.0


# Hooks where things happen ----------------------------------------------------------


def offer_made(tenant: str, queue: str) -> None:
    OFFERS.labels(tenant, queue).inc()


def rona(tenant: str, queue: str, reason: str) -> None:
    RONAS.labels(tenant, queue, reason).inc()


def admission(tenant: str, code: int) -> None:
    """`code` 0: admitted; else the refusal code (26, 27)."""
    if code:
        ADMISSIONS_REFUSED.labels(tenant, str(code)).inc()
    else:
        ADMISSIONS.labels(tenant).inc()


def call_ended(tenant: str, cause: str) -> None:
    CALLS_ENDED.labels(tenant, cause).inc()


def connection_lost(connection: str) -> None:
    CONNECTION_LOSSES.labels(connection).inc()


def watch_event_stream(connected: Callable[[], bool]) -> None:
    """Let the event-stream gauge read the stream's state at scrape time."""
    EVENT_STREAM.set_function(lambda: 1.0 if connected() else 0.0)


def ari_request(method: str, seconds: float) -> None:
    ARI_LATENCY.labels(method_label(method)).observe(seconds)


def event_read(age: float) -> None:
    EVENT_AGE.observe(age)


def orphan_removed(kind: str) -> None:
    """`kind`: channel or bridge."""
    ORPHANS_REMOVED.labels(kind).inc()


def overload_refused(tenant: str) -> None:
    """A new customer call refused as overloaded (tenant "" when the number is unknown)."""
    OVERLOAD_REFUSED.labels(tenant).inc()


def watch_overload(
    refusing: Callable[[], bool], signals: Callable[[], Mapping[str, float]]
) -> None:
    """Let the overload gauges read the decision and the signals at scrape time."""
    OVERLOAD_REFUSING.set_function(lambda: 1.0 if refusing() else 0.0)

    def reader(name: str) -> Callable[[], float]:
        return lambda: float(signals().get(name, 0.0))

    for name in signals():
        OVERLOAD_SIGNAL.labels(name).set_function(reader(name))


def watch_work(jobs: Callable[[], int], teardowns: Callable[[], int]) -> None:
    """Let the work gauges read their figures at scrape time."""
    JOBS_PENDING.set_function(lambda: float(jobs()))
    TEARDOWNS_PENDING.set_function(lambda: float(teardowns()))


async def watch_loop_lag(on_sample: Callable[[float], None] | None = None) -> None:
    """Sample how late the event loop runs a timer (a starved or blocked loop);
    `on_sample` is told each sample (admission under overload)."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LOOP_LAG_INTERVAL
        await asyncio.sleep(LOOP_LAG_INTERVAL)
        lag = max(0.0, loop.time() - due)
        LOOP_LAG.observe(lag)
        if on_sample is not None:
            on_sample(lag)


# API latency ------------------------------------------------------------------------


def route_label(request: web.Request) -> str:
    """The route template, never the raw path (IDs would explode the labels)."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: times every request and counts it by status."""
    started = time.perf_counter()
    status = 500
    websocket = False
    try:
        response = await handler(request)
        status = response.status
        websocket = isinstance(response, web.WebSocketResponse)
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        method, route = method_label(request.method), route_label(request)
        API_REQUESTS.labels(method, route, str(status)).inc()
        if not websocket:
            API_LATENCY.labels(method, route).observe(time.perf_counter() - started)


# Scrape ------------------------------------------------------------------------------


async def refresh(config: Config, store: Store, ari: AriClient, ami: AmiClient) -> None:
    """Set the gauges of shared state and of connections, just before a scrape."""
    CONNECTION_UP.labels("ami").set(1 if ami.logged_in else 0)
    try:
        await asyncio.wait_for(ari.ping(), timeout=PING_TIMEOUT)
        CONNECTION_UP.labels("ari").set(1)
    except Exception:
        CONNECTION_UP.labels("ari").set(0)
    try:
        await asyncio.wait_for(store.ping(), timeout=PING_TIMEOUT)
        CONNECTION_UP.labels("redis").set(1)
    except Exception:
        CONNECTION_UP.labels("redis").set(0)
        return
    try:
        await asyncio.wait_for(_shared_state(config, store), timeout=PING_TIMEOUT * 2)
    except Exception:  # the scrape still answers, with the last figures
        return


async def _shared_state(config: Config, store: Store) -> None:
    tenants = config.local_tenants()
    calls = {(t, s): 0 for t in tenants for s in _LIVE_STATUSES}
    ids = await store.active_interactions()
    if ids:
        for tenant, status in await store.interaction_statuses(ids):
            if tenant in tenants and status in _LIVE_STATUSES:
                calls[(tenant, status)] += 1
    for (tenant, status), count in calls.items():
        CALLS.labels(tenant, status).set(count)

    agents = {(t, s.value): 0 for t in tenants for s in AgentState}
    pairs = [(t, a) for t, cfg in tenants.items() for a in sorted(cfg.agents)]
    if pairs:
        states = await store.agent_states(pairs)
        for (tenant, _agent), state in zip(pairs, states, strict=True):
            key = (tenant, state or AgentState.LOGGED_OUT.value)
            if key in agents:
                agents[key] += 1
    for (tenant, state), count in agents.items():
        AGENTS.labels(tenant, state).set(count)


def exposition() -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
