"""Consult (CO-1..CO-6, HOLD-3) with three real SIP phones: the customer,
the consulting agent (agent 1) and the consulted agent (agent 2).

The consult rows of the product's role table ("Beratungsanruf einleiten":
customer, agent 1, agent 2) are tests named `test_consult_row_<role>_...`."""

from __future__ import annotations

import pytest

import devstack
from controlplane.adapters.ari import AriClient
from tests.integration.conftest import (
    CONSULT_VARIABLES,
    TRANSFER_RING_SECONDS,
    Stack,
    app_owned,
)
from tests.support.asterisk import AmiEvents, audio_flows, wait_until
from tests.support.consults import (
    nothing_left_behind,
    of,
    path_carries,
    phone_idle,
    queued_members,
    refused,
    snapshot,
    state_of,
    talkers,
)
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import (
    available_agent,
    connected_call,
    consulting,
    request_consult,
    three_parties,
)

pytestmark = pytest.mark.integration


@pytest.mark.spec("CO-1", "CO-2", "CO-3", "HOLD-3", "CO-4", "CO-5")
async def test_given_connected_call_when_agent_consults_an_agent_then_customer_held_and_agents_talk(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-admin-token") as flow,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        await flow.call(
            "PUT", f"/v1/interactions/{ix}/flow-variables", {"variables": {"customer_name": "Ada"}}
        )
        bob_phone = await available_agent(phones, bob, "1002")
        ami_events.events.clear()

        # CO-1, HOLD-3: the consult rings agent 2; the customer is held at once.
        view = await request_consult(alice, ix, "agent", "bob")
        assert view["consult"]["state"] == "ringing" and view["consult"]["agent"] == "bob"
        assert view["customer"]["state"] == "held" and view["role"] == "consulting_agent"
        await ami_events.wait_for(
            "MusicOnHoldStart", lambda e: e.get("Uniqueid") == call.customer_leg
        )
        await call.customer.wait_for_audio()  # the music
        assert await talkers(ari, ix) == {call.agent_leg}
        offer = (await bob.event("interaction.consult_offered"))["data"]
        incoming = await bob_phone.wait_for("incoming")
        assert incoming.peer_number == "1001"  # the consulting agent's directory number
        await bob.state_event("reserved")

        # CO-2: at most nine variables: agent 1's name, directory number and
        # team, then the six the flow configures, with their current values.
        variables = offer["variables"]
        assert len(variables) == 9
        assert [v["name"] for v in variables] == [
            "consulting_agent_name",
            "consulting_agent_dn",
            "consulting_agent_team",
            *CONSULT_VARIABLES,
        ]
        values = {v["name"]: v["value"] for v in variables}
        assert values["consulting_agent_name"] == "Alice Able"
        assert values["consulting_agent_dn"] == "1001"
        assert values["consulting_agent_team"] == "Tier 1"
        assert values["customer_name"] == "Ada" and values["vip"] == "false"
        assert offer["from_agent"] == "alice" and offer["interaction_id"] == ix

        # CO-3: agent 2 answers: agents 1 and 2 talk in the consult's bridge,
        # the customer (out of every bridge) hears music.
        await bob_phone.answer()
        connected = (await alice.event("interaction.consult_connected"))["data"]
        leg = connected["consult"]["channel"]
        assert connected["consult"]["state"] == "consulting"
        assert connected["customer"]["state"] == "held"
        await bob.event("interaction.consult_connected")
        await bob.state_event("connected")
        await bob_phone.wait_for("established")
        assert await talkers(ari, f"{leg}-bridge") == {call.agent_leg, leg}
        assert await talkers(ari, ix) == set()
        assert await audio_flows(ari, [call.agent_leg, leg])
        await path_carries(call.phone, [bob_phone], [])
        await path_carries(bob_phone, [call.phone], [])

        # CO-3, HOLD-3: resuming the customer holds agent 2 (music), and back.
        view = await alice.call("POST", f"/v1/interactions/{ix}/resume")
        assert view["held"] is False
        seen = await alice.call("GET", f"/v1/interactions/{ix}/consult")
        assert (
            seen["consult"]["state"] == "consult_held" and seen["customer"]["state"] == "connected"
        )
        assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}
        assert await talkers(ari, f"{leg}-bridge") == set()
        await ami_events.wait_for("MusicOnHoldStart", lambda e: e.get("Uniqueid") == leg)
        await bob_phone.wait_for_audio()  # the music
        await path_carries(call.customer, [call.phone], [])
        await path_carries(call.phone, [call.customer], [])
        await bob.event("interaction.consult_held")

        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/resume")
        assert view["consult"]["state"] == "consulting" and view["customer"]["state"] == "held"
        assert await talkers(ari, f"{leg}-bridge") == {call.agent_leg, leg}
        await path_carries(bob_phone, [call.phone], [])
        # the customer is held already; holding again is refused and changes nothing
        with pytest.raises(ApiError) as twice:
            await alice.call("POST", f"/v1/interactions/{ix}/hold")
        assert twice.value.status == 409 and twice.value.body["details"]["rule"] == "HOLD-1"
        assert await talkers(ari, f"{leg}-bridge") == {call.agent_leg, leg}

        # CO-5: agent 2 ends (leaves) the consult, without wrap-up; agent 1 is
        # back with the customer, who is no longer held.
        view = await bob.call("DELETE", f"/v1/interactions/{ix}/consult")
        assert view["consult"] is None and view["customer"]["state"] == "connected"
        ended = (await alice.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "left" and ended["was"] == "consulting"
        await bob_phone.wait_for("closed")
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}
        await path_carries(call.customer, [call.phone], [])
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is False

        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix, "resolved")
        assert await state_of(bob) == "available"
        await nothing_left_behind(ari, stack.redis.url)


# The consult role table ("Beratungsanruf einleiten"): customer ---------------------


@pytest.mark.spec("CO-1", "SEC-1")
async def test_consult_row_customer_cannot_start_a_consult(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Ein Kunde kann keinen Beratungsanruf initiieren: the customer has only
    the phone (keys pressed start nothing), and only the interaction's agent
    may start a consult (a supervisor or the flow cannot either)."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        await call.customer.send_dtmf("1234*#")
        for other in (supervisor, admin):
            with pytest.raises(ApiError) as forbidden:
                await request_consult(other, call.ix_id, "agent", "bob")
            assert forbidden.value.status == 403
        view = await alice.call("GET", f"/v1/interactions/{call.ix_id}/consult")
        assert view["consult"] is None and view["customer"]["state"] == "connected"
        assert await talkers(ari, call.ix_id) == {call.customer_leg, call.agent_leg}
        await call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("HOLD-3", "CO-3")
async def test_consult_row_customer_is_held_while_agent_1_consults_agent_2(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    """Wenn Agent 1 mit Agent 2 berät, wird der Kunde gehalten."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is True
        # out of every bridge, hearing music; the agents talk in their own bridge
        bridged = {ch for b in await ari.bridges() for ch in b.get("channels", [])}
        assert c.call.customer_leg not in bridged
        await ami_events.wait_for(
            "MusicOnHoldStart", lambda e: e.get("Uniqueid") == c.call.customer_leg
        )
        await c.call.customer.wait_for_audio()
        assert await talkers(ari, f"{c.leg}-bridge") == {c.call.agent_leg, c.leg}
        # the customer hears music, not the agents: with the music the only
        # source, muting both agents changes nothing for the customer
        await c.call.phone.set_muted(True)
        await c.phone.set_muted(True)
        await c.call.customer.wait_for_audio()
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-6")
async def test_consult_row_customer_hangs_up_and_ends_the_interaction(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Der Kunde kann ein laufendes Gespräch mit Agent 1 beenden und damit die
    Interaktion beenden."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        await c.call.customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup" and ended["legs"] == []
        assert (await c.call.phone.wait_for("closed")).ended_by_peer
        assert (await c.phone.wait_for("closed")).ended_by_peer
        await alice.state_event("wrap_up")
        assert (await bob.event("interaction.consult_ended"))["data"]["reason"] == (
            "interaction_ended"
        )
        await bob.state_event("available")
        await nothing_left_behind(ari, stack.redis.url)


# The consult role table: agent 1 (the consulting agent) ----------------------------


@pytest.mark.spec("CO-1", "CO-4")
async def test_consult_row_agent_1_starts_and_ends_a_consult(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann einen Beratungsanruf initiieren und beenden. Ending an
    answered consult ("Beratung beenden") removes the customer and agent 2
    and opens agent 1's wrap-up; one that still rings is only cancelled."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        bob_phone = await available_agent(phones, bob, "1002")
        # CO-1: a consult that rings is cancelled; agent 1 is back with the customer.
        await request_consult(alice, ix, "agent", "bob")
        await bob.event("interaction.consult_offered")
        await bob_phone.wait_for("incoming")
        view = await alice.call("DELETE", f"/v1/interactions/{ix}/consult")
        assert view["consult"] is None and view["customer"]["state"] == "connected"
        assert (await bob.event("interaction.consult_ended"))["data"]["reason"] == "cancelled"
        assert (await bob.state_event("available"))["data"]["previous"] == "reserved"
        await bob_phone.wait_for("closed")
        assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}
        await path_carries(call.customer, [call.phone], [])
        # CO-4: an answered consult ended by agent 1 ends the call for all.
        await phone_idle(stack.redis.url, "1002")
        await consulting(call, bob_phone, bob, "bob")
        view = await alice.call("DELETE", f"/v1/interactions/{ix}/consult")
        assert view["status"] == "ended"
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "agent_end"
        assert (await call.customer.wait_for("closed")).ended_by_peer
        assert (await bob_phone.wait_for("closed")).ended_by_peer
        gone = (await bob.event("interaction.consult_ended"))["data"]
        assert gone["reason"] == "interaction_ended"
        await alice.state_event("wrap_up")
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("HOLD-3", "CO-3")
async def test_consult_row_agent_1_resumes_the_held_customer(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann einen Kundenanruf, der gehalten wird, fortsetzen (and agent 2
    is held meanwhile: never both talk with agent 1, never both held)."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        resumed = await alice.call("POST", f"/v1/interactions/{ix}/resume")
        assert resumed["held"] is False
        assert [leg["state"] for leg in resumed["legs"]] == ["consult_held"]
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg}
        await path_carries(c.call.customer, [c.call.phone], [c.phone])
        await c.phone.wait_for_audio()  # agent 2 hears music
        # holding the customer again goes back to agent 2
        held = await alice.call("POST", f"/v1/interactions/{ix}/hold")
        assert held["held"] is True and held["legs"][0]["state"] == "consulting"
        assert await talkers(ari, f"{c.leg}-bridge") == {c.call.agent_leg, c.leg}
        await path_carries(c.phone, [c.call.phone], [c.call.customer])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-3")
async def test_consult_row_agent_1_consults_and_holds_agent_2(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann sich mit Agent 2 beraten und Agent 2 halten."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await path_carries(c.call.phone, [c.phone], [c.call.customer])
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/hold")
        assert view["consult"]["state"] == "consult_held"
        assert view["customer"]["state"] == "connected"
        assert (await bob.event("interaction.consult_held"))["data"]["consult"]["state"] == (
            "consult_held"
        )
        await c.phone.wait_for_audio()  # music
        await path_carries(c.call.phone, [c.call.customer], [c.phone])
        await refused(alice, "POST", f"/v1/interactions/{ix}/consult/hold", "CO-3")
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/resume")
        assert view["consult"]["state"] == "consulting" and view["customer"]["state"] == "held"
        await path_carries(c.call.phone, [c.phone], [c.call.customer])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-4", "TR-6", "END-2")
async def test_consult_row_agent_1_transfers_to_agent_2_and_wraps_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann einen Anruf an Agent 2 übergeben: agent 1 is in wrap-up
    (and applies a reason while the call goes on), the call continues
    between agent 2 and the customer."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        assert view["agent"] == "bob" and view["consult"] is None
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        assert (await c.call.phone.wait_for("closed")).ended_by_peer
        moved = (await alice.event("interaction.transferred"))["data"]
        assert moved["from_agent"] == "alice" and moved["target"]["agent"] == "bob"
        assert await talkers(ari, ix) == {c.call.customer_leg, c.leg}
        await path_carries(c.call.customer, [c.phone], [])
        await path_carries(c.phone, [c.call.customer], [])
        # TR-6: agent 1 wraps up her part while the call goes on with agent 2
        record = await alice.wrap_up(ix, "resolved")
        assert record["state"] == "available"
        current = await bob.call("GET", f"/v1/interactions/{ix}")
        assert current["status"] == "connected" and current["agent"] == "bob"
        assert current["wrap_up_reason"] is None
        await c.call.customer.hangup()
        await bob.event("interaction.ended")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "follow_up")
        final = await bob.call("GET", f"/v1/interactions/{ix}")
        assert final["wrap_up_reason"] == "follow_up"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-1")
async def test_consult_row_agent_1_starts_a_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann ein Konferenzgespräch mit Agent 2 und einem Kunden starten."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        view = await alice.call("POST", f"/v1/interactions/{ix}/conference")
        assert view["consult"]["state"] == "conference"
        assert view["customer"]["state"] == "conference"
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg, c.leg}
        await path_carries(c.call.customer, [c.call.phone, c.phone], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-6", "END-2")
async def test_consult_row_agent_1_wraps_up_when_the_customer_hangs_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn ein Kunde einen Beratungsanruf abbricht, wird die Interaktion
    beendet, und agent 1 is in wrap-up."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await alice.state_event("wrap_up")
        record = await alice.wrap_up(c.call.ix_id, "resolved")
        assert record["state"] == "available"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-4", "END-1")
@pytest.mark.parametrize("how", ["phone", "end-button"])
async def test_consult_row_agent_1_ends_it_for_the_customer_and_agent_2(
    stack: Stack, ari: AriClient, phones: PhoneFactory, how: str
) -> None:
    """Agent 1 kann einen Beratungsanruf beenden, indem er auf die
    Schaltfläche Beratung beenden klickt oder den Telefonapparat auflegt. Der
    Kunde und Agent 2 werden aus dem Beratungsanruf entfernt."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        if how == "phone":
            await c.call.phone.hangup()
            cause = "agent_hangup"
        else:
            # END-1: the call's End is refused while the customer is held;
            # the consult's own end button ends it for everyone.
            await refused(alice, "POST", f"/v1/interactions/{ix}/end", "END-1")
            await alice.call("DELETE", f"/v1/interactions/{ix}/consult")
            cause = "agent_end"
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == cause
        assert (await c.call.customer.wait_for("closed")).ended_by_peer
        assert (await c.phone.wait_for("closed")).ended_by_peer
        await alice.state_event("wrap_up")
        await bob.state_event("available")
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


# The consult role table: agent 2 (the consulted agent) -----------------------------


@pytest.mark.spec("HOLD-3", "CO-3")
async def test_consult_row_agent_2_is_held_when_agent_1_resumes_the_customer(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    """Wenn Agent 1 das Gespräch mit dem Kunden wieder aufnimmt, wird Agent 2
    gehalten und der Kunde wird aus der Warteschleife genommen."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/resume")
        held = (await bob.event("interaction.consult_held"))["data"]
        assert held["consult"]["state"] == "consult_held"
        assert held["customer"]["state"] == "connected"
        await ami_events.wait_for("MusicOnHoldStart", lambda e: e.get("Uniqueid") == c.leg)
        bridged = {ch for b in await ari.bridges() for ch in b.get("channels", [])}
        assert c.leg not in bridged
        await c.call.phone.set_muted(True)
        await c.call.customer.set_muted(True)
        await c.phone.wait_for_audio()  # the music: nobody else can be heard
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-5")
async def test_consult_row_agent_2_cannot_resume_or_end_the_call(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann einen Beratungsanruf nicht fortsetzen oder beenden: the
    customer's call is not theirs to resume, hold or end (refused naming
    CO-5) and nothing changes."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        before = await snapshot(stack, ari)
        for action in ("resume", "hold", "end"):
            await refused(bob, "POST", f"/v1/interactions/{ix}/{action}", "CO-5")
        for path in ("consult/hold", "consult/resume", "consult/transfer", "conference"):
            await refused(bob, "POST", f"/v1/interactions/{ix}/{path}", "CO-5")
        assert await snapshot(stack, ari) == before
        view = await bob.call("GET", f"/v1/interactions/{ix}/consult")
        assert view["role"] == "consulted_agent" and view["consult"]["state"] == "consulting"
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-5", "END-2")
async def test_consult_row_agent_2_cannot_wrap_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann keinen Nachbearbeitungsgrund für einen Beratungsanruf
    anwenden: refused naming CO-5, during the consult and after it."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        body = {"reason": "resolved"}
        await refused(bob, "POST", f"/v1/interactions/{ix}/wrap-up", "CO-5", body)
        assert await state_of(bob) == "connected"
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await bob.state_event("available")  # out without wrap-up
        with pytest.raises(ApiError) as after:
            await bob.wrap_up(ix, "resolved")
        assert after.value.status == 403
        await alice.wrap_up(ix, "resolved")
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["wrap_up_reason"] == "resolved"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-5")
async def test_consult_row_agent_2_leaves_and_the_call_goes_on(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann einen Beratungsanruf beenden (Beratung beenden), und der
    Anruf wird zwischen Agent 1 und dem Kunden fortgesetzt."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        view = await bob.call("DELETE", f"/v1/interactions/{ix}/consult")
        assert view["consult"] is None
        ended = (await alice.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "left" and ended["by"] == "bob"
        await c.phone.wait_for("closed")
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg}
        await path_carries(c.call.phone, [c.call.customer], [])
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is False
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-4", "CO-5", "CAD-3")
async def test_consult_row_agent_2_accepts_a_transfer(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann während des Beratungsanrufs eine Übergabeanforderung von
    Agent 1 akzeptieren: agent 2 has the call from then on (holds it, edits
    its variables, ends it and wraps it up)."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        moved = (await bob.event("interaction.transferred"))["data"]
        assert moved["agent"] == "bob" and moved["from_agent"] == "alice"
        saved = await bob.call(
            "PATCH",
            f"/v1/interactions/{ix}/variables",
            {"variables": {"case_number": {"value": "77", "version": 0}}},
        )
        assert saved["can_edit"] is True
        held = await bob.call("POST", f"/v1/interactions/{ix}/hold")
        assert held["held"] is True
        await c.call.customer.wait_for_audio()  # music
        await bob.call("POST", f"/v1/interactions/{ix}/resume")
        await path_carries(c.phone, [c.call.customer], [])
        ended = await bob.end(ix)
        assert ended["end_cause"] == "agent_end"
        await c.call.customer.wait_for("closed")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "resolved")
        await alice.wrap_up(ix, "follow_up")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-1")
async def test_consult_row_agent_2_is_part_of_the_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn Agent 1 bei der Beratung von Agent 2 ein Konferenzgespräch
    startet, ist Agent 2 Teil des Konferenzgesprächs."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/conference")
        started = (await bob.event("interaction.conference_started"))["data"]
        assert started["consult"]["state"] == "conference"
        assert c.leg in await talkers(ari, ix)
        await path_carries(c.phone, [c.call.customer, c.call.phone], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-6")
async def test_consult_row_agent_2_leaves_without_wrap_up_when_the_customer_hangs_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn der Kunde einen Beratungsanruf abbricht, endet die Interaktion.
    Agent 2 wird ohne Nachbereitung aus dem Anruf geworfen."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        await c.call.customer.hangup()
        assert (await c.phone.wait_for("closed")).ended_by_peer
        change = (await bob.state_event("available"))["data"]
        assert change["previous"] == "connected"
        assert not [e for e in bob.events if e["data"].get("state") == "wrap_up"]
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


# REL-1: a consult survives the loss of the replica that owns the event stream -----


@pytest.mark.spec("REL-1", "CO-3", "CF-1", "CF-5")
async def test_given_consult_when_owner_replica_is_killed_then_the_consult_goes_on(
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    """The legs and their states are in the interaction's record in Redis and
    the legs have channel IDs of ours: another replica takes over and every
    consult action and hang-up still works."""
    async with (
        Desktop(standby.url, "demo-alice-token", "alice") as alice,
        Desktop(standby.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        stack.service.kill()  # the owner of the event stream dies
        await wait_until(lambda: app_owned(ari), timeout=10, what="a new owner")
        await path_carries(c.call.phone, [c.phone], [])  # audio never depended on it

        view = await alice.call("POST", f"/v1/interactions/{ix}/resume")
        assert view["held"] is False and view["legs"][0]["state"] == "consult_held"
        await path_carries(c.call.customer, [c.call.phone], [])
        view = await alice.call("POST", f"/v1/interactions/{ix}/conference")
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg, c.leg}
        # agent 2's phone hang-up reaches the new owner: agent 2 is out (CF-5)
        await c.phone.hangup()
        ended = (await alice.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "left" and ended["was"] == "conference"
        await bob.state_event("available")
        await path_carries(c.call.customer, [c.call.phone], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


# CO-1: consult targets --------------------------------------------------------------


@pytest.mark.spec("CO-1", "ST-2", "RONA-1", "RONA-2", "CO-2")
async def test_given_no_agent_available_when_consulting_a_queue_then_waits_cancellable_then_rings(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-carol-token", "carol") as carol,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        bob_phone = await phones.agent("1002", answer_after_ms=None)
        carol_phone = await phones.agent("1003", answer_after_ms=None)
        await bob.login("1002")
        await carol.login("1003")  # both idle: nobody of the vip queue is available

        # the request waits in the queue; the customer is held meanwhile
        view = await request_consult(alice, ix, "queue", "vip")
        assert view["consult"]["state"] == "queued" and view["customer"]["state"] == "held"
        request = view["consult"]["channel"]
        assert request in await queued_members(stack.redis.url)
        await call.customer.wait_for_audio()  # music
        # CO-1: cancellable while it waits: the request leaves the queue
        view = await alice.call("DELETE", f"/v1/interactions/{ix}/consult")
        assert view["consult"] is None and view["customer"]["state"] == "connected"
        assert await queued_members(stack.redis.url) == []
        assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}

        # again; ST-2: only an available agent of the queue is offered it
        await request_consult(alice, ix, "queue", "vip")
        await carol.available()
        offer = (await carol.event("interaction.consult_offered"))["data"]
        assert offer["queue"] == "vip" and offer["from_agent"] == "alice"
        assert len(offer["variables"]) == 9
        await carol_phone.wait_for("incoming")
        # RONA-1, RONA-2: carol does not answer: rona; the request waits again
        await carol.state_event("rona", timeout=TRANSFER_RING_SECONDS + 6)
        await carol_phone.wait_for("closed")
        waiting = await alice.call("GET", f"/v1/interactions/{ix}/consult")
        assert waiting["consult"]["state"] == "queued" and waiting["consult"]["agent"] is None
        await bob.available()
        await bob.event("interaction.consult_offered")
        await bob_phone.wait_for("incoming")
        await bob_phone.answer()
        connected = (await alice.event("interaction.consult_connected"))["data"]
        assert connected["consult"]["agent"] == "bob"
        await path_carries(bob_phone, [call.phone], [])
        await bob.call("DELETE", f"/v1/interactions/{ix}/consult")
        await bob.state_event("available")
        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await carol.available()
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-1", "CO-4", "DN-3")
async def test_given_connected_call_when_consulting_a_number_then_far_end_talks_and_can_take_over(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        path = f"/v1/interactions/{ix}/consult"
        for number in ("1002", "8005550100", "+1 800 555 0102"):  # extension, entry points
            await refused(alice, "POST", path, "DN-3", {"kind": "dial_number", "target": number})
        # +15551000000: echo
        view = await request_consult(alice, ix, "address_book", "Acme Billing")
        assert view["consult"]["number"] == "+15551000000"
        connected = (await alice.event("interaction.consult_connected"))["data"]
        leg = connected["consult"]["channel"]
        assert await talkers(ari, f"{leg}-bridge") == {call.agent_leg, leg}
        # the far end saw the tenant's number, not the customer's
        sim = await ami_events.wait_for(
            "UserEvent", lambda e: e.get("UserEvent") == "PstnSim" and "5551000000" in str(e)
        )
        assert "+15550001000" in str(sim.get("CallerIDNum"))
        # the agent hears the far end (it echoes the agent only)
        await call.phone.set_muted(True)
        await call.phone.wait_for_silence()
        await call.phone.set_muted(False)
        await call.phone.wait_for_audio()
        # CO-4: the number takes over the call; alice wraps up
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        assert view["agent"] is None
        await alice.state_event("wrap_up")
        await call.phone.wait_for("closed")
        now = await supervisor.call("GET", f"/v1/interactions/{ix}")
        assert [(x["role"], x["state"]) for x in now["legs"]] == [("party", "connected")]
        assert await talkers(ari, ix) == {call.customer_leg, leg}
        await call.customer.set_muted(True)
        await call.customer.wait_for_silence()
        await call.customer.set_muted(False)
        await call.customer.wait_for_audio()  # its own echo
        await alice.wrap_up(ix, "resolved")
        await call.customer.hangup()
        await supervisor.event("interaction.ended", of(ix))
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-1", "ST-2", "TR-6")
async def test_given_targets_not_consultable_when_consulting_then_refused_and_nothing_changes(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-erin-token", "erin") as erin,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        path = f"/v1/interactions/{ix}/consult"
        # erin takes a call and is connected; bob stays logged out
        erins_call = await connected_call(phones, ari, erin, "1005", ani="+15559990003")
        other, erins = erins_call.customer, erins_call.ix_id
        before = await snapshot(stack, ari)
        for target, state in (("erin", "connected"), ("bob", "logged_out")):
            body = await refused(alice, "POST", path, "CO-1", {"kind": "agent", "target": target})
            assert body["details"]["state"] == state
        await refused(alice, "POST", path, "CO-1", {"kind": "agent", "target": "alice"})
        await refused(alice, "POST", path, "CO-1", {"kind": "entry_point", "target": "support"})
        await refused(alice, "POST", path, "CO-1", {"kind": "queue", "target": "nope"})
        with pytest.raises(ApiError) as foreign:  # not erin's call
            await request_consult(erin, ix, "agent", "bob")
        assert foreign.value.status == 403
        assert await snapshot(stack, ari) == before
        # one consult at a time; no blind transfer during a consult
        bob_phone = await available_agent(phones, bob, "1002")
        await request_consult(alice, ix, "agent", "bob")
        await bob_phone.wait_for("incoming")
        await refused(alice, "POST", path, "CO-1", {"kind": "queue", "target": "vip"})
        await refused(
            alice,
            "POST",
            f"/v1/interactions/{ix}/transfer",
            "TR-6",
            {"kind": "queue", "target": "vip"},
        )
        for action, rule in (("consult/transfer", "CO-4"), ("conference", "CF-1")):
            await refused(alice, "POST", f"/v1/interactions/{ix}/{action}", rule)
        await alice.call("DELETE", path)
        assert (await bob.state_event("available"))["data"]["previous"] == "reserved"
        await other.hangup()
        await erin.event("interaction.ended", of(erins))
        await call.customer.hangup()
        await alice.event("interaction.ended", of(ix))
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CO-1", "CO-5", "ST-2")
async def test_given_idle_agent_when_consulted_then_back_to_idle_with_the_reason_afterwards(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """A direct consult may reach an idle agent (ST-2 asks `available` of queue
    consults only); afterwards the agent is idle again, reason and all."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        bob_phone = await phones.agent("1002", answer_after_ms=0)
        await bob.login("1002")
        await bob.idle("lunch")
        await bob.event("agent.state", lambda e: e["data"]["reason"] == "lunch")
        await request_consult(alice, call.ix_id, "agent", "bob")
        assert (await bob.state_event("reserved"))["data"]["previous"] == "idle"
        await alice.event("interaction.consult_connected")
        await bob_phone.wait_for("established")
        await bob.call("DELETE", f"/v1/interactions/{call.ix_id}/consult")
        back = (await bob.event("agent.state", lambda e: e["data"]["previous"] == "connected"))[
            "data"
        ]
        assert back["state"] == "idle"
        assert back["previous"] == "connected" and back["reason"] == "lunch"
        assert (await bob.me())["reason"] == "lunch"
        await call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)
