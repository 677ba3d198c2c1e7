"""Who is calling (SEC-1): a bearer token mapped to a role within one
tenant, or the session cookie of an agent's desktop (DSK-1) or a
supervisor's console (SUP), whose state changes must carry the session's
CSRF token."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from controlplane.adapters.session_store import StoredSession
from controlplane.config import Config, Role
from controlplane.domain import session as session_rules
from controlplane.domain.errors import RuleViolation
from controlplane.sessions import Sessions

EVENTS_PATH = "/v1/events"
SESSIONS = web.AppKey("sessions", Sessions)
# the request's session, when the cookie authenticated it
SESSION: web.RequestKey[StoredSession] = web.RequestKey("session", StoredSession)

MAX_TOKEN = 512  # characters; longer is no token of ours


class Unauthorized(RuleViolation):
    status = 401
    error_id = "unauthorized"


class Forbidden(RuleViolation):
    status = 403
    error_id = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    tenant: str
    agent: str | None
    token_id: str = ""  # the start of the token's SHA-256: names it in the audit trail
    session: str = ""  # the public handle of the desktop session, if signed in by cookie

    def may_see_event(
        self, tenant: str, agent: str | None, private: bool = False, session: str | None = None
    ) -> bool:
        """Agents see their own events; supervisors their tenant's, except
        private ones (which may carry secure values: CAD-6). An event for one
        desktop session goes to that session only."""
        if tenant != self.tenant:
            return False
        if session is not None:  # (a handle is random: it names one session)
            return bool(self.session) and session == self.session
        if self.role is Role.AGENT or private:
            return self.role is Role.AGENT and agent == self.agent
        return True

    def require_agent_access(self, agent_id: str) -> None:
        """Agents act only on themselves; supervisors and admins on their tenant."""
        if self.role is Role.AGENT and agent_id != self.agent:
            raise Forbidden("an agent may act only on their own state and interactions")

    def require_self(self, agent_id: str) -> None:
        if self.role is not Role.AGENT or agent_id != self.agent:
            raise Forbidden("only the agent themself may do this")


def authenticate(config: Config, authorization: str | None, query_token: str | None) -> Principal:
    presented: str | None = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        presented = value.strip()
    elif query_token:
        presented = query_token
    if not presented:
        raise Unauthorized("a bearer token is required")
    if len(presented) > MAX_TOKEN or not presented.isascii() or not presented.isprintable():
        raise Unauthorized("unknown token")
    token = config.token(presented)
    if token is None:
        raise Unauthorized("unknown token")
    return Principal(
        role=token.role, tenant=token.tenant, agent=token.agent, token_id=token.sha256[:12]
    )


def needs_auth(method: str, path: str) -> bool:
    """Every API call but signing in; /health, /metrics, /openapi.json and
    the desktop's pages and assets are public."""
    if not path.startswith("/v1/"):
        return False
    return not (path == "/v1/session" and method == "POST")


async def authenticate_request(
    request: web.Request, config: Config, sessions: Sessions
) -> Principal:
    """A bearer token (header, or ``?token=`` on the event WebSocket) wins;
    else the session cookie, with the CSRF check (SEC-1)."""
    authorization = request.headers.get("Authorization")
    query_token = request.query.get("token") if request.path == EVENTS_PATH else None
    cookie = request.cookies.get(session_rules.COOKIE)
    if authorization or query_token or not cookie:
        return authenticate(config, authorization, query_token)
    session = await sessions.resolve(cookie)
    if session is None:
        raise Unauthorized("the session has ended; sign in again", rule=session_rules.RULE)
    session_rules.csrf_check(
        request.method,
        session_token=session.csrf,
        presented_token=request.headers.get(session_rules.CSRF_HEADER),
        origin=request.headers.get("Origin"),
        host=request.host,
        websocket=request.path == EVENTS_PATH,
    )
    request[SESSION] = session
    if session.role == Role.SUPERVISOR.value:  # SUP: the audit names `supervisor:<id>`
        return Principal(
            role=Role.SUPERVISOR,
            tenant=session.tenant,
            agent=None,
            token_id=session.agent,
            session=session.handle,
        )
    return Principal(
        role=Role.AGENT, tenant=session.tenant, agent=session.agent, session=session.handle
    )


def request_session(request: web.Request) -> StoredSession | None:
    return request.get(SESSION)
