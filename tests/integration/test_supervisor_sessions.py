"""Supervisors sign in through POST /v1/session like agents (SUP-4, SEC-1):
the session's role is supervisor, its cookie acts as the tenant's
supervisor (audited as `supervisor:<id>`), with the same CSRF, Origin and
throttling rules; the phone is the extension the supervisor listens on, or
a browser phone: a seat of the datacenter's supervisor seats held for the
session, with SIP credentials for that session only (SUP-5, PH-4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient, AriError
from controlplane.adapters.seat_store import SeatStore
from controlplane.adapters.store import Store
from controlplane.domain.errors import InvalidTransition
from controlplane.domain.seats import SEAT_GRACE_MS
from tests.integration.conftest import Stack
from tests.integration.desktop.test_browser_phone import SessionClient, sip_over_proxy
from tests.support.asterisk import wait_until
from tests.support.constants import SEATS
from tests.support.desktop import Desktop

pytestmark = pytest.mark.integration


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(f"{url}/v1/session", json=body) as resp:
        return resp.status, await resp.json()


@pytest.mark.spec("SUP-4", "SEC-1")
async def test_given_a_supervisor_when_signing_in_then_the_cookie_acts_as_the_tenants_supervisor(
    stack: Stack,
) -> None:
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
    ):
        await alice.login("1001")
        # wrong password and unknown ID: one answer; a browser endpoint named as
        # an extension or another tenant's phone: refused naming SUP-5 (after
        # the password was checked)
        bad = {"agent": "sam", "password": "wrong", "phone": "extension", "extension": "1009"}
        status, body = await _post(http, stack.url, bad)
        assert status == 401 and body["error_id"] == "sign-in-failed"
        status, nobody = await _post(http, stack.url, {**bad, "agent": "nobody"})
        assert status == 401 and nobody["message"] == body["message"]
        good = {**bad, "password": "demo-sam-password"}
        for endpoint in ("2001", "2101"):  # an agent's browser phone, a supervisors' seat
            status, body = await _post(http, stack.url, {**good, "extension": endpoint})
            assert status == 400 and body["details"] == {"rule": "SUP-5", "field": "extension"}
        status, body = await _post(http, stack.url, {**good, "extension": "1011"})  # gina's
        assert status == 400 and body["details"]["rule"] == "SUP-5"
        assert not http.cookie_jar.filter_cookies(stack.url)  # type: ignore[arg-type]

        status, session = await _post(http, stack.url, {**good, "agent": "acme/sam"})
        assert status == 200, session
        assert session["role"] == "supervisor" and session["agent"] == "sam"
        assert session["tenant"] == "acme" and session["name"] == "Sam Stone"
        assert session["phone"] == {"kind": "extension", "extension": "1009", "sip": None}
        assert session["teams"] == ["tier1", "tier2"]
        assert session["console"]["idle_reasons"]["break"] == "Break"
        assert session["console"]["queues"]["support"]
        csrf = {"X-CSRF-Token": session["csrf_token"]}

        # the console's reads work with the cookie; the agent's snapshot does not
        async with http.get(f"{stack.url}/v1/supervisor/snapshot") as resp:
            assert resp.status == 200
            snap = await resp.json()
        assert snap["tenant"] == "acme" and any(a["id"] == "alice" for a in snap["agents"])
        async with http.get(f"{stack.url}/v1/me") as resp:
            assert resp.status == 403
        async with http.get(f"{stack.url}/v1/session") as resp:
            assert resp.status == 200 and (await resp.json())["role"] == "supervisor"

        # a state change needs the CSRF token, and the same origin
        path = f"{stack.url}/v1/supervisor/agents/alice/state"
        idle = {"state": "idle", "reason": "break"}
        async with http.put(path, json=idle) as resp:
            assert resp.status == 403 and (await resp.json())["error_id"] == "csrf"
        async with http.put(path, json=idle, headers={**csrf, "Origin": "http://evil.test"}) as r:
            assert r.status == 403
        async with http.put(path, json=idle, headers=csrf) as resp:
            assert resp.status == 200, await resp.text()
        seen = await alice.event("agent.state", lambda e: e["data"]["reason"] == "break")
        assert seen["data"]["state"] == "idle" and seen["data"]["previous"] == "idle"

        # audited as the supervisor (sign-in and the action)
        records = (await alice_audit(stack))["records"]
        put = [r for r in records if r["action"] == "PUT /v1/supervisor/agents/{agent_id}/state"]
        assert put and put[0]["actor"] == "supervisor:sam" and put[0]["outcome"] == "ok"
        signed = [r for r in records if r["action"] == "session.sign_in"]
        assert signed[0]["actor"] == "supervisor:sam" and signed[0]["target"] == {
            "supervisor": "sam"
        }
        assert any(
            r["outcome"] == "refused" and r["target"] == {"supervisor": "sam"} for r in signed
        )

        # signing out ends only the session (Alice stays as she is)
        async with http.delete(f"{stack.url}/v1/session", headers=csrf) as resp:
            assert resp.status == 200
        async with http.get(f"{stack.url}/v1/supervisor/snapshot") as resp:
            assert resp.status == 401
        assert (await alice.me())["state"] == "idle"
        await alice.logout()


async def alice_audit(stack: Stack) -> Any:
    async with Desktop(stack.url, "demo-supervisor-token") as sup:
        return await sup.call("GET", "/v1/audit?limit=100")


@pytest.mark.spec("SEC-1")
async def test_given_failed_supervisor_sign_ins_then_they_are_throttled_like_agents(
    stack: Stack,
) -> None:
    async with aiohttp.ClientSession() as http:
        bad = {"agent": "grace", "password": "wrong", "phone": "extension", "extension": "1009"}
        for _ in range(5):
            status, _body = await _post(http, stack.url, bad)
            assert status == 401
        async with http.post(
            f"{stack.url}/v1/session", json={**bad, "password": "demo-grace-password"}
        ) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0


# SUP-5, PH-4: the supervisor's browser phone --------------------------------------------


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[Callable[[], SessionClient]]:
    made: list[aiohttp.ClientSession] = []

    def new() -> SessionClient:
        http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=15)
        )
        made.append(http)
        return SessionClient(http, stack.url)

    try:
        yield new
    finally:
        for http in made:
            await http.close()


async def auth_object(ari: AriClient, seat: str) -> bool:
    """Whether Asterisk has the seat's auth object (a password it accepts)."""
    try:
        await ari.request("GET", f"/asterisk/config/dynamic/res_pjsip/auth/{seat}")
    except AriError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def seat_holder(stack: Stack, seat: str) -> dict[str, str]:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        found = await client.hgetall(f"cp:{{dc1}}:sup-seat:{seat}")
        return {str(k): str(v) for k, v in found.items()}
    finally:
        await client.aclose()


@pytest.mark.spec("SUP-5", "PH-4", "PH-1")
async def test_given_supervisors_on_the_browser_phone_then_each_holds_a_seat_with_credentials_for_that_session_only(  # noqa: E501
    stack: Stack, ari: AriClient, clients: Callable[[], SessionClient]
) -> None:
    sam, grace, sam_again = clients(), clients(), clients()
    mine = await sam.sign_in("sam")
    seat = mine["phone"]["extension"]
    assert mine["role"] == "supervisor" and mine["phone"]["kind"] == "browser"
    assert seat in SEATS and mine["phone"]["sip"]["username"] == seat
    assert mine["phone"]["sip"]["uri"].startswith(f"sip:{seat}@")
    assert len(mine["phone"]["sip"]["password"]) >= 32
    # the page recovers them after a reload; nothing else carries them
    assert json.loads(await sam.text("/v1/session"))["phone"] == mine["phone"]
    theirs = await grace.sign_in("grace")
    other = theirs["phone"]["extension"]
    assert other in SEATS and other != seat
    password = mine["phone"]["sip"]["password"]
    for path in ("/v1/session", "/v1/supervisor/snapshot", "/v1/supervisor/agents"):
        assert password not in await grace.text(path), path
    async with Desktop(stack.url, "demo-supervisor-token") as token:
        assert password not in json.dumps(await token.call("GET", "/v1/supervisor/snapshot"))

    # the session speaks only as its own seat (PH-4)
    assert await sip_over_proxy(sam, seat, password) == 200
    grace_password = theirs["phone"]["sip"]["password"]
    assert await sip_over_proxy(sam, other, grace_password) == "closed 1008"
    assert await sip_over_proxy(sam, "2001", password) == "closed 1008"
    assert await sip_over_proxy(sam, "1009", "demo-phone-secret") == "closed 1008"
    assert await sip_over_proxy(grace, other, grace_password) == 200

    # signing in again keeps the seat with a new password; the old one is void
    renewed = await sam_again.sign_in("sam")
    assert renewed["phone"]["extension"] == seat
    assert renewed["phone"]["sip"]["password"] != password
    assert await sip_over_proxy(sam_again, seat, password) == 401
    assert await sip_over_proxy(sam_again, seat, renewed["phone"]["sip"]["password"]) == 200

    # signing out gives the seat back, and Asterisk has no password for it
    await sam_again.sign_out()
    await grace.sign_out()
    assert await seat_holder(stack, seat) == {}
    assert await seat_holder(stack, other) == {}
    for s in (seat, other):
        await wait_until(partial(_gone, ari, s), timeout=5, what=f"no auth object for {s}")


async def _gone(ari: AriClient, seat: str) -> bool:
    return not await auth_object(ari, seat)


@pytest.mark.spec("SUP-5")
async def test_given_more_sign_ins_than_seats_then_each_seat_has_one_session_and_ended_ones_free_theirs(  # noqa: E501
    stack: Stack,
) -> None:
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    store = Store(client, "seat-test")
    seats = SeatStore(store, ("9001", "9002", "9003"))
    try:
        now = 1_000_000
        # five sign-ins at once for three seats: three seats, two refusals
        results = await asyncio.gather(
            *(seats.take(f"session{i}", f"t/s{i}", now) for i in range(5)),
            return_exceptions=True,
        )
        taken = [r for r in results if isinstance(r, str)]
        refused = [r for r in results if isinstance(r, InvalidTransition)]
        assert sorted(taken) == ["9001", "9002", "9003"] and len(refused) == 2
        assert all(r.rule == "SUP-5" and r.details["field"] == "phone" for r in refused)
        holders = await seats.holders()
        assert len({h.session for h in holders.values()}) == 3

        # sessions live in Redis: those of the holders exist, except one ended
        ended = holders["9002"].session
        for h in holders.values():
            if h.session != ended:
                await client.set(seats.session_key(h.session), "1")
        with pytest.raises(InvalidTransition):  # just taken: still held
            await seats.take("late", "t/late", now + SEAT_GRACE_MS - 1)
        assert await seats.take("late", "t/late", now + SEAT_GRACE_MS) == "9002"

        # sign-out gives a seat back, and only the session holding it can
        await seats.release("9001", "not-the-holder")
        assert "9001" in await seats.holders()
        await seats.release("9001", holders["9001"].session)
        assert "9001" not in await seats.holders()
        assert await seats.take("next", "t/next", now) == "9001"
    finally:
        keys = [k async for k in client.scan_iter("cp:{seat-test}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
