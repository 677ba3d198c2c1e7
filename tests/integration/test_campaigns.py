"""Preview campaigns end to end (PC-1..PC-4, LIM-2): campaigns from the
configuration and the admin API; agents of an assigned team fetch contacts
(never the same one twice), skip or call them; the call rings the agent's
phone, then the contact with the campaign's ANI; a failed call makes the
contact callable again; the call guide's answers are stored with the call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.store import Store
from controlplane.domain.interaction import now_ms
from tests.integration.conftest import Stack
from tests.integration.test_outdial import header, of, pstn_call, slots
from tests.support.asterisk import AmiEvents, wait_until
from tests.support.constants import BUSY, ECHO
from tests.support.constants import OTHER_ANI as CAMPAIGN_ANI
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


def campaign(cid: str, *numbers: str, guide: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cid,
        "name": f"Campaign {cid}",
        "dial_mode": "preview",
        "teams": ["tier1"],
        "ani": CAMPAIGN_ANI,
        "contacts": [
            {"id": f"k{i}", "name": f"Contact {i}", "number": n, "details": {"Order": f"O-{i}"}}
            for i, n in enumerate(numbers, 1)
        ],
    }
    if guide is not None:
        body["call_guide"] = guide
    return body


async def fetch(desk: Desktop, agent: str, body: dict[str, Any] | None = None) -> Any:
    return await desk.call("POST", f"/v1/agents/{agent}/campaign-contact", body or {})


async def expect_error(call: Any, status: int, rule: str | None = None) -> dict[str, Any]:
    with pytest.raises(ApiError) as err:
        await call
    assert err.value.status == status, err.value.body
    if rule is not None:
        assert err.value.body["details"]["rule"] == rule, err.value.body
    result: dict[str, Any] = err.value.body
    return result


@pytest.mark.spec("PC-1", "PC-2")
async def test_given_assigned_agents_when_they_fetch_contacts_at_once_then_never_the_same_and_skip_shows_the_next(  # noqa: E501
    stack: Stack,
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-carol-token", "carol") as carol,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        # PC-1: the configuration's campaign, seen by its teams only
        listed = (await alice.call("GET", "/v1/campaigns"))["campaigns"]
        assert [c["id"] for c in listed] == ["renewals"]
        assert listed[0]["dial_mode"] == "preview" and listed[0]["ani"] == CAMPAIGN_ANI
        assert listed[0]["contacts"]["ready"] == 3 and listed[0]["call_guide"] is True
        assert (await carol.call("GET", "/v1/campaigns"))["campaigns"] == []
        # the admin API: create, refuse a duplicate, a loop in the guide, a bad number
        loop = {"start": "a", "questions": {"a": {"text": "A?", "answers": {"x": "a"}}}}
        await expect_error(
            admin.call("POST", "/v1/campaigns", campaign("bad", ECHO, guide=loop), expect=201),
            400,
        )
        await expect_error(
            admin.call("POST", "/v1/campaigns", campaign("ext", "+18005550100"), expect=201),
            400,
            "DN-3",
        )
        await expect_error(
            alice.call("POST", "/v1/campaigns", campaign("mine", ECHO), expect=201), 403, "PC-1"
        )
        created = await admin.call("POST", "/v1/campaigns", campaign("spring", ECHO), expect=201)
        assert created["contacts"]["total"] == 1
        await expect_error(
            admin.call("POST", "/v1/campaigns", campaign("spring", ECHO), expect=201),
            409,
            "PC-1",
        )
        full = await admin.call("GET", "/v1/campaigns/renewals")
        assert [c["id"] for c in full["contact_list"]] == ["c1", "c2", "c3"]

        # PC-2: only available agents of an assigned team
        await alice.login("1001")
        await bob.login("1002")
        await carol.login("1003")
        await expect_error(fetch(alice, "alice", {"campaign": "renewals"}), 409, "PC-2")
        await carol.available()
        await expect_error(fetch(carol, "carol", {"campaign": "renewals"}), 409, "PC-2")
        await alice.available()
        await bob.available()

        # two agents at once never get the same contact
        a, b = await asyncio.gather(
            fetch(alice, "alice", {"campaign": "renewals"}),
            fetch(bob, "bob", {"campaign": "renewals"}),
        )
        got = {a["contact"]["id"], b["contact"]["id"]}
        assert got == {"c1", "c2"}
        assert a["campaign"]["id"] == "renewals" and a["contact"]["details"]["Contract"]
        # fetching again shows the same preview
        assert (await fetch(alice, "alice", {"campaign": "renewals"}))["contact"] == a["contact"]
        current = await alice.call("GET", "/v1/agents/alice/campaign-contact")
        assert current["contact"] == a["contact"] and current["campaign"] == a["campaign"]
        # skip: the next contact (c3); the skipped one goes to the end of the list
        skipped = await alice.call("POST", "/v1/agents/alice/campaign-contact/skip")
        assert skipped["contact"]["id"] == "c3"
        again = await alice.call("POST", "/v1/agents/alice/campaign-contact/skip")
        assert again["contact"]["id"] == a["contact"]["id"]
        state = await admin.call("GET", "/v1/campaigns/renewals")
        assert state["contacts"]["previewing"] == 2 and state["contacts"]["ready"] == 1


@pytest.mark.spec("PC-3", "PC-4", "OD-3", "OD-4")
async def test_given_previewed_contact_when_agent_calls_then_phone_rings_contact_sees_campaign_ani_and_guide_answers_are_stored(  # noqa: E501
    stack: Stack, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=300)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await alice.login("1001")
        await alice.available()
        preview = await fetch(alice, "alice", {"campaign": "renewals"})
        assert preview["contact"]["id"] == "c1" and preview["contact"]["number"] == ECHO

        ix = await alice.call("POST", "/v1/agents/alice/campaign-contact/call", expect=201)
        assert ix["kind"] == "campaign" and ix["status"] == "ringing"
        assert ix["label"] == "Campaign: Contract renewals" and ix["ani"] == CAMPAIGN_ANI
        offer = (await alice.event("interaction.offered", of(ix["id"])))["data"]
        assert offer["campaign"] == "renewals" and offer["contact"] == "c1"
        await phone.wait_for("established")
        sim = await pstn_call(ami_events)
        assert header(sim, "CallerIDNum") == {CAMPAIGN_ANI}
        await alice.event("interaction.connected", of(ix["id"]))

        async def done() -> bool:
            state = await admin.call("GET", "/v1/campaigns/renewals")
            return bool({c["id"]: c["state"] for c in state["contact_list"]}["c1"] == "done")

        await wait_until(done, what="contact c1 done")

        # PC-4: the guide; a walk that does not follow it is refused
        guide_path = f"/v1/interactions/{ix['id']}/call-guide"
        guide = await alice.call("GET", guide_path)
        assert guide["guide"]["start"] == "renew" and guide["submitted"] is None
        wrong = [
            ([{"question": "renew", "answer": "maybe"}], "PC-4"),
            ([{"question": "plan", "answer": "gold"}], "PC-4"),
            ([{"question": "renew", "answer": "yes"}], "PC-4"),  # not complete
            (
                [
                    {"question": "renew", "answer": "yes"},
                    {"question": "why", "answer": "price"},
                ],
                "PC-4",
            ),
        ]
        for answers, rule in wrong:
            await expect_error(alice.call("PUT", guide_path, {"answers": answers}), 400, rule)
        answers = [{"question": "renew", "answer": "no"}, {"question": "why", "answer": " price "}]
        stored = await alice.call("PUT", guide_path, {"answers": answers})
        assert stored["submitted"]["answers"] == [
            {"question": "renew", "text": "Does the customer want to renew?", "answer": "no"},
            {"question": "why", "text": "Why not?", "answer": "price"},
        ]
        await alice.end(ix["id"])
        await alice.wrap_up(ix["id"], "resolved")
        assert (await admin.call("GET", guide_path))["submitted"]["submitted_by"] == "alice"
        # after the wrap-up the answers can no longer change
        await expect_error(alice.call("PUT", guide_path, {"answers": answers}), 409, "PC-4")


@pytest.mark.spec("PC-3", "LIM-2", "OD-5")
async def test_given_contact_not_reached_or_limit_full_when_agent_calls_then_contact_stays_callable(
    stack: Stack, phones: PhoneFactory
) -> None:
    await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        await admin.call("POST", "/v1/campaigns", campaign("busy", BUSY), expect=201)
        await alice.login("1001")
        await alice.available()
        await alice.state_event("available")
        assert (await fetch(alice, "alice", {"campaign": "busy"}))["contact"]["id"] == "k1"
        ix = await alice.call("POST", "/v1/agents/alice/campaign-contact/call", expect=201)
        failed = (await alice.event("interaction.outdial_failed", of(ix["id"])))["data"]
        assert failed["outcome"] == "busy" and failed["campaign"] == "busy"
        await alice.state_event("available")
        # the failed contact is callable again, at its place
        assert (await admin.call("GET", "/v1/campaigns/busy"))["contacts"]["ready"] == 1
        assert (await fetch(alice, "alice", {"campaign": "busy"}))["contact"]["id"] == "k1"

        # LIM-2: with the tenant at its limit the call is refused with 27; the
        # agent keeps the preview
        store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
        try:
            for i in range(20):
                await store.admit(
                    f"other-{i}",
                    "acme",
                    dc_limit=50,
                    tenant_limit=20,
                    now=now_ms(),
                    lease_ms=60_000,
                )
            body = await expect_error(
                alice.call("POST", "/v1/agents/alice/campaign-contact/call", expect=201),
                409,
                "LIM-2",
            )
            assert body["details"]["code"] == 27 and body["details"]["text"]
            preview = await alice.call("GET", "/v1/agents/alice/campaign-contact")
            assert preview["contact"]["id"] == "k1"
            assert (await alice.me())["state"] == "available"
            for i in range(20):
                await store.release(f"other-{i}", "acme")
        finally:
            await store.close()
        assert await slots(stack, "acme") == 0
