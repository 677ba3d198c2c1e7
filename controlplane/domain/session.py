"""Browser sessions of the agent desktop (DSK-1, SEC-1): pure rules, no I/O.

- Which agent a sign-in names (``alice`` or ``acme/alice``).
- The throttle of failed sign-ins (per agent ID and per client address).
- The CSRF decision for a request authenticated by the session cookie.
- The cookie's attributes.
- Whether the agent may sign out in their current state.
- How long a session lives (idle timeout, absolute lifetime).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidTransition, RuleViolation

COOKIE = "cp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RULE = "DSK-1"

# Failed sign-ins: at most this many per window, per agent ID and per address.
FAILURES_PER_AGENT = 5
FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW_SECONDS = 300

MAX_AGENT_FIELD = 130  # "tenant/agent": two IDs of at most 63 characters and "/"
MAX_PASSWORD = 256


class SignInFailed(RuleViolation):
    """Unknown agent, no password set, or a wrong password: one answer for all."""

    status = 401
    error_id = "sign-in-failed"


class Throttled(RuleViolation):
    status = 429
    error_id = "too-many-attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many failed sign-ins; try again later", rule=RULE, retry_after=retry_after
        )
        self.retry_after = retry_after


class CsrfRefused(RuleViolation):
    status = 403
    error_id = "csrf"


SIGN_IN_FAILED = "unknown agent or wrong password"


# Naming the agent ---------------------------------------------------------------


def parse_agent(presented: str) -> tuple[str | None, str]:
    """``acme/alice`` -> ("acme", "alice"); ``alice`` -> (None, "alice")."""
    tenant, sep, agent = presented.partition("/")
    return (tenant, agent) if sep else (None, presented)


def resolve_agent(
    presented: str, agents_by_tenant: dict[str, frozenset[str]]
) -> tuple[str, str] | None:
    """The (tenant, agent) a sign-in names among the given tenants' agents;
    None when it names none, or (unqualified) an agent ID of several tenants."""
    tenant, agent = parse_agent(presented)
    if tenant is not None:
        return (tenant, agent) if agent in agents_by_tenant.get(tenant, frozenset()) else None
    found = [t for t, agents in agents_by_tenant.items() if agent in agents]
    return (found[0], agent) if len(found) == 1 else None


def resolve_person(
    presented: str,
    agents_by_tenant: dict[str, frozenset[str]],
    supervisors_by_tenant: dict[str, frozenset[str]],
) -> tuple[str, str, str] | None:
    """(tenant, ID, role) of the agent or supervisor a sign-in names (SUP-4:
    one form for both); role is ``agent`` or ``supervisor``. None when it
    names nobody, or is ambiguous: an unqualified ID of several tenants, or
    an ID that is an agent's and a supervisor's of one tenant (the
    configuration refuses that)."""
    tenant, person = parse_agent(presented)
    found: list[tuple[str, str, str]] = []
    for tid in sorted(set(agents_by_tenant) | set(supervisors_by_tenant)):
        if tenant is not None and tid != tenant:
            continue
        if person in agents_by_tenant.get(tid, frozenset()):
            found.append((tid, person, "agent"))
        if person in supervisors_by_tenant.get(tid, frozenset()):
            found.append((tid, person, "supervisor"))
    return found[0] if len(found) == 1 else None


def throttle_subject(presented: str) -> str:
    """What failures of a sign-in are counted against: the named agent, the
    same whether it exists or not (case-folded, so that 'Alice' is 'alice')."""
    return hashlib.sha256(presented.strip().lower().encode()).hexdigest()[:32]


# Throttle -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    """Failures counted in the current window and the seconds it still runs."""

    failures: int
    ttl_seconds: int


def throttle(by_agent: Count, by_address: Count) -> int | None:
    """None when a sign-in may be tried; else the seconds to wait (Retry-After)."""
    waits = [
        max(count.ttl_seconds, 1)
        for count, limit in ((by_agent, FAILURES_PER_AGENT), (by_address, FAILURES_PER_ADDRESS))
        if count.failures >= limit
    ]
    return max(waits) if waits else None


# CSRF (SEC-1) -------------------------------------------------------------------


def same_origin(origin: str | None, host: str | None) -> bool:
    """An Origin header names the host the request was sent to (scheme aside:
    the service may sit behind a TLS-terminating proxy). No Origin: True."""
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" and the like
    return _host_port(parts.netloc, parts.scheme) == _host_port(host, parts.scheme)


def _host_port(netloc: str, scheme: str) -> str:
    default = "443" if scheme == "https" else "80"
    netloc = netloc.lower()
    if netloc.endswith("]") or ":" not in netloc.rsplit("]", 1)[-1]:
        return f"{netloc}:{default}"
    return netloc


def csrf_check(
    method: str,
    *,
    session_token: str,
    presented_token: str | None,
    origin: str | None,
    host: str | None,
    websocket: bool = False,
) -> None:
    """A request authenticated by the session cookie: a state change must
    carry the session's CSRF token; any request (a WebSocket too: cross-site
    WebSocket hijacking) that names its Origin must come from this host."""
    if not same_origin(origin, host):
        raise CsrfRefused("the request comes from another site", rule="SEC-1")
    if websocket or method.upper() in SAFE_METHODS:
        return
    if presented_token is None or not hmac.compare_digest(
        presented_token.encode(), session_token.encode()
    ):
        raise CsrfRefused(f"a state change needs the session's {CSRF_HEADER} header", rule="SEC-1")


# The cookie ---------------------------------------------------------------------


def new_session_id() -> str:
    """256 random bits, URL-safe: the cookie's value."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def new_handle() -> str:
    """A public name of the session (events, logs): not the secret."""
    return secrets.token_hex(12)


def session_key(session_id: str) -> str:
    """Only the SHA-256 of the session ID is stored."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def valid_session_id(value: str) -> bool:
    return (
        20 <= len(value) <= 64
        and value.isascii()
        and value.replace("-", "").replace("_", "").isalnum()
    )


def cookie_attributes(*, secure: bool, clear: bool = False) -> dict[str, str | bool | int]:
    """The cookie's attributes (aiohttp's set_cookie keywords): HttpOnly,
    SameSite=Strict, Path=/, Secure on TLS; no Max-Age (a browser-session
    cookie: the server ends the session); Max-Age 0 when it is cleared."""
    attrs: dict[str, str | bool | int] = {"httponly": True, "samesite": "Strict", "path": "/"}
    if secure:
        attrs["secure"] = True
    if clear:
        attrs["max_age"] = 0
    return attrs


# Lifetime -----------------------------------------------------------------------


def ttl_ms(now_ms: int, expires_at_ms: int, idle_ms: int) -> int:
    """How long the session lives from now unless used: the idle timeout,
    but never past its absolute end. 0 or less: it has ended."""
    return min(idle_ms, expires_at_ms - now_ms)


def keeper_interval_seconds(idle_minutes: int) -> float:
    """How often an open event WebSocket refreshes its session: four times
    per idle timeout, at most once a minute."""
    return min(60.0, idle_minutes * 60 / 4)


# Sign-out -----------------------------------------------------------------------

_ON_A_CALL = {
    AgentState.RESERVED: "an offer is ringing on the agent's phone",
    AgentState.CONNECTED: "the agent is on a call",
    AgentState.WRAP_UP: "the agent is in wrap-up: apply a wrap-up reason first",
}


def sign_out(state: AgentState) -> bool:
    """DSK-1: signing out logs the agent out. Refused while an offer rings,
    on a call (also as the consulted agent) and in wrap-up: an agent with a
    call must not vanish. True when a logout is needed (False: already
    logged out)."""
    why = _ON_A_CALL.get(state)
    if why is not None:
        raise InvalidTransition(f"cannot sign out: {why}", rule=RULE, state=state.value)
    return state is not AgentState.LOGGED_OUT
