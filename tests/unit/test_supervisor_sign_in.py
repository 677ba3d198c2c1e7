"""Supervisors sign in with the desktop's form (SUP-4, SUP-5, SEC-1): who an
ID names, the configuration that keeps it unambiguous, and the principal a
supervisor's session cookie gives (role, tenant, the audit's name)."""

from __future__ import annotations

import tomllib
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from controlplane.adapters.session_store import StoredSession
from controlplane.api.auth import Principal, authenticate_request
from controlplane.api.ops import actor
from controlplane.config import ConfigError, Role, load_config, parse_config
from controlplane.domain import session as rules
from controlplane.sessions import Sessions
from tests.support.constants import DEMO

AGENTS = {"acme": frozenset({"alice", "bob"}), "globex": frozenset({"gina"})}
SUPERVISORS = {"acme": frozenset({"sam"}), "globex": frozenset({"grace", "sam"})}


@pytest.mark.spec("SUP-4", "SEC-1")
def test_an_id_names_an_agent_or_a_supervisor_of_one_tenant() -> None:
    assert rules.resolve_person("alice", AGENTS, SUPERVISORS) == ("acme", "alice", "agent")
    assert rules.resolve_person("grace", AGENTS, SUPERVISORS) == (
        "globex",
        "grace",
        "supervisor",
    )
    assert rules.resolve_person("acme/sam", AGENTS, SUPERVISORS) == ("acme", "sam", "supervisor")
    # a supervisor ID of two tenants names nobody unless the tenant is named
    assert rules.resolve_person("sam", AGENTS, SUPERVISORS) is None
    assert rules.resolve_person("globex/sam", AGENTS, SUPERVISORS) == (
        "globex",
        "sam",
        "supervisor",
    )
    # another tenant's supervisor, nobody at all
    assert rules.resolve_person("acme/grace", AGENTS, SUPERVISORS) is None
    assert rules.resolve_person("nobody", AGENTS, SUPERVISORS) is None
    # an ID that is an agent's and a supervisor's of one tenant is ambiguous
    both = {"acme": frozenset({"sam"})}
    assert rules.resolve_person("sam", both, both) is None


@pytest.mark.spec("SUP-4")
def test_the_configuration_refuses_a_supervisor_id_that_is_an_agents_too() -> None:
    data: dict[str, Any] = tomllib.loads(DEMO.read_text())
    data["tenants"]["acme"]["supervisors"]["alice"] = {"name": "Alice as supervisor"}
    with pytest.raises(ConfigError) as refused:
        parse_config(data, str(DEMO))
    assert "supervisors.alice: the ID is an agent's too" in str(refused.value)


@pytest.mark.spec("SUP-4")
def test_the_demo_has_supervisors_with_argon2id_passwords() -> None:
    config = load_config(DEMO)
    sam = config.tenants["acme"].supervisors["sam"]
    assert sam.password_hash is not None and sam.password_hash.startswith("$argon2id$")
    assert sam.teams == ("tier1", "tier2")
    assert config.tenants["globex"].supervisors["grace"].password_hash is not None


def test_a_stored_session_keeps_its_role_and_an_old_one_is_an_agents() -> None:
    session = StoredSession(
        key="k",
        handle="h",
        tenant="acme",
        agent="sam",
        csrf="c",
        phone="extension",
        extension="1009",
        created=1,
        expires=2,
        role="supervisor",
    )
    assert session.fields()["role"] == "supervisor"
    assert StoredSession("k", "h", "acme", "alice", "c", "extension", "1001", 1, 2).role == "agent"


class _FakeSessions:
    def __init__(self, session: StoredSession) -> None:
        self.session = session

    async def resolve(self, session_id: str) -> StoredSession | None:
        return self.session if session_id == "s" * 43 else None


def _session(role: str) -> StoredSession:
    return StoredSession(
        key="k",
        handle="handle-1",
        tenant="acme",
        agent="sam" if role == "supervisor" else "alice",
        csrf="the-csrf-token",
        phone="extension",
        extension="1009" if role == "supervisor" else "1001",
        created=1,
        expires=2,
        role=role,
    )


def _request(method: str, headers: dict[str, str] | None = None) -> web.Request:
    return make_mocked_request(
        method,
        "/v1/supervisor/agents/alice/state",
        headers={"Host": "127.0.0.1:8080", "Cookie": f"cp_session={'s' * 43}", **(headers or {})},
    )


@pytest.mark.spec("SUP-4", "SEC-1")
async def test_a_supervisors_cookie_gives_a_supervisor_of_the_tenant_named_in_the_audit() -> None:
    config = load_config(DEMO)
    sessions = cast(Sessions, _FakeSessions(_session("supervisor")))
    p = await authenticate_request(_request("GET"), config, sessions)
    assert p.role is Role.SUPERVISOR and p.tenant == "acme" and p.agent is None
    assert p.token_id == "sam" and p.session == "handle-1"
    assert actor(p) == "supervisor:sam"
    # state changes need the session's CSRF token and the same origin (SEC-1)
    with pytest.raises(rules.CsrfRefused):
        await authenticate_request(_request("PUT"), config, sessions)
    with pytest.raises(rules.CsrfRefused):
        await authenticate_request(
            _request("PUT", {"X-CSRF-Token": "the-csrf-token", "Origin": "http://evil.example"}),
            config,
            sessions,
        )
    ok = await authenticate_request(
        _request("PUT", {"X-CSRF-Token": "the-csrf-token", "Origin": "http://127.0.0.1:8080"}),
        config,
        sessions,
    )
    assert ok.role is Role.SUPERVISOR
    # an agent's cookie still gives the agent
    agent = await authenticate_request(
        _request("GET"), config, cast(Sessions, _FakeSessions(_session("agent")))
    )
    assert agent.role is Role.AGENT and agent.agent == "alice"


@pytest.mark.spec("SEC-1")
def test_an_event_for_one_session_reaches_that_session_only() -> None:
    sup = Principal(Role.SUPERVISOR, "acme", None, token_id="sam", session="handle-1")
    assert sup.may_see_event("acme", "sam", private=True, session="handle-1")
    assert not sup.may_see_event("acme", "sam", private=True, session="handle-2")
    bearer = Principal(Role.SUPERVISOR, "acme", None, token_id="abc")
    assert not bearer.may_see_event("acme", "sam", private=True, session="")
    assert not bearer.may_see_event("acme", "sam", private=True, session="handle-1")
    # the tenant's events reach the supervisor; private ones (CAD-6) do not
    assert sup.may_see_event("acme", "alice")
    assert not sup.may_see_event("acme", "alice", private=True)
    assert not sup.may_see_event("globex", "gina")
