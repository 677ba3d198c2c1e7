"""Supervisors sign in through POST /v1/session like agents (SUP-4, SEC-1):
the session's role is supervisor, its cookie acts as the tenant's
supervisor (audited as `supervisor:<id>`), with the same CSRF, Origin and
throttling rules; the phone is the extension the supervisor listens on."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import Stack
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
        # wrong password and unknown ID: one answer; a browser phone or another
        # tenant's phone: refused naming SUP-5 (after the password was checked)
        bad = {"agent": "sam", "password": "wrong", "phone": "extension", "extension": "1009"}
        status, body = await _post(http, stack.url, bad)
        assert status == 401 and body["error_id"] == "sign-in-failed"
        status, nobody = await _post(http, stack.url, {**bad, "agent": "nobody"})
        assert status == 401 and nobody["message"] == body["message"]
        good = {**bad, "password": "demo-sam-password"}
        status, body = await _post(http, stack.url, {**good, "phone": "browser"})
        assert status == 400 and body["details"] == {"rule": "SUP-5", "field": "phone"}
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
