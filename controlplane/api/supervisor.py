"""API of the supervisor console (SUP-1..SUP-6).

Reads are for the tenant's supervisors and admins; acting on agents
(SUP-4) and listening in (SUP-5) for supervisors only. Everything is of
the caller's tenant: another tenant's agents and interactions are unknown
(404).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
from datetime import date
from typing import Any, Literal

from aiohttp import WSMsgType, web
from pydantic import Field

from controlplane.api import docs
from controlplane.api import supervisor_views as views
from controlplane.api.auth import Forbidden, Principal, request_session
from controlplane.api.common import SERVICES, SOCKETS, Feature, Route, body, principal
from controlplane.api.ops import actor
from controlplane.api.schemas import Body
from controlplane.config import Role
from controlplane.domain import stats as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput
from controlplane.domain.interaction import iso, now_ms
from controlplane.domain.supervision import Mode
from controlplane.features.supervision.service import Supervision

# The WebSocket view sends at most one message per this many seconds, and
# only when something changed (SUP-1..SUP-3).
BATCH_SECONDS = 0.4
MAX_LIST = 1000
FILTERS = ("queue", "agent", "direction", "end_cause", "wrap_up_reason")
_FILTER_VALUE = re.compile(r"^[A-Za-z0-9_+-]{1,64}$")
_CURSOR = re.compile(r"^([0-9]{1,15}):([0-9]{1,9})$")


class SupervisorStateRequest(Body):
    state: Literal["idle", "logged_out"]
    reason: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="idle reason code"
    )


class SupervisionRequest(Body):
    mode: Literal["monitor", "whisper", "barge"]
    extension: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2,10}$",
        description="the supervisor's phone (a registered extension); left out: the phone of "
        "the supervisor's session (their browser phone, or the extension they signed in with)",
    )


class SupervisionSwitch(Body):
    mode: Literal["monitor", "whisper", "barge"]


def _viewer(request: web.Request) -> Principal:
    p = principal(request)
    if p.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only the tenant's supervisors and admins see the console", rule="SUP-1")
    return p


def _supervisor(request: web.Request, rule: str) -> Principal:
    p = principal(request)
    if p.role is not Role.SUPERVISOR:
        raise Forbidden("only the tenant's supervisors may do this", rule=rule)
    return p


def _sup(request: web.Request) -> Supervision:
    return request.app[SERVICES].cc.supervision


def _opt(request: web.Request, name: str, rule: str) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if not _FILTER_VALUE.match(value):
        raise InvalidInput(f"{name}: not a valid value", rule=rule, field=name)
    return value


def _day(request: web.Request) -> date | None:
    raw = request.query.get("day")
    if not raw:
        return None
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput("day: use YYYY-MM-DD", rule="SUP-6", field="day")


def _filters(request: web.Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in FILTERS:
        value = _opt(request, name, "SUP-6")
        if value is not None:
            out[name] = value
    return out


# SUP-1..SUP-3: live views --------------------------------------------------------------


async def get_snapshot(request: web.Request) -> web.Response:
    p = _viewer(request)
    snap = await _sup(request).snapshot(
        p.tenant, team=_opt(request, "team", "SUP-2"), queue=_opt(request, "queue", "SUP-2")
    )
    return web.json_response({**snap, "supervision": await _own_supervision(request, p)})


async def get_queues(request: web.Request) -> web.Response:
    p = _viewer(request)
    snap = await _sup(request).snapshot(p.tenant)
    return web.json_response(
        {k: snap[k] for k in ("tenant", "server_time", "day", "timezone", "queues")}
    )


async def get_agents(request: web.Request) -> web.Response:
    p = _viewer(request)
    snap = await _sup(request).snapshot(
        p.tenant, team=_opt(request, "team", "SUP-2"), queue=_opt(request, "queue", "SUP-2")
    )
    return web.json_response({k: snap[k] for k in ("tenant", "server_time", "day", "agents")})


async def get_limits(request: web.Request) -> web.Response:
    p = _viewer(request)
    snap = await _sup(request).snapshot(p.tenant)
    return web.json_response({k: snap[k] for k in ("tenant", "server_time", "day", "limits")})


async def supervisor_events(request: web.Request) -> web.StreamResponse:
    """The console's live view: a snapshot, then deltas batched every
    BATCH_SECONDS, sent only when something changed."""
    s, p = request.app[SERVICES], _viewer(request)
    team, queue = _opt(request, "team", "SUP-2"), _opt(request, "queue", "SUP-2")
    sup = s.cc.supervision
    first = await sup.snapshot(p.tenant, team=team, queue=queue)  # (bad filters: 400 first)
    ws = web.WebSocketResponse(heartbeat=15)
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    key, events = s.hub.subscribe(p)
    mine = await _own_supervision(request, p)
    await ws.send_str(json.dumps({"type": "snapshot", **first, "supervision": mine}))

    async def pump() -> None:
        last = first
        while True:
            await events.get()  # something happened in the tenant
            await asyncio.sleep(BATCH_SECONDS)  # let the burst gather
            while not events.empty():
                events.get_nowait()
            current = await sup.snapshot(p.tenant, team=team, queue=queue)
            delta = rules.snapshot_delta(last, current)
            if delta:
                await ws.send_str(json.dumps({"type": "delta", **delta}))
                last = current

    sender = asyncio.create_task(pump(), name="ws-supervisor")
    try:
        async for msg in ws:
            if msg.type is WSMsgType.ERROR:
                break
    finally:
        sockets.discard(ws)
        s.hub.unsubscribe(key)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
    return ws


# SUP-4 ------------------------------------------------------------------------------


async def put_agent_state(request: web.Request) -> web.Response:
    p = _supervisor(request, "SUP-4")
    agent_id = request.match_info["agent_id"]
    sup = _sup(request)
    await request.app[SERVICES].cc.agent(p.tenant, agent_id)  # 404 before the body is looked at
    req = await body(request, SupervisorStateRequest)
    record = await sup.set_agent_state(p.tenant, agent_id, AgentState(req.state), req.reason)
    return web.json_response(record.public())


# SUP-5 ------------------------------------------------------------------------------


async def post_supervision(request: web.Request) -> web.Response:
    p = _supervisor(request, "SUP-5")
    ix_id = request.match_info["ix_id"]
    sup = _sup(request)
    await request.app[SERVICES].cc.interaction(p.tenant, ix_id)
    req = await body(request, SupervisionRequest)
    extension, browser = _supervisor_phone(request, req.extension)
    session = await sup.start(p.tenant, ix_id, actor(p), Mode(req.mode), extension, browser=browser)
    return web.json_response(session.public(), status=201)


def _supervisor_phone(request: web.Request, named: str | None) -> tuple[str, bool]:
    """(extension, is the session's browser phone) a supervision rings: the
    one named, else the phone the supervisor signed in with (SUP-5)."""
    signed_in = request_session(request)
    own = signed_in.extension if signed_in is not None and signed_in.extension else None
    browser = signed_in is not None and signed_in.phone == "browser"
    if named is None:
        if own is None:
            raise InvalidInput("name the extension to ring", rule="SUP-5", field="extension")
        return own, browser
    return named, browser and named == own


async def _own_supervision(request: web.Request, p: Principal) -> dict[str, Any] | None:
    """The supervision the caller has going on (the console shows its bar again)."""
    if p.role is not Role.SUPERVISOR:
        return None
    found = await _sup(request).of_supervisor(p.tenant, actor(p))
    return found.public() if found is not None else None


async def get_supervision(request: web.Request) -> web.Response:
    p = _viewer(request)
    session = await _sup(request).session(p.tenant, request.match_info["ix_id"])
    return web.json_response(session.public())


async def put_supervision(request: web.Request) -> web.Response:
    p = _supervisor(request, "SUP-5")
    ix_id = request.match_info["ix_id"]
    sup = _sup(request)
    await sup.session(p.tenant, ix_id)
    req = await body(request, SupervisionSwitch)
    session = await sup.switch(p.tenant, ix_id, Mode(req.mode))
    return web.json_response(session.public())


async def delete_supervision(request: web.Request) -> web.Response:
    p = _supervisor(request, "SUP-5")
    session = await _sup(request).stop(p.tenant, request.match_info["ix_id"])
    return web.json_response({**session.public(), "state": "stopped"})


async def post_supervision_leg(request: web.Request) -> web.Response:
    """SUP-5: the supervisor's phone rings again for their supervision (a
    reloaded console's browser phone lost the call)."""
    p = _supervisor(request, "SUP-5")
    session = await _sup(request).rejoin(p.tenant, request.match_info["ix_id"], actor(p))
    return web.json_response(session.public(), status=201)


# SUP-6 ------------------------------------------------------------------------------


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "200")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise InvalidInput(f"limit: 1 to {MAX_LIST}", rule="SUP-6", field="limit")
    return int(raw)


def _cursor(request: web.Request) -> tuple[int, int] | None:
    raw = request.query.get("cursor")
    if not raw:
        return None
    m = _CURSOR.match(raw)
    if m is None:
        raise InvalidInput("cursor: not a cursor of this list", rule="SUP-6", field="cursor")
    return int(m[1]), int(m[2])


async def get_interactions(request: web.Request) -> web.Response:
    """SUP-6: active (queued, ringing, connected...) and completed interactions."""
    p = _viewer(request)
    sup = _sup(request)
    status = request.query.get("status", "all")
    if status not in ("all", "active", "queued", "completed"):
        raise InvalidInput("status: all, active, queued or completed", rule="SUP-6", field="status")
    filters, day, limit, cursor = (
        _filters(request),
        _day(request),
        _limit(request),
        _cursor(request),
    )
    chosen, _, _ = sup.day_range(p.tenant, day)
    live: list[dict[str, Any]] = []
    if status in ("all", "active", "queued") and cursor is None:
        live = await sup.live_interactions(p.tenant, filters)
        if status == "queued":
            live = [r for r in live if r["status"] == "queued"]
        elif status == "active":
            live = [r for r in live if r["status"] != "queued"]
    completed: list[dict[str, Any]] = []
    following: tuple[int, int] | None = None
    if status in ("all", "completed"):
        completed, following = await sup.completed_interactions(
            p.tenant, day, filters, limit=limit, cursor=cursor
        )
    return web.json_response(
        {
            "tenant": p.tenant,
            "day": chosen.isoformat(),
            "server_time": iso(now_ms()),
            "active": [r for r in live if r["status"] != "queued"],
            "queued": [r for r in live if r["status"] == "queued"],
            "completed": completed,
            "next_cursor": f"{following[0]}:{following[1]}" if following else None,
        }
    )


async def export_csv(request: web.Request) -> web.StreamResponse:
    """SUP-6: the day's completed interactions as CSV, streamed page by page."""
    p = _viewer(request)
    sup = _sup(request)
    filters, day = _filters(request), _day(request)
    chosen, _, _ = sup.day_range(p.tenant, day)
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="interactions-{p.tenant}-{chosen.isoformat()}.csv"'
            ),
            "Cache-Control": "no-store",
        }
    )
    await resp.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(rules.RECORD_FIELDS)
    async for rows in sup.export(p.tenant, chosen, filters):
        for row in rows:
            writer.writerow([rules.csv_safe(row.get(k, "")) for k in rules.RECORD_FIELDS])
        await resp.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # (the header only: no records)
        await resp.write(buffer.getvalue().encode())
    await resp.write_eof()
    return resp


async def get_charts(request: web.Request) -> web.Response:
    p = _viewer(request)
    data = await _sup(request).chart(p.tenant, _day(request), _opt(request, "queue", "SUP-6"))
    return web.json_response(data)


# OpenAPI --------------------------------------------------------------------------

def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


# what the handlers accept (_opt, _day, _limit, _cursor); empty is as if absent
_VALUE = {"type": "string", "pattern": "^([A-Za-z0-9_+-]{1,64})?$"}
_DAY = _query(
    "day",
    {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}], "description": "YYYY-MM-DD"},
)
_FILTER_PARAMS = [*(_query(n, _VALUE) for n in FILTERS), _DAY]
_VIEW_PARAMS = [_query(n, _VALUE) for n in ("team", "queue")]
_PAGE_PARAMS = [
    _query("status", {"enum": ["all", "active", "queued", "completed"]}),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIST}),
    _query("cursor", {"type": "string", "pattern": "^([0-9]{1,15}:[0-9]{1,9})?$"}),
]


SCHEMAS = {
    "SupervisorQueue": views.QUEUE_VIEW,
    "SupervisorAgent": views.AGENT_VIEW,
    "SupervisorLimits": views.LIMITS_VIEW,
    "SupervisorSnapshot": views.SNAPSHOT,
    "Supervision": views.SESSION,
    "ListedInteraction": views.LISTED,
    **docs.model_schemas(SupervisorStateRequest, SupervisionRequest, SupervisionSwitch),
}

_VIEW_ERRORS = docs.errors(400, 401, 403)


_IX = docs.path_params("ix_id")


FEATURE = Feature(
    name="supervisor",
    schemas=SCHEMAS,
    routes=(
        Route(
            "GET",
            "/v1/supervisor/snapshot",
            get_snapshot,
            {
                "summary": "SUP-1..SUP-3: queues, agents (filter: team, queue) and limits now",
                "parameters": _VIEW_PARAMS,
                "responses": {
                    "200": docs.content(docs.ref("SupervisorSnapshot"), "the live view"),
                    **_VIEW_ERRORS,
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/queues",
            get_queues,
            {
                "summary": "SUP-1: queues now, with today's service level and abandoned calls",
                "responses": {
                    "200": docs.content(views.SNAPSHOT, "queues (the snapshot's)"),
                    **_VIEW_ERRORS,
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/agents",
            get_agents,
            {
                "summary": "SUP-2: agents now (filter: team, queue); the client sorts",
                "parameters": _VIEW_PARAMS,
                "responses": {
                    "200": docs.content(views.SNAPSHOT, "agents (the snapshot's)"),
                    **_VIEW_ERRORS,
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/limits",
            get_limits,
            {
                "summary": "SUP-3: concurrent-call usage and today's refusals by code",
                "responses": {
                    "200": docs.content(views.SNAPSHOT, "limits (the snapshot's)"),
                    **_VIEW_ERRORS,
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/events",
            supervisor_events,
            {
                "summary": "WebSocket: a `snapshot` message, then `delta` messages (changed queues "
                "and agents by id, limits) at most every 0.4 s and only when something changed",
                "parameters": _VIEW_PARAMS,
                "responses": {"101": {"description": "switching to WebSocket"}, **_VIEW_ERRORS},
            },
        ),
        Route(
            "PUT",
            "/v1/supervisor/agents/{agent_id}/state",
            put_agent_state,
            {
                "summary": "SUP-4: set an agent idle (with a reason) or log them out; refused "
                "(409, rule SUP-4) while the agent is reserved, connected or in wrap-up",
                "parameters": docs.path_params("agent_id"),
                "requestBody": docs.json_body("SupervisorStateRequest"),
                "responses": {
                    "200": docs.content(docs.ref("Agent"), "the agent"),
                    **docs.errors(400, 401, 403, 404, 409),
                },
            },
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/supervision",
            post_supervision,
            {
                "summary": "SUP-5: monitor, whisper or barge: the supervisor's extension rings; "
                "once answered they listen in the mode",
                "parameters": _IX,
                "requestBody": docs.json_body("SupervisionRequest"),
                "responses": {
                    "201": docs.content(docs.ref("Supervision"), "the session (ringing)"),
                    **docs.errors(400, 401, 403, 404, 409, 502),
                },
            },
        ),
        Route(
            "GET",
            "/v1/interactions/{ix_id}/supervision",
            get_supervision,
            {
                "summary": "SUP-5: the interaction's supervision",
                "parameters": _IX,
                "responses": {
                    "200": docs.content(docs.ref("Supervision"), "the session"),
                    **docs.errors(401, 403, 404),
                },
            },
        ),
        Route(
            "PUT",
            "/v1/interactions/{ix_id}/supervision",
            put_supervision,
            {
                "summary": "SUP-5: switch the mode; the supervisor's leg stays up",
                "parameters": _IX,
                "requestBody": docs.json_body("SupervisionSwitch"),
                "responses": {
                    "200": docs.content(docs.ref("Supervision"), "the session"),
                    **docs.errors(400, 401, 403, 404, 409, 502),
                },
            },
        ),
        Route(
            "DELETE",
            "/v1/interactions/{ix_id}/supervision",
            delete_supervision,
            {
                "summary": "SUP-5: stop; the supervisor's leg, the snoop and their bridge go",
                "parameters": _IX,
                "responses": {
                    "200": docs.content(docs.ref("Supervision"), "the session (stopped)"),
                    **docs.errors(401, 403, 404),
                },
            },
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/supervision/leg",
            post_supervision_leg,
            {
                "summary": "SUP-5: ring the supervisor's phone again for their supervision going "
                "on (a reloaded console's browser phone lost the call): a new leg replaces "
                "the old one in the same mode once answered",
                "parameters": _IX,
                "responses": {
                    "201": docs.content(docs.ref("Supervision"), "the session (ringing)"),
                    **docs.errors(401, 403, 404, 409, 502),
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/interactions",
            get_interactions,
            {
                "summary": "SUP-6: the day's interactions: active and queued now, completed newest "
                "first (paged: limit, cursor), filtered",
                "parameters": [
                    *_FILTER_PARAMS,
                    *_PAGE_PARAMS,
                ],
                "responses": {
                    "200": docs.content(views.LISTING, "the interactions"),
                    **_VIEW_ERRORS,
                },
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/interactions.csv",
            export_csv,
            {
                "summary": "SUP-6: the day's completed interactions as CSV (streamed; filters as "
                "the list)",
                "parameters": _FILTER_PARAMS,
                "responses": {"200": {"description": "text/csv"}, **_VIEW_ERRORS},
            },
        ),
        Route(
            "GET",
            "/v1/supervisor/charts",
            get_charts,
            {
                "summary": "SUP-6: per 15 minutes of a day: offered, answered, abandoned, service "
                "level (all queues, or one)",
                "parameters": [_DAY, _query("queue", _VALUE)],
                "responses": {"200": {"description": "the day's buckets"}, **_VIEW_ERRORS},
            },
        ),
    ),
)
