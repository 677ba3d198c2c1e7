"""The agent desktop's session (DSK-1), CSRF protection (SEC-1), input
validation (SEC-2) and snapshot (DSK-13), against the running service, with
a cookie jar like a browser's."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import SESSION_IDLE_MINUTES, Stack
from tests.support.asterisk import wait_until
from tests.support.constants import DC_PREFIX, SUPPORT
from tests.support.consults import nothing_left_behind, of
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import available_agent, connected_call, request_consult
from tests.support.web_session import COOKIE, Browser

pytestmark = pytest.mark.integration

CUSTOMER = "+15557770001"


@pytest.fixture
async def browser(stack: Stack) -> AsyncIterator[Browser]:
    b = Browser(stack.url)
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def state_of(stack: Stack, agent: str = "alice", token: str = "demo-alice-token") -> Any:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        http.get(f"{stack.url}/v1/agents/{agent}") as resp,
    ):
        assert resp.status == 200
        return await resp.json()


def session_key(cookie: str) -> str:
    return f"{DC_PREFIX}session:{hashlib.sha256(cookie.encode()).hexdigest()}"


# Sign-in ------------------------------------------------------------------------


@pytest.mark.spec("DSK-1", "SEC-1")
async def test_sign_in_sets_an_http_only_strict_cookie_and_logs_the_agent_in(
    stack: Stack, browser: Browser, redis: aioredis.Redis
) -> None:
    assert (await state_of(stack))["state"] == "logged_out"
    signed_in = await browser.sign_in("acme/alice")
    assert signed_in["tenant"] == "acme" and signed_in["agent"] == "alice"
    assert signed_in["role"] == "agent" and signed_in["name"] == "Alice Able"
    assert signed_in["phone"] == {"kind": "extension", "extension": "1001", "sip": None}
    assert len(signed_in["csrf_token"]) >= 40
    # the cookie: HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP
    raw = browser.last_set_cookie or ""
    attrs = [a.strip() for a in raw.split(";")]
    assert attrs[0].startswith(f"{COOKIE}=") and len(attrs[0]) > len(COOKIE) + 40
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs
    assert "Secure" not in attrs
    # the agent is logged in on the phone chosen
    record = await state_of(stack)
    assert record["state"] == "idle" and record["extension"] == "1001"
    # the page recovers the session (and its CSRF token) with the cookie alone
    again = await browser.ok("GET", "/v1/session")
    assert again == signed_in
    # Redis keeps the hash of the session ID, never the ID itself
    cookie = browser.cookie()
    assert cookie is not None
    assert await redis.exists(session_key(cookie))
    for key in [k async for k in redis.scan_iter(f"{DC_PREFIX}*session*")]:
        assert cookie not in key
        kind = await redis.type(key)
        value = await (redis.hgetall(key) if kind == "hash" else redis.get(key))
        assert cookie not in str(value)
    # the sign-in is in the audit trail
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bearer demo-supervisor-token"}) as http,
        http.get(f"{stack.url}/v1/audit") as resp,
    ):
        records = (await resp.json())["records"]
    assert any(
        r["action"] == "session.sign_in" and r["actor"] == "agent:alice" and r["outcome"] == "ok"
        for r in records
    )
    await browser.ok("DELETE", "/v1/session")


@pytest.mark.spec("DSK-1", "SEC-1", "SEC-2")
async def test_wrong_password_and_unknown_agent_get_the_same_401(
    stack: Stack, browser: Browser
) -> None:
    answers = []
    for agent, password in [
        ("alice", "not-her-password"),
        ("acme/alice", "demo-bob-password"),
        ("nobody", "demo-alice-password"),
        ("globex/alice", "demo-alice-password"),  # an agent of another tenant
    ]:
        status, data, _ = await browser.request(
            "POST",
            "/v1/session",
            {"agent": agent, "password": password, "phone": "extension", "extension": "1001"},
        )
        assert browser.last_set_cookie is None
        answers.append((status, data))
    assert answers[0][0] == 401 and answers[0][1]["error_id"] == "sign-in-failed"
    assert all(a == answers[0] for a in answers), answers
    assert browser.cookie() is None
    assert (await state_of(stack))["state"] == "logged_out"
    # SEC-2: bad bodies are refused before anything is checked
    for body in [
        {},
        {"agent": "alice", "password": "x"},
        {"agent": "alice", "password": "", "phone": "extension", "extension": "1001"},
        {"agent": "a/b/c", "password": "x", "phone": "extension", "extension": "1001"},
        {"agent": "alice", "password": "x", "phone": "fax", "extension": "1001"},
        {"agent": "alice", "password": "x" * 300, "phone": "extension", "extension": "1001"},
        {"agent": "alice", "password": "x", "phone": "extension", "extension": "1001", "a": 1},
    ]:
        status, data, _ = await browser.request("POST", "/v1/session", body)
        assert status == 400 and data["error_id"] == "invalid-input", (body, status, data)
    # the right password, but not the agent's phone: refused, nothing changes
    status, data, _ = await browser.request(
        "POST",
        "/v1/session",
        {
            "agent": "alice",
            "password": "demo-alice-password",
            "phone": "extension",
            "extension": "1002",
        },
    )
    assert status == 400 and data["details"]["field"] == "extension"
    assert browser.cookie() is None
    assert (await state_of(stack))["state"] == "logged_out"


@pytest.mark.spec("DSK-1", "SEC-1")
async def test_failed_sign_ins_are_throttled_per_agent_and_per_address(
    stack: Stack, browser: Browser
) -> None:
    for _ in range(5):
        await browser.sign_in("alice", "wrong", expect=401)
    # the sixth try is refused before the password is checked, even the right one
    status, data, headers = await browser.request(
        "POST",
        "/v1/session",
        {
            "agent": "alice",
            "password": "demo-alice-password",
            "phone": "extension",
            "extension": "1001",
        },
    )
    assert status == 429 and data["error_id"] == "too-many-attempts", data
    assert 250 <= int(headers["Retry-After"]) <= 300
    assert (await state_of(stack))["state"] == "logged_out"
    # an unknown agent is throttled the same way (nothing tells it apart)
    for _ in range(5):
        await browser.sign_in("nobody", "wrong", expect=401)
    await browser.sign_in("nobody", "wrong", expect=429)
    # another agent from the same address still signs in ...
    await browser.sign_in("bob", "demo-bob-password", extension="1002")
    await browser.ok("DELETE", "/v1/session")
    # ... until the address has failed 20 times in the window (10 so far)
    for n in range(10):
        await browser.sign_in(f"x{n}", "wrong", expect=401)
    await browser.sign_in("bob", "demo-bob-password", extension="1002", expect=429)


# CSRF ---------------------------------------------------------------------------


@pytest.mark.spec("SEC-1", "DSK-1")
async def test_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(
    stack: Stack, browser: Browser
) -> None:
    await browser.sign_in()
    available = {"state": "available"}
    refusals: list[tuple[dict[str, str | None], bool]] = [
        ({}, False),  # no token
        ({"X-CSRF-Token": "not-the-token"}, False),
        ({"X-CSRF-Token": (browser.csrf or "") + "x"}, False),
        ({"Origin": "http://evil.example"}, True),  # the right token from another site
        ({"Origin": "null"}, True),
    ]
    for headers, csrf in refusals:
        status, data, _ = await browser.request(
            "PUT", "/v1/agents/alice/state", available, csrf=csrf, headers=headers
        )
        assert status == 403 and data["error_id"] == "csrf", (headers, status, data)
        assert (await state_of(stack))["state"] == "idle"
    status, data, _ = await browser.request("DELETE", "/v1/session", csrf=False)
    assert status == 403 and data["error_id"] == "csrf"
    assert (await browser.ok("GET", "/v1/session"))["agent"] == "alice"  # still signed in
    # reads need no token; with it the change goes through
    assert (await browser.ok("GET", "/v1/agents/alice"))["state"] == "idle"
    assert (await browser.ok("PUT", "/v1/agents/alice/state", available))["state"] == "available"
    assert (await state_of(stack))["state"] == "available"
    # without an Origin header (no browser) the token alone decides
    status, _, _ = await browser.request(
        "PUT",
        "/v1/agents/alice/state",
        {"state": "idle", "reason": "break"},
        headers={"Origin": None},
    )
    assert status == 200
    # the cookie session is the agent's only: another agent's state is not theirs
    status, data, _ = await browser.request("PUT", "/v1/agents/bob/state", available)
    assert status == 403
    await browser.ok("DELETE", "/v1/session")


@pytest.mark.spec("SEC-1", "DSK-1")
async def test_the_event_websocket_takes_the_cookie_from_this_site_only(
    stack: Stack, browser: Browser
) -> None:
    await browser.sign_in()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await browser.http.ws_connect(
            f"{stack.url}/v1/events", headers={"Origin": "http://evil.example"}
        )
    assert refused.value.status == 403
    async with browser.http.ws_connect(
        f"{stack.url}/v1/events", headers={"Origin": stack.url}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello == {"type": "hello", "tenant": "acme", "agent": "alice"}
        await browser.ok("PUT", "/v1/agents/alice/state", {"state": "available"})
        event = await ws.receive_json(timeout=5)
        assert event["type"] == "agent.state" and event["data"]["state"] == "available"
    await browser.ok("DELETE", "/v1/session")
    # signed out: the cookie opens nothing any more
    with pytest.raises(aiohttp.WSServerHandshakeError) as ended:
        await browser.http.ws_connect(f"{stack.url}/v1/events", headers={"Origin": stack.url})
    assert ended.value.status == 401


# Lifetime -----------------------------------------------------------------------


@pytest.mark.spec("DSK-1")
async def test_a_session_unused_for_the_idle_timeout_ends(
    stack: Stack, browser: Browser, redis: aioredis.Redis
) -> None:
    await browser.sign_in()
    cookie = browser.cookie()
    assert cookie is not None
    key = session_key(cookie)
    idle_ms = SESSION_IDLE_MINUTES * 60_000
    assert idle_ms - 5000 < await redis.pttl(key) <= idle_ms
    # every use renews the idle timeout
    await redis.pexpire(key, 5000)
    await browser.ok("GET", "/v1/me")
    assert await redis.pttl(key) > idle_ms - 5000
    # unused until it lapses: the cookie is worth nothing, the agent is not signed out
    await redis.pexpire(key, 200)
    await asyncio.sleep(0.5)
    for path in ("/v1/session", "/v1/me", "/v1/agents/alice"):
        status, data, _ = await browser.request("GET", path)
        assert status == 401 and data["error_id"] == "unauthorized", (path, status, data)
    status, _, _ = await browser.request("PUT", "/v1/agents/alice/state", {"state": "available"})
    assert status == 401
    assert (await state_of(stack))["state"] == "idle"
    # a session also ends at its absolute end, whatever its use
    await browser.sign_in()
    cookie = browser.cookie()
    assert cookie is not None
    await redis.hset(session_key(cookie), "expires", str(int(time.time() * 1000) + 300))
    await asyncio.sleep(0.5)
    status, _, _ = await browser.request("GET", "/v1/session")
    assert status == 401
    await browser.sign_in()
    await browser.ok("DELETE", "/v1/session")


@pytest.mark.spec("DSK-1")
async def test_an_open_event_websocket_keeps_its_session_alive(
    stack: Stack, browser: Browser, redis: aioredis.Redis
) -> None:
    await browser.sign_in()
    cookie = browser.cookie()
    assert cookie is not None
    key = session_key(cookie)
    idle_ms = SESSION_IDLE_MINUTES * 60_000
    async with browser.http.ws_connect(
        f"{stack.url}/v1/events", headers={"Origin": stack.url}
    ) as ws:
        await ws.receive_json(timeout=5)
        # a message of the page renews it at once ...
        await redis.pexpire(key, 5000)
        await ws.send_str("ping")

        async def renewed() -> bool:
            return int(await redis.pttl(key)) > idle_ms - 10_000

        await wait_until(renewed, timeout=3, what="the session renewed by the page's message")
        # ... and the service renews it while the socket is open (every
        # quarter of the idle timeout), with no request at all
        await redis.pexpire(key, 20_000)
        await wait_until(renewed, timeout=18, what="the session renewed by the open socket")
    assert (await browser.ok("GET", "/v1/session"))["agent"] == "alice"
    await browser.ok("DELETE", "/v1/session")


@pytest.mark.spec("DSK-1")
async def test_a_sign_in_elsewhere_takes_over_and_closes_the_older_sessions_socket(
    stack: Stack, browser: Browser
) -> None:
    await browser.sign_in()
    await browser.ok("PUT", "/v1/agents/alice/state", {"state": "available"})
    other = Browser(stack.url)
    try:
        async with browser.http.ws_connect(
            f"{stack.url}/v1/events", headers={"Origin": stack.url}
        ) as ws:
            await ws.receive_json(timeout=5)
            taken = await other.sign_in()
            assert taken["csrf_token"] != browser.csrf
            event = await ws.receive_json(timeout=5)
            assert event["type"] == "session.replaced" and event["agent"] == "alice"
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4001
        # the older cookie is worth nothing; the agent kept their state
        status, _, _ = await browser.request("GET", "/v1/me")
        assert status == 401
        assert (await other.ok("GET", "/v1/me"))["agent"]["state"] == "available"
        await other.ok("DELETE", "/v1/session")
    finally:
        await other.close()


@pytest.mark.spec("DSK-1", "SEC-1")
async def test_a_browser_signing_in_as_another_agent_drops_the_first_session(
    stack: Stack, browser: Browser, redis: aioredis.Redis
) -> None:
    await browser.sign_in()
    alice_cookie = browser.cookie()
    assert alice_cookie is not None
    await browser.sign_in("bob", "demo-bob-password", extension="1002")
    assert browser.cookie() != alice_cookie
    assert not await redis.exists(session_key(alice_cookie))
    # Alice stays logged in; the browser is Bob's now, and only Bob's
    assert (await state_of(stack))["state"] == "idle"
    assert (await browser.ok("GET", "/v1/me"))["agent"]["id"] == "bob"
    status, _, _ = await browser.request("GET", "/v1/agents/alice")
    assert status == 403
    status, _, _ = await browser.request("PUT", "/v1/agents/alice/state", {"state": "logged_out"})
    assert status == 403
    assert (await state_of(stack))["state"] == "idle"
    await browser.ok("DELETE", "/v1/session")
    await browser.sign_in()
    await browser.ok("DELETE", "/v1/session")


# Sign-out and the snapshot during a call ------------------------------------------


@pytest.mark.spec("DSK-1", "DSK-13", "CAD-5")
async def test_the_snapshot_shows_the_call_and_sign_out_waits_for_its_end(
    stack: Stack, ari: AriClient, phones: PhoneFactory, browser: Browser
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    signed_in = await browser.sign_in()
    me = await browser.ok("GET", "/v1/me")
    assert me["agent"]["state"] == "idle" and me["agent"]["name"] == "Alice Able"
    assert me["interaction"] is None and me["offer"] is None and me["consult"] is None
    assert me["variables"] is None and me["wrap_up"] is None and me["rona"] is None
    config = me["config"]
    assert config["idle_reasons"]["break"] and config["wrap_up_reasons"]["resolved"]
    assert config["outdial"] is True and config["keypad"] is True
    assert config["outdial_cancel"] is True and config["privacy_shield_seconds"] == 3
    assert config["auto_wrap_up_seconds"] == 0
    assert [c["id"] for c in config["campaigns"]] == ["renewals"]
    await browser.ok("PUT", "/v1/agents/alice/state", {"state": "available"})

    customer = await phones.customer(CUSTOMER)
    await customer.dial(SUPPORT)
    await phone.wait_for("incoming")
    # ringing: the offer as the desktop showed it
    me = await browser.ok("GET", "/v1/me")
    assert me["agent"]["state"] == "reserved"
    ix_id = me["interaction"]["id"]
    assert me["interaction"]["status"] == "ringing"
    assert me["offer"]["interaction_id"] == ix_id and me["offer"]["ani"] == CUSTOMER
    assert [v["name"] for v in me["offer"]["variables"]][:2] == ["customer_name", "account"]
    status, data, _ = await browser.request("DELETE", "/v1/session")
    assert status == 409 and data["details"]["rule"] == "DSK-1"

    await phone.answer()
    await customer.wait_for("established")

    async def connected() -> bool:
        # (the agent's record and the interaction's are saved one after the
        # other: wait for both, as the page waits for both events)
        me = await browser.ok("GET", "/v1/me")
        return bool(
            me["agent"]["state"] == "connected" and me["interaction"]["status"] == "connected"
        )

    await wait_until(connected, timeout=10, what="alice and the call connected")
    before = datetime.now(UTC)
    me = await browser.ok("GET", "/v1/me")
    # DSK-13: everything a reloaded page needs, in one answer
    assert me["agent"]["state"] == "connected" and me["agent"]["interaction"] == ix_id
    assert me["interaction"]["id"] == ix_id and me["interaction"]["status"] == "connected"
    assert me["interaction"]["connected_at"] and me["interaction"]["ani"] == CUSTOMER
    assert me["offer"] is None and me["consult"] is None
    variables = me["variables"]
    assert variables["interaction_id"] == ix_id and variables["can_edit"] is True
    assert variables == await browser.ok("GET", f"/v1/interactions/{ix_id}/variables")
    server_time = datetime.fromisoformat(me["server_time"])
    assert abs((server_time - before).total_seconds()) < 5
    # DSK-1: an agent on a call does not vanish by signing out
    status, data, _ = await browser.request("DELETE", "/v1/session")
    assert status == 409 and data["details"]["rule"] == "DSK-1", data
    assert (await browser.ok("GET", "/v1/session"))["csrf_token"] == signed_in["csrf_token"]

    # the page's actions carry the token: the agent ends the call
    await browser.ok("POST", f"/v1/interactions/{ix_id}/end")
    await customer.wait_for("closed")
    await phone.wait_for("closed")
    me = await browser.ok("GET", "/v1/me")
    assert me["agent"]["state"] == "wrap_up"
    assert me["wrap_up"]["interaction_id"] == ix_id
    assert me["wrap_up"]["reasons"] == me["config"]["wrap_up_reasons"]
    assert me["interaction"]["status"] == "ended" and me["variables"] is None
    status, data, _ = await browser.request("DELETE", "/v1/session")
    assert status == 409 and data["details"]["rule"] == "DSK-1"
    await browser.ok("POST", f"/v1/interactions/{ix_id}/wrap-up", {"reason": "resolved"})

    # now signing out logs the agent out and clears the cookie
    assert await browser.ok("DELETE", "/v1/session") == {"signed_out": True}
    cleared = [a.strip() for a in (browser.last_set_cookie or "").split(";")]
    assert cleared[0] == f'{COOKIE}=""' or cleared[0] == f"{COOKIE}="
    assert "Max-Age=0" in cleared
    assert browser.cookie() is None
    record = await state_of(stack)
    assert record["state"] == "logged_out" and not record["extension"]
    status, _, _ = await browser.request("GET", "/v1/session")
    assert status == 401
    await wait_until(lambda: _no_channels(ari), what="all channels gone")


async def _no_channels(ari: AriClient) -> bool:
    return not await ari.channels()


# Bearer tokens and the page ---------------------------------------------------------


@pytest.mark.spec("SEC-1")
async def test_bearer_tokens_still_work_and_carry_no_session(stack: Stack) -> None:
    async with Desktop(stack.url, "demo-bob-token", "bob") as bob:
        await bob.login("1002")
        await bob.available()  # a state change without any CSRF header
        await bob.state_event("available")
        me = await bob.call("GET", "/v1/me")
        assert me["agent"]["id"] == "bob" and me["agent"]["state"] == "available"
        with_session = await bob.call("GET", "/v1/session", expect=401)
        assert with_session["error_id"] == "unauthorized"
        await bob.call("DELETE", "/v1/session", expect=401)
        await bob.logout()
    async with Desktop(stack.url, "demo-supervisor-token") as supervisor:
        refused = await supervisor.call("GET", "/v1/me", expect=403)
        assert refused["details"]["rule"] == "DSK-13"
    # ?token= on the event WebSocket, as before
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{stack.url}/v1/events?token=demo-carol-token") as ws,
    ):
        assert (await ws.receive_json(timeout=5))["agent"] == "carol"
    # a bearer token wins over a stale cookie
    async with (
        aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Authorization": "Bearer demo-carol-token"},
        ) as http,
    ):
        http.cookie_jar.update_cookies({COOKIE: "x" * 43})
        async with http.get(f"{stack.url}/v1/agents/carol") as resp:
            assert resp.status == 200


@pytest.mark.spec("SEC-1")
async def test_the_page_is_public_with_its_security_headers_and_the_api_is_not(
    stack: Stack,
) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/desktop"):
            async with http.get(f"{stack.url}{path}") as resp:
                text = await resp.text()
                # built: the page; not built: a plain page that says so
                assert resp.status in (200, 503), (path, resp.status)
                if resp.status == 200:
                    assert resp.content_type == "text/html" and "<html" in text.lower()
                else:
                    assert "not built" in text
                policy = resp.headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert resp.headers["Referrer-Policy"] == "no-referrer"
        # never the page for the API's paths
        for path, status in [
            ("/v1/nothing", 401),
            ("/v1", 404),
            ("/health/x", 404),
            ("/assets/none.js", 404),
            ("/a/b", 404),
        ]:
            async with http.get(f"{stack.url}{path}") as resp:
                assert resp.status == status, (path, resp.status)
                assert resp.content_type == "application/json", path
        async with http.get(f"{stack.url}/openapi.json") as resp:
            paths = (await resp.json())["paths"]
        assert {"/v1/session", "/v1/me", "/"} <= set(paths)


@pytest.mark.spec("DSK-13", "CO-2", "CO-3")
async def test_the_snapshot_shows_a_consult_to_both_agents(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        bob_phone = await available_agent(phones, bob, "1002")
        await request_consult(alice, ix, "agent", "bob")
        offer = (await bob.event("interaction.consult_offered"))["data"]
        await bob_phone.wait_for("incoming")
        # ringing: agent 2's snapshot has the consult's offer as the event showed it
        me = await bob.call("GET", "/v1/me")
        assert me["agent"]["state"] == "reserved" and me["interaction"]["id"] == ix
        assert me["offer"] == offer and len(me["offer"]["variables"]) == 9
        assert me["consult"]["role"] == "consulted_agent"
        assert me["consult"]["consult"]["state"] == "ringing"

        await bob_phone.answer()
        await alice.event("interaction.consult_connected")
        await bob.state_event("connected")
        # connected: both see the consult as GET .../consult shows it to them
        for desktop, role in ((alice, "consulting_agent"), (bob, "consulted_agent")):
            me = await desktop.call("GET", "/v1/me")
            assert me["agent"]["state"] == "connected" and me["interaction"]["id"] == ix
            assert me["consult"] == await desktop.call("GET", f"/v1/interactions/{ix}/consult")
            assert me["consult"]["role"] == role
            assert me["consult"]["consult"]["state"] == "consulting"
            assert me["consult"]["customer"]["state"] == "held"
            assert me["offer"] is None
        # CAD-6: the variables are agent 1's; agent 2 has the consult offer's (CO-2)
        me = await alice.call("GET", "/v1/me")
        assert me["variables"] == await alice.call("GET", f"/v1/interactions/{ix}/variables")
        assert (await bob.call("GET", "/v1/me"))["variables"] is None
        await bob.call("GET", f"/v1/interactions/{ix}/variables", expect=403)

        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await alice.state_event("wrap_up")
        await bob_phone.wait_for("closed")
        await alice.wrap_up(ix, "resolved")
        me = await bob.call("GET", "/v1/me")
        assert me["agent"]["state"] == "available" and me["consult"] is None
        await nothing_left_behind(ari, stack.redis.url)
