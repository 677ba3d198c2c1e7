"""SEC-1 on the running service: every endpoint the application has (read
from its router, so new endpoints are covered as they appear) is tried with
no token, a bad token, another agent's token and the other tenants' tokens
against Alice's state and her connected call. Each is refused (401, 403 or
404) and nothing changes in Redis or in Asterisk."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import RUN_DIR, Stack
from tests.support.constants import DC_PREFIX
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory
from tests.support.routes import PUBLIC, api_routes, concrete
from tests.support.scenes import connected_call
from tests.support.snapshot import (
    asterisk_state,
    differences,
    redis_state,
    warm_up_reads,
)

pytestmark = pytest.mark.integration


# A body each endpoint would accept from its rightful caller, so that a
# refusal can only come from who is asking. Endpoints not listed get {}.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/agents/{agent_id}/login"): {"extension": "1001"},
    ("PUT", "/v1/agents/{agent_id}/state"): {"state": "idle", "reason": "break"},
    ("POST", "/v1/interactions/{ix_id}/wrap-up"): {"reason": "resolved"},
    ("PATCH", "/v1/interactions/{ix_id}/variables"): {
        "variables": {"customer_name": {"value": "Mallory", "version": 0}}
    },
    ("PUT", "/v1/interactions/{ix_id}/flow-variables"): {"variables": {"customer_name": "Mallory"}},
    ("POST", "/v1/callbacks"): {"number": "+15551000000", "queue": "support"},
    ("POST", "/v1/agents/{agent_id}/outdial"): {"number": "+15551000000"},
    ("POST", "/v1/agents/{agent_id}/history/{ix_id}/call"): {},
    ("POST", "/v1/interactions/{ix_id}/transfer"): {"kind": "queue", "target": "support"},
    ("POST", "/v1/interactions/{ix_id}/consult"): {"kind": "queue", "target": "support"},
    ("POST", "/v1/agents/{agent_id}/campaign-contact"): {},
    ("PUT", "/v1/interactions/{ix_id}/call-guide"): {
        "answers": [{"question": "q1", "answer": "yes"}]
    },
}
# Endpoints that take no body (besides every GET).
NO_BODY = {
    ("POST", "/v1/interactions/{ix_id}/end"),
    ("POST", "/v1/interactions/{ix_id}/hold"),
    ("POST", "/v1/interactions/{ix_id}/resume"),
    ("POST", "/v1/interactions/{ix_id}/recording/pause"),
    ("POST", "/v1/interactions/{ix_id}/recording/resume"),
    ("POST", "/v1/interactions/{ix_id}/cancel"),
    ("POST", "/v1/interactions/{ix_id}/consult/hold"),
    ("POST", "/v1/interactions/{ix_id}/consult/resume"),
    ("POST", "/v1/interactions/{ix_id}/consult/transfer"),
    ("DELETE", "/v1/interactions/{ix_id}/consult"),
    ("POST", "/v1/interactions/{ix_id}/conference"),
    ("DELETE", "/v1/interactions/{ix_id}/conference"),
    ("POST", "/v1/agents/{agent_id}/campaign-contact/skip"),
    ("POST", "/v1/agents/{agent_id}/campaign-contact/call"),
    ("DELETE", "/v1/campaigns/{campaign_id}"),
}
NO_TOKEN = None
INTRUDERS = {
    "bad token": "Bearer not-a-token",
    "another agent (bob)": "Bearer demo-bob-token",
    "another tenant's agent (gina)": "Bearer demo-gina-token",
    "another tenant's supervisor": "Bearer demo-globex-supervisor-token",
    "another tenant's admin": "Bearer demo-globex-admin-token",
    "a third tenant's agent (beth)": "Bearer test-beth-token",
}
SAME_TENANT = {"another agent (bob)", "bad token"}


@pytest.mark.spec("SEC-1")
async def test_given_a_call_when_intruders_try_every_endpoint_then_refused_and_nothing_changes(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    routes = api_routes(RUN_DIR / "test.toml")
    assert ("POST", "/v1/interactions/{ix_id}/end") in routes and len(routes) >= 15
    await phones.agent("1011", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-gina-token", "gina") as gina,
        Desktop(stack.url, "demo-globex-supervisor-token") as globex_supervisor,
    ):
        await bob.login("1002")
        await gina.login("1011")
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15552220001", answer_after_ms=200
        )
        ix_id, phone, customer = call.ix_id, call.phone, call.customer
        ids = {"agent_id": "alice", "ix_id": ix_id}
        leak_markers = ["+15552220001", "Acme Support", "Alice Able", '"state": "connected"']
        leak_markers.append('"status": "connected"')

        tokens = [h.removeprefix("Bearer ") for h in INTRUDERS.values()]
        await warm_up_reads(stack.url, routes, tokens, lambda t: concrete(t, ids, default=ix_id))
        redis_before = await redis_state(stack.redis.url, DC_PREFIX)
        asterisk_before = await asterisk_state(ari)
        alice_before = await alice.me()
        tried, body_unknown = 0, []
        async with aiohttp.ClientSession() as http:
            for method, template in routes:
                if (method, template) in PUBLIC:
                    continue
                path = concrete(template, ids, default=ix_id)  # (a new parameter)
                has_target = "{" in template
                body = VALID_BODIES.get((method, template), {})
                known = (method, template) in VALID_BODIES.keys() | NO_BODY or method == "GET"
                if not known:  # a new endpoint: its body may be refused first
                    body_unknown.append(f"{method} {template}")
                # Every API call is authenticated.
                status, answer = await _call(
                    http, stack.url, method, path, body, authorization=NO_TOKEN
                )
                assert status == 401, (method, template, "no token", status, answer)
                assert answer["error_id"] == "unauthorized"
                tried += 1
                for who, header in INTRUDERS.items():
                    status, answer = await _call(
                        http, stack.url, method, path, body, authorization=header
                    )
                    tried += 1
                    where = (method, template, who, status, answer)
                    if who == "bad token":
                        assert status == 401, where
                    elif has_target:
                        # Alice's state or call: another agent or tenant is refused.
                        assert status in ((403, 404) if known else (400, 403, 404)), where
                    else:
                        # Tenant-wide endpoints answer for the caller's own tenant only.
                        assert status < 500, where
                    # No data of Alice's call or state comes back (the IDs the
                    # caller sent may be named in an error).
                    text = json.dumps(answer)
                    assert not any(m in text for m in leak_markers), where
                    if who not in SAME_TENANT and status < 400:
                        assert "alice" not in text and '"acme"' not in text, where
                    if who == "another agent (bob)" and status < 400:
                        assert "alice" not in text, where

        # Nothing changed: Redis, Asterisk, Alice's own view.
        redis_after = await redis_state(stack.redis.url, DC_PREFIX)
        assert redis_after == redis_before, differences(redis_before, redis_after)
        assert await asterisk_state(ari) == asterisk_before
        assert await alice.me() == alice_before
        print(f"SEC-1: {len(routes)} routes, {tried} refused requests, nothing changed")
        if body_unknown:
            print(f"SEC-1: add a valid body to VALID_BODIES for: {', '.join(body_unknown)}")

        # Nothing crosses tenants on the event streams either: Acme's events
        # (the hold below) reach no Globex desktop; Gina's own change does.
        await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        await alice.event("interaction.held")
        await gina.available()
        await gina.state_event("available")
        await globex_supervisor.state_event("available")
        for desktop in (gina, globex_supervisor):
            tenants = {e.get("tenant") for e in desktop.events}
            assert tenants == {"globex"}, tenants
            assert ix_id not in json.dumps(desktop.events)
        # Bob (same tenant, an agent) saw nothing of Alice's either.
        assert all(e.get("agent") == "bob" for e in bob.events if e["type"] != "hello")
        await gina.idle("break")

        # The rightful caller still can: the IDs used above were the right ones.
        await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        await alice.end(ix_id)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        await customer.wait_for("closed")
        await phone.wait_for("closed")


async def _call(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    body: Any,
    *,
    authorization: str | None,
) -> tuple[int, Any]:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.request(method, f"{base}{path}", json=body, headers=headers) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
