"""REST + WebSocket API for agent desktops and supervisors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ValidationError

from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.store import Store, StoreError
from controlplane.api.auth import SESSIONS, Principal, authenticate_request, needs_auth
from controlplane.api.openapi import build_openapi
from controlplane.api.schemas import Body, LoginRequest, StateRequest, WrapUpRequest
from controlplane.config import Config, Role
from controlplane.contact_center import ContactCenter
from controlplane.domain.agent import AgentState
from controlplane.domain.consult import Action as ConsultAction
from controlplane.domain.errors import InvalidInput, RuleViolation
from controlplane.sessions import CLOSE_SESSION_OVER, SESSION_EVENTS, Sessions

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
CLOSE = "\x00close"  # (queued after an event that ends a desktop session's socket)


B = TypeVar("B", bound=Body)


# Event fan-out --------------------------------------------------------------------


class EventHub:
    """Receives every event of the datacenter from Redis and hands each to the
    WebSocket clients of this replica allowed to see it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._clients: dict[int, tuple[Principal, asyncio.Queue[str]]] = {}
        self.ready = asyncio.Event()

    def subscribe(self, principal: Principal) -> tuple[int, asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        key = id(queue)
        self._clients[key] = (principal, queue)
        return key, queue

    def unsubscribe(self, key: int) -> None:
        self._clients.pop(key, None)

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._store.subscription(self._store.events_channel) as pubsub:
                    self.ready.set()
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        self._fan_out(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event subscription lost: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _fan_out(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        session = event.get("session")  # DSK-1: for one desktop session only
        for principal, queue in list(self._clients.values()):
            if principal.may_see_event(
                event.get("tenant", ""), event.get("agent"), bool(event.get("private")), session
            ):
                if queue.full():
                    log.warning("a WebSocket client is too slow; dropping an event for it")
                    continue
                queue.put_nowait(data)
                if session is not None and event.get("type") in SESSION_EVENTS:
                    queue.put_nowait(CLOSE)  # the session is over: close its socket


# Application ----------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    config: Config
    cc: ContactCenter
    store: Store
    ari: AriClient
    ami: AmiClient
    hub: EventHub


SERVICES = web.AppKey("services", Services)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
PRINCIPAL = "principal"


def error_response(
    status: int, error_id: str, message: str, details: dict[str, Any]
) -> web.Response:
    body = {"status": status, "error_id": error_id, "message": message, "details": details}
    return web.json_response(body, status=status)


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except RuleViolation as exc:
        return error_response(exc.status, exc.error_id, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, "http-error", exc.reason, {})
        raise
    except StoreError as exc:
        log.warning("Redis is unavailable: %s", exc)
        return error_response(
            503, "unavailable", "the control plane's state store is unavailable; try again", {}
        )
    except AriError as exc:
        log.warning("Asterisk refused an action: %s", exc)
        return error_response(502, "asterisk-error", "Asterisk could not carry out the action", {})
    except Exception:
        error = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", error, request.method, request.path)
        return error_response(500, "internal-error", "internal error", {"reference": error})


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if needs_auth(request.method, request.path):
        request[PRINCIPAL] = await authenticate_request(
            request, request.app[SERVICES].config, request.app[SESSIONS]
        )
    return await handler(request)


def principal(request: web.Request) -> Principal:
    p: Principal = request[PRINCIPAL]
    return p


async def body(request: web.Request, model: type[B]) -> B:
    if request.content_type != "application/json":
        raise InvalidInput("the body must be JSON (Content-Type: application/json)")
    raw = await request.read()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput("the request body is not valid", problems=problems) from None


# Handlers -------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(s.store.ping(), timeout=1)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    try:
        await asyncio.wait_for(s.ari.ping(), timeout=1)
        checks["ari"] = "ok"
    except Exception as exc:
        checks["ari"] = f"down: {type(exc).__name__}"
    checks["ami"] = "ok" if s.ami.logged_in else "down: not logged in"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503
    )


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi())


async def get_agent(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    record = await s.cc.agent(p.tenant, agent_id)
    return web.json_response(record.public())


async def list_agents(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    tenant = s.cc.tenant(p.tenant)
    ids = sorted(tenant.agents) if p.role.value != "agent" else [p.agent or ""]
    records = [await s.cc.agent(p.tenant, a) for a in ids]
    return web.json_response({"agents": [r.public() for r in records]})


async def login(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    req = await body(request, LoginRequest)
    record = await s.cc.login(p.tenant, agent_id, req.extension)
    return web.json_response(record.public())


async def put_state(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    req = await body(request, StateRequest)
    record = await s.cc.change_state(p.tenant, agent_id, AgentState(req.state), req.reason)
    return web.json_response(record.public())


async def get_interaction(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    if ix.agent is not None:
        p.require_agent_access(ix.agent)
    elif p.role.value == "agent":
        p.require_agent_access("")
    return web.json_response(ix.public())


async def end_interaction(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix_id = request.match_info["ix_id"]
    ix = await s.cc.interaction(p.tenant, ix_id)
    s.cc.consults.refuse_consulted(ix, p.agent, ConsultAction.END_CALL)  # CO-5
    p.require_self(ix.agent or "")
    ix = await s.cc.end(p.tenant, ix.agent or "", ix_id)
    return web.json_response(ix.public())


async def wrap_up(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix_id = request.match_info["ix_id"]
    ix = await s.cc.interaction(p.tenant, ix_id)
    # TR-6: an agent wraps up their own part of a call, also one that goes on
    # with another agent after a transfer
    agent = p.agent if p.role is Role.AGENT else None
    mine = await s.cc.agent(p.tenant, agent) if agent else None
    if agent is None or (agent != ix.agent and (mine is None or mine.interaction != ix.id)):
        p.require_self(ix.agent or "")
    assert agent is not None
    s.cc.consults.refuse_consulted(ix, agent, ConsultAction.WRAP_UP)  # CO-5
    req = await body(request, WrapUpRequest)
    record = await s.cc.wrap_up(p.tenant, agent, ix_id, req.reason)
    return web.json_response(record.public())


async def events(request: web.Request) -> web.StreamResponse:
    s, p = request.app[SERVICES], principal(request)
    ws = web.WebSocketResponse(heartbeat=15)
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    key, queue = s.hub.subscribe(p)
    await ws.send_str(json.dumps({"type": "hello", "tenant": p.tenant, "agent": p.agent}))
    from controlplane.api.session import SessionKeeper  # noqa: PLC0415 (it imports this module)

    keeper = SessionKeeper(request, p, ws)  # DSK-1: a desktop session's socket keeps it alive
    keeper.start()

    async def pump() -> None:
        while True:
            data = await queue.get()
            if data is CLOSE:
                await ws.close(code=CLOSE_SESSION_OVER, message=b"session over")
                return
            await ws.send_str(data)

    sender = asyncio.create_task(pump(), name="ws-events")
    try:
        async for msg in ws:
            if msg.type is WSMsgType.ERROR:
                break
            await keeper.touch()
    finally:
        sockets.discard(ws)
        s.hub.unsubscribe(key)
        await keeper.stop()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
    return ws


async def _close_sockets(app: web.Application) -> None:
    """On shutdown, close the event WebSockets so that clients reconnect to
    another replica at once and the process stops without waiting on them."""
    open_sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(open_sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def build_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, auth_middleware], client_max_size=MAX_BODY
    )
    app[SERVICES] = services
    app[SESSIONS] = Sessions(services.config, services.store, services.cc)  # DSK-1
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/v1/agents", list_agents)
    app.router.add_get("/v1/agents/{agent_id}", get_agent)
    app.router.add_post("/v1/agents/{agent_id}/login", login)
    app.router.add_put("/v1/agents/{agent_id}/state", put_state)
    app.router.add_get("/v1/interactions/{ix_id}", get_interaction)
    app.router.add_post("/v1/interactions/{ix_id}/end", end_interaction)
    app.router.add_post("/v1/interactions/{ix_id}/wrap-up", wrap_up)
    app.router.add_get("/v1/events", events)
    from controlplane.api import media  # noqa: PLC0415 (it imports this module)

    media.add_routes(app)
    from controlplane.api import variables  # noqa: PLC0415 (it imports this module)

    variables.add_routes(app)
    from controlplane.api import callbacks  # noqa: PLC0415 (it imports this module)

    callbacks.add_routes(app)
    from controlplane.api import outbound  # noqa: PLC0415 (it imports this module)

    outbound.add_routes(app)  # OD, HI
    from controlplane.api import campaigns  # noqa: PLC0415 (it imports this module)

    campaigns.add_routes(app)  # PC
    from controlplane.api import transfers  # noqa: PLC0415 (it imports this module)

    transfers.add_routes(app)  # TR, CO, CF
    from controlplane.api import supervisor  # noqa: PLC0415 (it imports this module)

    supervisor.add_routes(app)  # SUP-1..SUP-6: the supervisor console
    from controlplane.api import ops  # noqa: PLC0415 (it imports this module)

    ops.add_routes(app)  # /metrics, /v1/audit; metrics and audit middlewares
    from controlplane.api import session  # noqa: PLC0415 (it imports this module)

    session.add_routes(app)  # DSK-1, DSK-13
    from controlplane.api import phone  # noqa: PLC0415 (it imports this module)

    phone.add_routes(app)  # PH-1, PH-4: the browser phone's SIP WebSocket
    from controlplane.api import webui  # noqa: PLC0415

    webui.add_routes(app)  # the desktop; last: its pattern takes what no other route took
    return app
