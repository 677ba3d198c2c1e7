"""A hang-up at every moment of a consult and a conference (CO-4, CO-5, CO-6,
CF-5, CF-6, CF-7): each party (the customer, agent 1, agent 2) hangs up the
phone in each state (the consult waiting in a queue or ringing, consulting,
consult_held, conference). Afterwards the agents are where the rules put
them, and nothing is left behind: no channel, no bridge, no reserved agent,
no limit slot, no consult request in a queue."""

from __future__ import annotations

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack
from tests.support.consults import (
    nothing_left_behind,
    of,
    path_carries,
    queued_members,
    slots_used,
    talkers,
)
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory
from tests.support.scenes import Call, available_agent, connected_call, consulting

pytestmark = pytest.mark.integration

PARTIES = ("customer", "agent1", "agent2")
STATES = ("queued", "ringing", "consulting", "consult_held", "conference")
# Nobody answers a consult that waits in a queue: agent 2 has no phone yet.
CASES = [(p, s) for s in STATES for p in PARTIES if not (s == "queued" and p == "agent2")]


async def given_state(
    stack: Stack, phones: PhoneFactory, ari: AriClient, desks: tuple[Desktop, Desktop], state: str
) -> tuple[Call, Phone | None, str | None]:
    """The customer with alice (agent 1), and a consult in `state`; bob is
    agent 2 (for `queued`: the consult waits in bob's queue, bob is idle)."""
    alice, bob = desks
    call = await connected_call(phones, ari, alice, "1001")
    ix = call.ix_id
    if state == "queued":
        await bob.login("1002")  # idle: the request waits
        await alice.call(
            "POST", f"/v1/interactions/{ix}/consult", {"kind": "queue", "target": "support"}
        )
        requested = (await alice.event("interaction.consult_requested"))["data"]
        assert requested["consult"]["state"] == "queued"
        assert requested["consult"]["channel"] in await queued_members(stack.redis.url)
        return call, None, None
    phone2 = await available_agent(phones, bob, "1002")
    c = await consulting(call, phone2, bob, "bob", answer=state != "ringing")
    if state == "consult_held":
        await alice.call("POST", f"/v1/interactions/{ix}/resume")
    elif state == "conference":
        await alice.call("POST", f"/v1/interactions/{ix}/conference")
    view = await alice.call("GET", f"/v1/interactions/{ix}/consult")
    assert view["consult"]["state"] == state
    return call, phone2, c.leg


@pytest.mark.spec("CO-4", "CO-5", "CO-6", "CF-5", "CF-6", "CF-7", "LIM-3")
@pytest.mark.parametrize(("party", "state"), CASES, ids=[f"{p}-{s}" for p, s in CASES])
async def test_given_consult_state_when_a_party_hangs_up_then_nothing_is_left_behind(
    stack: Stack, ari: AriClient, phones: PhoneFactory, party: str, state: str
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call, phone2, leg = await given_state(stack, phones, ari, (alice, bob), state)
        ix = call.ix_id
        assert await slots_used(stack.redis.url) == 1

        if party == "customer":
            await call.customer.hangup()
        elif party == "agent1":
            await call.phone.hangup()
        else:
            assert phone2 is not None
            await phone2.hangup()  # (rejects the consult while it rings)

        if party in ("customer", "agent1"):
            # CO-4, CO-6, CF-6, CF-7: the interaction ends for everyone
            ended = (await alice.event("interaction.ended", of(ix)))["data"]
            expected = "customer_hangup" if party == "customer" else "agent_hangup"
            assert ended["end_cause"] == expected and ended["legs"] == []
            for phone in (call.customer, call.phone, phone2):
                if phone is not None and phone.current_call is not None:
                    await phone.wait_for("closed")
            assert (await alice.state_event("wrap_up"))["data"]["previous"] == "connected"
            if state != "queued":
                # agent 2 is out without wrap-up, back where they were
                back = (await bob.state_event("available"))["data"]
                assert back["previous"] == ("reserved" if state == "ringing" else "connected")
            await alice.wrap_up(ix, "resolved")
        else:
            # CO-5, CF-5: agent 2 is out; the call goes on between agent 1 and the customer
            ended = (await alice.event("interaction.consult_ended"))["data"]
            if state == "ringing":
                assert ended["reason"] == "failed" and ended["outcome"] == "busy"  # 486
                # RONA-1: a rejected consult offer counts as not taken
                await bob.state_event("rona")
                await bob.available()
            else:
                assert ended["reason"] == "left" and ended["was"] == state
                assert (await bob.state_event("available"))["data"]["previous"] == "connected"
            assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}
            assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is False
            await path_carries(call.customer, [call.phone], [])
            assert await slots_used(stack.redis.url) == 1
            await call.customer.hangup()
            await alice.event("interaction.ended", of(ix))
            await alice.state_event("wrap_up")
            await alice.wrap_up(ix, "resolved")

        assert not [e for e in bob.events if e["data"].get("state") == "wrap_up"]
        await nothing_left_behind(ari, stack.redis.url)
        assert leg is None or leg not in {c["id"] for c in await ari.channels()}
