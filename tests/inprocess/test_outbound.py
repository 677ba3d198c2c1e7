"""Outdial, callback and the concurrent-call limits in-process: the agent's
leg first, then the customer's, with the caller ID and ring times the
service asks for; refusals with codes 26 and 27."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.inprocess.conftest import RING_SECONDS, Service, StartService
from tests.inprocess.scenes import available, connected_call, of
from tests.support.constants import DC_PREFIX, DEFAULT_ANI, OTHER_ANI, SUPPORT
from tests.support.constants import ECHO as NUMBER
from tests.support.desktop import ApiError, Desktop
from tests.support.fake_ari import Far

pytestmark = pytest.mark.inprocess


async def outdial(desktop: Desktop, agent: str, expect: int = 201, **body: Any) -> Any:
    return await desktop.call("POST", f"/v1/agents/{agent}/outdial", body, expect=expect)


@pytest.mark.spec("OD-1", "OD-3", "OD-4", "OD-7")
async def test_outdial_rings_the_agent_first_then_dials_the_customer_with_the_chosen_ani(
    service: Service,
) -> None:
    fake = service.ari
    phone = service.agent_endpoint("1001")
    customer_end = service.number_endpoint(NUMBER)
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.idle("break")
        await alice.state_event("idle")
        ix = await outdial(alice, "alice", number="+1 (555) 100-0000", ani=OTHER_ANI)
        ix_id = ix["id"]
        assert ix["direction"] == "outbound" and ix["kind"] == "outdial"
        assert ix["status"] == "ringing" and ix["dnis"] == NUMBER and ix["ani"] == OTHER_ANI
        assert (await alice.state_event("reserved"))["data"]["previous"] == "idle"

        # OD-4: the agent's phone rings first; the customer is not dialled yet
        agent_leg = await fake.ringing(phone)
        assert agent_leg.args == ["agent", ix_id]
        assert not fake.originated(customer_end)
        (ring_agent,) = fake.originated(phone)
        assert ring_agent.params["timeout"] == str(RING_SECONDS)

        # the agent answers: ringback for the agent, the customer dialled with the ANI
        fake.far_answer(agent_leg.id)
        dialing = (await alice.event("interaction.dialing", of(ix_id)))["data"]
        assert dialing["status"] == "dialing"
        customer = await fake.ringing(customer_end)
        assert customer.args == ["outbound", ix_id]
        (ring_customer,) = fake.originated(customer_end)
        assert OTHER_ANI in ring_customer.params["callerId"]  # OD-3
        assert ring_customer.params["timeout"] == str(RING_SECONDS)
        assert fake.sent("POST", f"/channels/{agent_leg.id}/ring")
        assert (await alice.me())["state"] == "reserved"

        # the customer answers: both in the interaction's bridge, ringback stopped
        fake.far_answer(customer.id)
        connected = (await alice.event("interaction.connected", of(ix_id)))["data"]
        assert connected["status"] == "connected"
        await alice.state_event("connected")
        assert sorted(fake.call_bridge(ix_id).channels) == sorted([agent_leg.id, customer.id])
        assert fake.sent("DELETE", f"/channels/{agent_leg.id}/ring")

        # the customer hangs up; OD-7: acme's agents go back to their state before
        fake.far_hangup(customer.id)
        ended = (await alice.event("interaction.ended", of(ix_id)))["data"]
        assert ended["end_cause"] == "customer_hangup"
        await alice.state_event("wrap_up")
        record = await alice.wrap_up(ix_id, "resolved")
        assert record["state"] == "idle" and record["reason"] == "break"


@pytest.mark.spec("OD-5")
async def test_outdial_to_a_busy_customer_ends_the_attempt_and_frees_the_agent(
    service: Service,
) -> None:
    fake = service.ari
    fake.script(service.agent_endpoint("1001"), Far.ANSWER)
    fake.script(service.number_endpoint(NUMBER), Far.BUSY)
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await available(alice, "1001")
        ix = await outdial(alice, "alice", number=NUMBER)
        await alice.event("interaction.dialing", of(ix["id"]))
        failed = (await alice.event("interaction.outdial_failed", of(ix["id"])))["data"]
        assert failed["outcome"] == "busy" and failed["rule"] == "OD-5"
        assert failed["message"] and failed["number"] == NUMBER
        ended = (await alice.event("interaction.ended", of(ix["id"])))["data"]
        assert ended["end_cause"] == "not_connected" and ended["last_outcome"] == "busy"
        # the agent's leg is hung up; the agent is available again, not in wrap-up
        back = await alice.state_event("available")
        assert back["data"]["previous"] == "reserved"
        assert not fake.leftovers()
        # the Local leg ended with cause 0: the Dial status told "busy"
        (destroyed,) = fake.of_kind("ChannelDestroyed", f"{ix['id']}-o1")
        assert destroyed["cause"] == 0


@pytest.mark.spec("CB-1", "CB-2", "CB-3")
async def test_callback_rings_the_agent_then_dials_the_customer_and_connects_them(
    service: Service,
) -> None:
    fake = service.ari
    customer_end = service.number_endpoint(NUMBER)
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-admin-token") as admin,
    ):
        await available(alice, "1001")
        created = await admin.call(
            "POST",
            "/v1/callbacks",
            {"number": NUMBER, "queue": "support", "variables": {"case_number": "42"}},
            expect=201,
        )
        ix_id = created["id"]
        assert created["kind"] == "callback" and created["dnis"] == SUPPORT

        # CB-2: offered like a call, labelled as a callback; the customer waits
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["interaction_id"] == ix_id and offer["kind"] == "callback"
        assert offer["label"] == "Callback: Acme Support"
        values = {v["name"]: v["value"] for v in offer["variables"]}
        assert values["case_number"] == "42"
        agent_leg = await fake.ringing(service.agent_endpoint("1001"))
        assert not fake.originated(customer_end)

        # the agent answers: the customer is dialled with the tenant's ANI
        fake.far_answer(agent_leg.id)
        dialing = (await alice.event("interaction.dialing"))["data"]
        assert dialing["id"] == ix_id and dialing["attempts"] == 1
        customer = await fake.ringing(customer_end)
        assert customer.id == f"{ix_id}-c1" and customer.args == ["customer", ix_id]
        assert DEFAULT_ANI in fake.originated(customer_end)[0].params["callerId"]
        assert (await alice.me())["state"] == "reserved"

        # CB-3: the customer answers: both bridged, the agent connected
        fake.far_answer(customer.id)
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["id"] == ix_id and connected["kind"] == "callback"
        await alice.state_event("connected")
        assert sorted(fake.call_bridge(ix_id).channels) == sorted([agent_leg.id, customer.id])
        ended = await alice.end(ix_id)
        assert ended["end_cause"] == "agent_end"
        await alice.state_event("wrap_up")
        assert not fake.leftovers()
        assert (await alice.wrap_up(ix_id, "resolved"))["state"] == "available"


def _limits(tenant: int, datacenter: int) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["tenants"]["acme"]["max_concurrent_calls"] = tenant
        data["datacenters"]["dc1"]["max_concurrent_calls"] = datacenter

    return change


@pytest.mark.spec("LIM-1", "LIM-2")
@pytest.mark.parametrize(
    ("tenant_limit", "dc_limit", "code"),
    [(1, 50, 27), (20, 1, 26)],
    ids=["tenant-full", "datacenter-full"],
)
async def test_a_call_over_a_full_limit_is_refused_with_its_code(
    start_service: StartService, tenant_limit: int, dc_limit: int, code: int
) -> None:
    service = await start_service(_limits(tenant_limit, dc_limit))
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-bob-token", "bob") as bob,
        Desktop(service.url, "demo-supervisor-token") as supervisor,
    ):
        call = await connected_call(service, alice, "1001")  # holds the one slot
        await available(bob, "1002")

        # LIM-2: a customer calling in is refused at the entry point
        second = fake.customer_calls(SUPPORT, "+15550000501")
        refused = (await supervisor.event("interaction.refused"))["data"]
        assert refused["code"] == code and refused["rule"] == "LIM-2" and refused["text"]
        await fake.wait_for("the refused call hung up", lambda: second not in fake.channels_by_id)
        assert fake.sent("DELETE", f"/channels/{second}")[0].params["reason"] == "congestion"
        assert not fake.sent("POST", f"/channels/{second}/answer")
        # ... and leaves nothing in Redis: no record, variables, index or queue entry
        redis = aioredis.Redis.from_url(service.config.service.redis_url, decode_responses=True)
        try:
            ix_key = f"{DC_PREFIX}ix:{refused['id']}"
            assert not await redis.exists(ix_key, f"{ix_key}:vars", f"{DC_PREFIX}chan:{second}")
            assert await redis.zscore(f"{DC_PREFIX}queue:acme:support", refused["id"]) is None
            assert not await redis.sismember(f"{DC_PREFIX}active", refused["id"])
        finally:
            await redis.aclose()

        # ... and so is an outdial: nothing is dialled
        with pytest.raises(ApiError) as over:
            await outdial(bob, "bob", number=NUMBER)
        assert over.value.status == 409
        details = over.value.body["details"]
        assert details["rule"] == "LIM-2" and details["code"] == code
        assert not fake.originated(service.number_endpoint(NUMBER))
        assert not fake.originated(service.agent_endpoint("1002"))
        assert (await bob.me())["state"] == "available"

        # LIM-1: the slot is free again after the call
        fake.far_hangup(call.customer)
        await alice.event("interaction.ended")
        await alice.wrap_up(call.ix_id, "resolved")
        fake.script(service.agent_endpoint("1002"), Far.ANSWER)
        fake.script(service.number_endpoint(NUMBER), Far.ANSWER)
        ix = await outdial(bob, "bob", number=NUMBER)
        await bob.event("interaction.connected", of(ix["id"]))
        await bob.end(ix["id"])
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix["id"], "resolved")


@pytest.mark.spec("CB-1", "CB-2")
async def test_caller_pressing_the_callback_key_is_hung_up_after_a_prompt_and_called_back(
    service: Service,
) -> None:
    fake = service.ari
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as supervisor,
    ):
        customer = fake.customer_calls(SUPPORT, NUMBER)
        queued = (await supervisor.event("interaction.queued"))["data"]
        fake.far_dtmf(customer, "1")  # support's callback key
        # the call ends, the caller hears the confirmation, then is hung up
        ended = (await supervisor.event("interaction.ended", of(queued["id"])))["data"]
        assert ended["end_cause"] == "callback_requested"
        callback = (await supervisor.event("interaction.queued"))["data"]
        assert callback["kind"] == "callback" and callback["ani"] == NUMBER
        assert callback["entered_at"] == queued["entered_at"]  # keeps its place
        await fake.wait_for("the caller hung up", lambda: customer not in fake.channels_by_id)
        (play,) = fake.sent("POST", f"/channels/{customer}/play")
        assert play.params["media"].startswith("sound:")
        (finished,) = fake.of_kind("PlaybackFinished")
        (hangup,) = fake.sent("DELETE", f"/channels/{customer}")
        assert hangup.at >= datetime.fromisoformat(finished["timestamp"]).timestamp()

        # an agent takes the callback: her phone first, then the customer's number
        fake.script(service.agent_endpoint("1001"), Far.ANSWER)
        fake.script(service.number_endpoint(NUMBER), Far.ANSWER)
        await available(alice, "1001")
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["id"] == callback["id"] and connected["kind"] == "callback"
        await alice.end(callback["id"])
        await alice.state_event("wrap_up")
        await alice.wrap_up(callback["id"], "resolved")
