"""Desktop sessions (DSK-1, SEC-1): sign-in names, throttle, CSRF, cookie,
sign-out, lifetime; passwords; the desktop page's headers."""

from __future__ import annotations

import tomllib
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from argon2 import PasswordHasher

from controlplane.api import webui
from controlplane.config import ConfigError, load_config, parse_config
from controlplane.domain import session as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidTransition
from controlplane.passwords import Passwords
from tests.support.constants import DEMO

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# Naming the agent -----------------------------------------------------------------

AGENTS = {"acme": frozenset({"alice", "sam"}), "globex": frozenset({"gina", "sam"})}


@pytest.mark.spec("DSK-1")
def test_an_agent_is_named_by_id_or_by_tenant_and_id() -> None:
    assert rules.resolve_agent("alice", AGENTS) == ("acme", "alice")
    assert rules.resolve_agent("globex/gina", AGENTS) == ("globex", "gina")
    assert rules.resolve_agent("acme/gina", AGENTS) is None  # another tenant's agent
    assert rules.resolve_agent("nobody", AGENTS) is None
    # an ID of two tenants names nobody unless the tenant is named
    assert rules.resolve_agent("sam", AGENTS) is None
    assert rules.resolve_agent("globex/sam", AGENTS) == ("globex", "sam")


@pytest.mark.spec("DSK-1")
def test_failures_count_against_the_name_given_whether_it_exists_or_not() -> None:
    assert rules.throttle_subject("Alice") == rules.throttle_subject(" alice ")
    assert rules.throttle_subject("alice") != rules.throttle_subject("bob")
    assert len(rules.throttle_subject("no-such-agent")) == 32


# Throttle -------------------------------------------------------------------------


@pytest.mark.spec("DSK-1", "SEC-1")
def test_sign_ins_are_throttled_per_agent_and_per_address() -> None:
    none = rules.Count(0, 0)
    assert rules.throttle(none, none) is None
    below = rules.Count(rules.FAILURES_PER_AGENT - 1, 200)
    assert rules.throttle(below, none) is None
    assert rules.throttle(rules.Count(rules.FAILURES_PER_AGENT, 200), none) == 200
    assert rules.throttle(none, rules.Count(rules.FAILURES_PER_ADDRESS - 1, 100)) is None
    assert rules.throttle(none, rules.Count(rules.FAILURES_PER_ADDRESS, 100)) == 100
    # both: wait for the later one; a window about to end still asks a second
    both = rules.throttle(rules.Count(9, 40), rules.Count(rules.FAILURES_PER_ADDRESS, 250))
    assert both == 250
    assert rules.throttle(rules.Count(rules.FAILURES_PER_AGENT, 0), none) == 1
    assert rules.FAILURES_PER_AGENT == 5 and rules.FAILURE_WINDOW_SECONDS == 300


# CSRF -----------------------------------------------------------------------------


def csrf(method: str, token: str | None, origin: str | None, **kw: Any) -> None:
    rules.csrf_check(
        method,
        session_token="the-token",
        presented_token=token,
        origin=origin,
        host="desk.example:8080",
        **kw,
    )


@pytest.mark.spec("SEC-1")
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_state_change_by_cookie_needs_the_session_token(method: str) -> None:
    csrf(method, "the-token", None)
    csrf(method, "the-token", "http://desk.example:8080")
    for wrong in (None, "", "the-toke", "the-token ", "THE-TOKEN"):
        with pytest.raises(rules.CsrfRefused) as err:
            csrf(method, wrong, None)
        assert err.value.status == 403 and err.value.error_id == "csrf"


@pytest.mark.spec("SEC-1")
def test_reads_need_no_token_but_another_origin_is_refused_also_for_the_websocket() -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        csrf(method, None, None)
        csrf(method, None, "http://desk.example:8080")
    for origin in ("http://evil.example", "http://desk.example:8081", "null", "file://"):
        with pytest.raises(rules.CsrfRefused):
            csrf("GET", None, origin, websocket=True)
        with pytest.raises(rules.CsrfRefused):
            csrf("POST", "the-token", origin)
    csrf("GET", None, "http://desk.example:8080", websocket=True)


@pytest.mark.spec("SEC-1")
def test_same_origin_compares_host_and_port_with_default_ports() -> None:
    assert rules.same_origin(None, "x")
    assert rules.same_origin("https://desk.example", "desk.example")
    assert rules.same_origin("https://desk.example", "desk.example:443")
    assert rules.same_origin("http://desk.example", "desk.example:80")
    assert rules.same_origin("http://DESK.example:8080", "desk.example:8080")
    assert rules.same_origin("http://[::1]:8099", "[::1]:8099")
    assert not rules.same_origin("https://desk.example", "desk.example:8443")
    assert not rules.same_origin("http://desk.example.evil", "desk.example")
    assert not rules.same_origin("http://desk.example", None)


# Cookie ---------------------------------------------------------------------------


def set_cookie_header(**attrs: Any) -> str:
    """The Set-Cookie header's value aiohttp sends for these attributes."""
    response = web.Response()
    response.set_cookie(rules.COOKIE, "value", **attrs)
    return response.cookies[rules.COOKIE].OutputString()


@pytest.mark.spec("DSK-1", "SEC-1")
def test_the_cookie_is_http_only_same_site_strict_path_root_and_secure_on_tls() -> None:
    plain = set_cookie_header(**rules.cookie_attributes(secure=False))
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Path=/" in plain
    assert "Secure" not in plain
    morsel = SimpleCookie(plain)[rules.COOKIE]
    assert morsel["httponly"] is True and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/" and not morsel["secure"] and not morsel["max-age"]
    tls = SimpleCookie(set_cookie_header(**rules.cookie_attributes(secure=True)))[rules.COOKIE]
    assert tls["secure"] is True and tls["httponly"] is True
    cleared = rules.cookie_attributes(secure=False, clear=True)
    assert cleared["max_age"] == 0 and cleared["httponly"] is True


@pytest.mark.spec("DSK-1", "SEC-1")
def test_the_session_id_is_256_random_bits_and_only_its_hash_is_kept() -> None:
    ids = {rules.new_session_id() for _ in range(100)}
    assert len(ids) == 100
    one = ids.pop()
    assert len(one) == 43 and rules.valid_session_id(one)  # 32 bytes, base64url
    key = rules.session_key(one)
    assert len(key) == 64 and one not in key
    for bad in ("", "short", "x" * 65, "a b" * 10, "é" * 30, "a;b=c" * 5):
        assert not rules.valid_session_id(bad)


# Lifetime, sign-out ------------------------------------------------------------------


@pytest.mark.spec("DSK-1")
def test_a_session_lives_for_the_idle_timeout_but_never_past_its_end() -> None:
    assert rules.ttl_ms(1000, 1000 + 10_000_000, 60_000) == 60_000
    assert rules.ttl_ms(1000, 1000 + 30_000, 60_000) == 30_000
    assert rules.ttl_ms(5000, 4000, 60_000) <= 0
    assert rules.keeper_interval_seconds(1) == 15.0
    assert rules.keeper_interval_seconds(30) == 60.0


@pytest.mark.spec("DSK-1")
def test_signing_out_is_refused_while_a_call_holds_the_agent() -> None:
    for state in (AgentState.RESERVED, AgentState.CONNECTED, AgentState.WRAP_UP):
        with pytest.raises(InvalidTransition) as err:
            rules.sign_out(state)
        assert err.value.status == 409 and err.value.details["rule"] == "DSK-1"
    for state in (AgentState.IDLE, AgentState.AVAILABLE, AgentState.RONA):
        assert rules.sign_out(state) is True
    assert rules.sign_out(AgentState.LOGGED_OUT) is False


# Passwords --------------------------------------------------------------------------


def config_with(**agent_keys: Any) -> dict[str, Any]:
    data = tomllib.loads(DEMO.read_text())
    data["tenants"]["acme"]["agents"]["alice"].update(agent_keys)
    return data


@pytest.mark.spec("DSK-1")
async def test_a_password_is_checked_against_the_agents_argon2id_hash() -> None:
    config = parse_config(config_with(password_hash=CHEAP.hash("right")), "t.toml")
    passwords = Passwords(config)
    alice = config.tenants["acme"].agents["alice"].password_hash
    assert await passwords.verify(alice, "right")
    assert not await passwords.verify(alice, "wrong")
    assert not await passwords.verify(alice, "")
    # no hash (unknown agent, or none set): refused, after the same work
    assert not await passwords.verify(None, "right")


@pytest.mark.spec("DSK-1")
def test_the_demo_hashes_keep_the_default_cost_and_match_the_demo_passwords() -> None:
    config = load_config(DEMO)
    for tid, tenant in config.tenants.items():
        for aid, agent in tenant.agents.items():
            assert agent.password_hash, f"{tid}/{aid} has no demo password"
            assert "$m=65536,t=3,p=4$" in agent.password_hash
    alice = config.tenants["acme"].agents["alice"].password_hash
    assert alice is not None and PasswordHasher().verify(alice, "demo-alice-password")


@pytest.mark.spec("DSK-1")
def test_the_config_takes_only_argon2id_hashes_and_unique_browser_extensions() -> None:
    for bad in ("plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "$argon2id$junk"):
        with pytest.raises(ConfigError) as err:
            parse_config(config_with(password_hash=bad), "bad.toml")
        assert "tenants.acme.agents.alice.password_hash" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config(config_with(browser_extension="1002"), "bad.toml")
    assert "1002 is used by tenants.acme.agents.alice.browser_extension" in str(err.value)
    ok = parse_config(config_with(browser_extension="1901"), "ok.toml")
    assert ok.tenants["acme"].agents["alice"].browser_extension == "1901"


# The desktop's page ---------------------------------------------------------------------


@pytest.mark.spec("SEC-1")
def test_the_page_has_a_strict_content_security_policy() -> None:
    headers = webui.security_headers("desk.example:8080")
    policy = dict(p.split(" ", 1) for p in headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert policy["connect-src"] == "'self' ws://desk.example:8080 wss://desk.example:8080"
    assert policy["media-src"] == "'self' blob:"
    assert policy["frame-ancestors"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.spec("SEC-2")
def test_only_files_inside_the_build_are_served(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("x")
    (tmp_path / ".built-123").write_text("x")
    (tmp_path.parent / "secret.txt").write_text("x")
    assert webui._inside(tmp_path, "assets/app.js") == (tmp_path / "assets" / "app.js")
    for bad in ("../secret.txt", "assets/../../secret.txt", "/etc/passwd", ".built-123", ""):
        assert webui._inside(tmp_path, bad) is None, bad
    assert webui._inside(tmp_path, "assets") is None  # a directory


@pytest.mark.spec("DSK-1")
def test_hash_password_prints_an_argon2id_hash_of_the_default_cost() -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from controlplane.cli import main  # noqa: PLC0415

    result = CliRunner().invoke(main, ["hash-password"], input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(printed, "s3cret-pass")
    assert CliRunner().invoke(main, ["hash-password"], input="\n").exit_code == 2
