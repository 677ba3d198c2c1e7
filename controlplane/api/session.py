"""API of the agent desktop's session (DSK-1) and snapshot (DSK-13).

- ``POST /v1/session`` ``{"agent", "password", "phone", "extension"}``: sign
  in (public; throttled); logs the agent in on the chosen phone and sets the
  ``cp_session`` cookie (HttpOnly, SameSite=Strict, Path=/, Secure on TLS).
  The ID may be a supervisor's: their session (role ``supervisor``) opens
  the console and names the extension they listen on (SUP-5).
- ``GET /v1/session``: the signed-in session (the page recovers its CSRF
  token with it); 401 when signed out.
- ``DELETE /v1/session``: sign out: logs the agent out (refused with 409,
  DSK-1, while an offer rings, on a call or in wrap-up) and clears the cookie.
- ``GET /v1/me``: the desktop's snapshot of the calling agent.

The session's event WebSockets are kept alive here too: while one is open
its session does not time out; when the session ends or is replaced it is
told and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from controlplane.adapters.session_store import StoredSession
from controlplane.adapters.store import StoreError
from controlplane.api import docs
from controlplane.api.auth import SESSIONS, Forbidden, Principal, Unauthorized, request_session
from controlplane.api.common import SERVICES, Feature, Route, body, principal
from controlplane.api.schemas import Body
from controlplane.config import Role
from controlplane.desktop import snapshot
from controlplane.domain import session as rules
from controlplane.sessions import ENDED_EVENT

log = logging.getLogger(__name__)

TOUCH_MIN_SECONDS = 1.0  # a client's messages refresh its session at most this often


class SignInRequest(Body):
    agent: str = Field(
        min_length=1,
        max_length=rules.MAX_AGENT_FIELD,
        pattern=r"^([a-z0-9][a-z0-9_-]{0,62}/)?[A-Za-z0-9][A-Za-z0-9_-]{0,62}$",
        description="the agent's or supervisor's ID, or tenant/ID",
    )
    password: str = Field(min_length=1, max_length=rules.MAX_PASSWORD)
    phone: Literal["browser", "extension"] = Field(
        description="the phone the agent works with (a supervisor: extension, to listen on)"
    )
    extension: str | None = Field(
        default=None, pattern=r"^[0-9]{2,8}$", description="the desk phone (phone=extension)"
    )


def _set_cookie(request: web.Request, response: web.Response, value: str, *, clear: bool) -> None:
    secure = request.secure or request.app[SERVICES].config.service.secure_cookies
    attrs = rules.cookie_attributes(secure=secure, clear=clear)
    response.set_cookie(rules.COOKIE, value, **attrs)  # type: ignore[arg-type]


def _address(request: web.Request) -> str:
    return (request.remote or "unknown")[:64]


async def sign_in(request: web.Request) -> web.Response:
    if not rules.same_origin(request.headers.get("Origin"), request.host):
        raise rules.CsrfRefused("the request comes from another site", rule="SEC-1")
    req = await body(request, SignInRequest)
    sessions = request.app[SESSIONS]
    try:
        signed_in = await sessions.sign_in(
            req.agent, req.password, req.phone, req.extension, _address(request)
        )
    except rules.Throttled as exc:
        response = web.json_response(
            {
                "status": exc.status,
                "error_id": exc.error_id,
                "message": exc.message,
                "details": exc.details,
            },
            status=exc.status,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # the browser's cookie held another agent's session: it ends (that agent
    # stays logged in); the same agent's older one was replaced already
    held = request.cookies.get(rules.COOKIE)
    previous = await sessions.resolve(held) if held else None
    if previous is not None and previous.key != signed_in.session.key:
        await sessions.forget(previous)
    response = web.json_response(sessions.describe(signed_in.session))
    _set_cookie(request, response, signed_in.session_id, clear=False)
    response.headers["Cache-Control"] = "no-store"
    return response


def _session(request: web.Request) -> StoredSession:
    found = request_session(request)
    if found is None:
        raise Unauthorized("no desktop session: sign in", rule=rules.RULE)
    return found


async def get_session(request: web.Request) -> web.Response:
    response = web.json_response(request.app[SESSIONS].describe(_session(request)))
    response.headers["Cache-Control"] = "no-store"
    return response


async def sign_out(request: web.Request) -> web.Response:
    await request.app[SESSIONS].sign_out(_session(request))
    response = web.json_response({"signed_out": True})
    _set_cookie(request, response, "", clear=True)
    return response


async def me(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    if p.role is not Role.AGENT or p.agent is None:
        raise Forbidden("only an agent has a desktop snapshot", rule="DSK-13")
    response = web.json_response(await snapshot(s.cc, p.tenant, p.agent))
    response.headers["Cache-Control"] = "no-store"
    return response


# The session's event WebSockets -------------------------------------------------


class SessionKeeper:
    """While an event WebSocket of a session is open, the session does not
    time out: refreshed periodically and on every message of the client; a
    session that ended meanwhile closes the socket."""

    def __init__(self, request: web.Request, p: Principal, ws: web.WebSocketResponse) -> None:
        self._sessions = request.app[SESSIONS]
        self._session = request_session(request) if p.session else None
        self._ws = ws
        self._task: asyncio.Task[None] | None = None
        # set to the closing message when the socket's session is over
        self.over: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._last = 0.0

    def start(self) -> None:
        if self._session is not None:
            self._task = asyncio.create_task(self._run(), name="ws-session")

    async def _run(self) -> None:
        interval = rules.keeper_interval_seconds(self._sessions.idle_minutes)
        while not self._ws.closed:
            await asyncio.sleep(interval)
            await self.touch(force=True)

    async def touch(self, *, force: bool = False) -> None:
        if self._session is None:
            return
        loop = asyncio.get_running_loop()
        if not force and loop.time() - self._last < TOUCH_MIN_SECONDS:
            return
        self._last = loop.time()
        try:
            alive = await self._sessions.touch(self._session.key) is not None
        except StoreError as exc:  # (Redis away: the socket stays; the next touch tries again)
            log.warning("a desktop session was not renewed: %s", exc)
            return
        if not alive and not self._ws.closed:
            with contextlib.suppress(ConnectionError):
                await self._ws.send_json({"type": ENDED_EVENT, "data": {}})
            self.close_over(b"session ended")

    def close_over(self, message: bytes) -> None:
        """The session is over: the socket's handler closes it (`over`)."""
        if not self.over.done():
            self.over.set_result(message)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task


# OpenAPI --------------------------------------------------------------------------

SESSION = {
    "type": "object",
    "properties": {
        "tenant": {"type": "string"},
        "agent": {"type": "string"},
        "role": {
            "enum": ["agent", "supervisor"],
            "description": "a supervisor's session opens the console (SUP); `agent` is then "
            "the supervisor's ID",
        },
        "teams": {
            "type": "array",
            "items": {"type": "string"},
            "description": "a supervisor's teams (the console shows them first)",
        },
        "console": {
            "type": "object",
            "description": "a supervisor's session: the tenant's teams and queues (id -> "
            "name), idle_reasons and wrap_up_reasons",
        },
        "name": {"type": "string"},
        "csrf_token": {
            "type": "string",
            "description": "send as X-CSRF-Token with every state change of this session",
        },
        "expires_at": {"type": "string", "format": "date-time", "description": "absolute end"},
        "idle_minutes": {"type": "integer", "description": "unused this long, it ends"},
        "phone": {
            "type": "object",
            "properties": {
                "kind": {"enum": ["browser", "extension"]},
                "extension": {"type": "string"},
                "sip": {
                    "type": ["object", "null"],
                    "description": "the browser phone's SIP credentials (ws_url, uri, username, "
                    "password, display_name, realm); only in the agent's own session",
                },
            },
        },
    },
    "required": ["tenant", "agent", "role", "name", "csrf_token", "phone"],
}

SNAPSHOT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "agent": docs.ref("Agent"),
        "interaction": {"oneOf": [docs.ref("Interaction"), {"type": "null"}]},
        "offer": {
            "type": ["object", "null"],
            "description": "the ringing offer as interaction.offered (or consult_offered) "
            "showed it",
        },
        "consult": {
            "type": ["object", "null"],
            "description": "as GET /v1/interactions/{id}/consult, when the agent is its "
            "consulting or consulted agent",
        },
        "variables": {
            "type": ["object", "null"],
            "description": "as GET /v1/interactions/{id}/variables, while connected",
        },
        "wrap_up": {
            "type": ["object", "null"],
            "description": "the interaction in the agent's wrap-up: interaction_id, reasons, "
            "auto_wrap_up_seconds, ended_at",
        },
        "rona": {
            "type": ["object", "null"],
            "description": "an open RONA: reason and the choices (available, idle)",
        },
        "server_time": {"type": "string", "format": "date-time"},
        "config": {
            "type": "object",
            "description": "idle_reasons, wrap_up_reasons, auto_wrap_up_seconds, outdial, "
            "keypad, outdial_cancel, privacy_shield_seconds (0: none for this agent), "
            "campaigns (the agent's team's, as GET /v1/campaigns)",
        },
    },
    "required": ["agent", "interaction", "consult", "variables", "server_time", "config"],
}


_COOKIE = "sets (and DELETE clears) cp_session: HttpOnly, SameSite=Strict, Path=/, Secure on TLS"

FEATURE = Feature(
    name="session",
    schemas={**docs.model_schemas(SignInRequest), "Session": SESSION, "Snapshot": SNAPSHOT},
    routes=(
        Route(
            "POST",
            "/v1/session",
            sign_in,
            {
                "summary": "sign in to the desktop with the agent's password and log in on the "
                "chosen phone (DSK-1); " + _COOKIE,
                "security": [],
                "requestBody": docs.json_body("SignInRequest"),
                "responses": {
                    "200": docs.content(docs.ref("Session"), "signed in; the agent is logged in"),
                    "401": docs.content(
                        docs.ref("Error"), "unknown agent or wrong password (one answer)"
                    ),
                    "429": docs.content(
                        docs.ref("Error"), "too many failed sign-ins; see Retry-After"
                    ),
                    **docs.errors(400, 403, 409),
                },
            },
        ),
        Route(
            "GET",
            "/v1/session",
            get_session,
            {
                "summary": "the signed-in session (session cookie)",
                "security": [{"session": []}],
                "responses": {
                    "200": docs.content(docs.ref("Session"), "the session"),
                    **docs.errors(401),
                },
            },
        ),
        Route(
            "DELETE",
            "/v1/session",
            sign_out,
            {
                "summary": "sign out: logs the agent out and ends the session (DSK-1); refused "
                "while an offer rings, on a call or in wrap-up",
                "security": [{"session": []}],
                "responses": {
                    "200": docs.content({"type": "object"}, "signed out; the cookie is cleared"),
                    **docs.errors(401, 403, 409),
                },
            },
        ),
        Route(
            "GET",
            "/v1/me",
            me,
            {
                "summary": "the desktop's snapshot of the calling agent (DSK-13)",
                "security": [{"session": []}, {"bearer": []}],
                "responses": {
                    "200": docs.content(docs.ref("Snapshot"), "the snapshot"),
                    **docs.errors(401, 403),
                },
            },
        ),
    ),
)
