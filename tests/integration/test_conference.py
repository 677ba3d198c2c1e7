"""Conference (CF-1..CF-7) with three real SIP phones: the customer, the
consulting agent (agent 1) and the consulted agent (agent 2), all in the
interaction's mixing bridge.

The rows of the product's conference role table ("Konferenzgespräch
starten": customer, agent 1, agent 2) are tests named
`test_conference_row_<role>_...`."""

from __future__ import annotations

import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import CONSULT_VARIABLES, Stack
from tests.support.asterisk import audio_flows, interaction_bridge
from tests.support.constants import VIP
from tests.support.consults import (
    nothing_left_behind,
    path_carries,
    refused,
    snapshot,
    state_of,
    talkers,
)
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import (
    available_agent,
    conference,
    connected_call,
    consulting,
    three_parties,
)

pytestmark = pytest.mark.integration


@pytest.mark.spec("CF-1", "CF-2", "CF-3", "CF-5")
@pytest.mark.parametrize(
    "agent1",
    [
        # alice's profile records: the recorder is in the bridge from the start
        pytest.param(("alice", "1001", "8005550100"), id="recorded"),
        # carol's records nothing: two phones alone in the bridge before the conference
        pytest.param(("carol", "1003", VIP), id="not-recorded"),
    ],
)
async def test_given_consult_when_agent_starts_conference_then_all_three_hear_each_other(
    stack: Stack, ari: AriClient, phones: PhoneFactory, agent1: tuple[str, str, str]
) -> None:
    name, extension, number = agent1
    async with (
        Desktop(stack.url, f"demo-{name}-token", name) as a1,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await connected_call(phones, ari, a1, extension, number=number)
        bob_phone = await available_agent(phones, bob, "1002")
        c = await consulting(call, bob_phone, bob, "bob")
        ix = call.ix_id

        # CF-1: the customer is taken off hold; all three legs are in the
        # interaction's mixing bridge, and audio flows on each of them.
        view = await a1.call("POST", f"/v1/interactions/{ix}/conference")
        assert view["consult"]["state"] == "conference"
        assert view["customer"]["state"] == "conference"
        assert (await a1.call("GET", f"/v1/interactions/{ix}"))["held"] is False
        legs = {call.customer_leg, call.agent_leg, c.leg}
        assert await talkers(ari, ix) == legs
        bridge = await interaction_bridge(ari, ix)
        # IN-2: a recorded call's bridge was shared from the start, one not
        # recorded moved there at the consult's hold
        assert bridge["id"] == f"{ix}-shared"
        assert "mixing" in bridge.get("bridge_type", "")
        assert bridge.get("technology") == "softmix"
        assert await audio_flows(ari, sorted(legs))
        # each one is heard by both others
        await path_carries(call.customer, [call.phone, bob_phone], [])
        await path_carries(call.phone, [call.customer, bob_phone], [])
        await path_carries(bob_phone, [call.customer, call.phone], [])

        # CF-2: both agents get the consult's variables plus the consulted
        # agent's name and directory number.
        for desktop in (a1, bob):
            started = (await desktop.event("interaction.conference_started"))["data"]
            names = [v["name"] for v in started["variables"]]
            assert names == [
                "consulting_agent_name",
                "consulting_agent_dn",
                "consulting_agent_team",
                *CONSULT_VARIABLES,
                "consulted_agent_name",
                "consulted_agent_dn",
            ]
            values = {v["name"]: v["value"] for v in started["variables"]}
            assert values["consulted_agent_name"] == "Bob Baker"
            assert values["consulted_agent_dn"] == "1002"
            assert values["consulting_agent_dn"] == extension

        # CF-3: nobody can be held; the refusal changes nothing.
        before = await snapshot(stack, ari)
        for path in ("hold", "resume", "consult/hold", "consult/resume"):
            await refused(a1, "POST", f"/v1/interactions/{ix}/{path}", "CF-3")
        assert await snapshot(stack, ari) == before

        # CF-5: agent 2 leaves; the call goes on between agent 1 and the customer.
        await bob.call("DELETE", f"/v1/interactions/{ix}/conference")
        await bob_phone.wait_for("closed")
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        assert await talkers(ari, ix) == {call.customer_leg, call.agent_leg}
        await path_carries(call.customer, [call.phone], [])
        await path_carries(call.phone, [call.customer], [])

        await call.customer.hangup()
        await a1.event("interaction.ended")
        await a1.state_event("wrap_up")
        await a1.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


# The conference role table ("Konferenzgespräch starten"): customer -----------------


@pytest.mark.spec("CF-1", "SEC-1")
async def test_conference_row_customer_cannot_start_a_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Ein Kunde kann kein Konferenzgespräch initiieren: only agent 1 can
    (keys the customer presses start nothing; a supervisor or the flow
    cannot either)."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await c.call.customer.send_dtmf("3#")
        for other in (supervisor, admin):
            with pytest.raises(ApiError) as forbidden:
                await other.call("POST", f"/v1/interactions/{ix}/conference")
            assert forbidden.value.status == 403
        seen = await supervisor.call("GET", f"/v1/interactions/{ix}/consult")
        assert seen["consult"]["state"] == "consulting" and seen["role"] is None
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-1")
async def test_conference_row_customer_is_taken_off_hold_and_all_three_talk(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn Agent 1 ein Konferenzgespräch startet, wird der Kunde aus der
    Warteschleife genommen; der Anruf geht zwischen allen dreien weiter."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is True
        await alice.call("POST", f"/v1/interactions/{ix}/conference")
        assert (await alice.call("GET", f"/v1/interactions/{ix}"))["held"] is False
        await path_carries(c.call.customer, [c.call.phone, c.phone], [])
        await path_carries(c.phone, [c.call.customer], [c.call.phone])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-7")
async def test_conference_row_customer_hangs_up_and_ends_the_interaction(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Der Kunde kann einen laufenden Anruf mit Agent 1 und Agent 2 beenden und
    damit die Interaktion stoppen."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        await c.call.customer.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "customer_hangup"
        assert (await c.call.phone.wait_for("closed")).ended_by_peer
        assert (await c.phone.wait_for("closed")).ended_by_peer
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-3")
async def test_conference_row_customer_cannot_be_held(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Während eines Konferenzgesprächs kann der Kunde nicht in die
    Warteschleife gestellt werden."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        error = await refused(alice, "POST", f"/v1/interactions/{ix}/hold", "CF-3")
        assert error["status"] == 409
        assert c.call.customer_leg in await talkers(ari, ix)
        await path_carries(c.call.customer, [c.call.phone, c.phone], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


# The conference role table: agent 1 ------------------------------------------------


@pytest.mark.spec("CF-1", "CF-6", "END-2")
async def test_conference_row_agent_1_starts_and_ends_the_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann ein Konferenzgespräch starten und beenden: ending it ends
    the call for the customer and agent 2; agent 1 wraps up, agent 2 not."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("DELETE", f"/v1/interactions/{ix}/conference")
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == "agent_end"
        assert (await c.call.customer.wait_for("closed")).ended_by_peer
        assert (await c.phone.wait_for("closed")).ended_by_peer
        await alice.state_event("wrap_up")
        await bob.state_event("available")
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-1", "CO-3")
async def test_conference_row_agent_1_starts_it_with_agent_2_by_the_conference_button(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann ein Konferenzgespräch mit Agent 2 starten, indem er auf die
    Taste Konferenz klickt: also while back with the customer (agent 2 held)."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/consult/hold")
        view = await alice.call("POST", f"/v1/interactions/{ix}/conference")
        assert view["consult"]["state"] == "conference"
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg, c.leg}
        await path_carries(c.phone, [c.call.customer, c.call.phone], [])
        # not twice, and not without a consult
        await refused(alice, "POST", f"/v1/interactions/{ix}/conference", "CF-1")
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-3")
async def test_conference_row_agent_1_cannot_hold_the_customer_or_agent_2(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Während eines Konferenzgesprächs kann Agent 1 einen Kunden oder Agent 2
    nicht in die Warteschleife stellen."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        before = await snapshot(stack, ari)
        await refused(alice, "POST", f"/v1/interactions/{ix}/hold", "CF-3")
        await refused(alice, "POST", f"/v1/interactions/{ix}/consult/hold", "CF-3")
        assert await snapshot(stack, ari) == before
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-4", "TR-6", "END-2")
async def test_conference_row_agent_1_transfers_to_agent_2_and_wraps_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 1 kann einen Anruf an Agent 2 übergeben: agent 1 wraps up, the
    call goes on between agent 2 and the customer."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        view = await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        assert view["agent"] == "bob"
        assert (await alice.state_event("wrap_up"))["data"]["reason"] == "transferred"
        await c.call.phone.wait_for("closed")
        assert await talkers(ari, ix) == {c.call.customer_leg, c.leg}
        await path_carries(c.call.customer, [c.phone], [])
        await alice.wrap_up(ix, "resolved")
        await c.call.customer.hangup()
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-7", "END-2")
async def test_conference_row_agent_1_wraps_up_when_the_customer_hangs_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn ein Kunde ein Konferenzgespräch abbricht, endet die Interaktion,
    und agent 1 is in wrap-up."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        await c.call.customer.hangup()
        await alice.state_event("wrap_up")
        record = await alice.wrap_up(c.call.ix_id, "resolved")
        assert record["state"] == "available"
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-6")
@pytest.mark.parametrize("how", ["end-conference", "end", "phone"])
async def test_conference_row_agent_1_ends_it_for_everyone_by_button_or_phone(
    stack: Stack, ari: AriClient, phones: PhoneFactory, how: str
) -> None:
    """Agent 1 kann ein Konferenzgespräch beenden, indem er auf Konferenz
    beenden klickt oder den Telefonapparat auflegt: der Kunde und Agent 2
    werden entfernt."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        if how == "end-conference":
            await alice.call("DELETE", f"/v1/interactions/{ix}/conference")
        elif how == "end":
            await alice.end(ix)
        else:
            await c.call.phone.hangup()
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["end_cause"] == ("agent_hangup" if how == "phone" else "agent_end")
        assert (await c.call.customer.wait_for("closed")).ended_by_peer
        assert (await c.phone.wait_for("closed")).ended_by_peer
        await alice.state_event("wrap_up")
        await bob.state_event("available")
        await nothing_left_behind(ari, stack.redis.url)


# The conference role table: agent 2 ------------------------------------------------


@pytest.mark.spec("CO-5", "CF-5")
async def test_conference_row_agent_2_cannot_end_the_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann ein Konferenzgespräch nicht beenden (for everyone: only
    leave it); refused naming CO-5, nothing changes."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        before = await snapshot(stack, ari)
        await refused(bob, "POST", f"/v1/interactions/{ix}/end", "CO-5")
        await refused(bob, "POST", f"/v1/interactions/{ix}/consult/transfer", "CO-5")
        assert await snapshot(stack, ari) == before
        assert await state_of(bob) == "connected"
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-5", "CO-5")
async def test_conference_row_agent_2_cannot_wrap_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann keine Nachbearbeitungsgründe für ein Konferenzgespräch
    anwenden."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        await refused(bob, "POST", f"/v1/interactions/{ix}/wrap-up", "CO-5", {"reason": "resolved"})
        await bob.call("DELETE", f"/v1/interactions/{ix}/conference")  # leaves: no wrap-up
        await bob.state_event("available")
        with pytest.raises(ApiError) as after:
            await bob.wrap_up(ix, "resolved")
        assert after.value.status == 403
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-5")
async def test_conference_row_agent_2_leaves_and_the_call_goes_on(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann ein Konferenzgespräch beenden (Konferenz beenden), und der
    Anruf wird zwischen Agent 1 und dem Kunden fortgesetzt."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        await bob.call("DELETE", f"/v1/interactions/{ix}/conference")
        ended = (await alice.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "left" and ended["was"] == "conference"
        assert (await c.phone.wait_for("closed")).ended_by_peer
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        assert await talkers(ari, ix) == {c.call.customer_leg, c.call.agent_leg}
        await path_carries(c.call.phone, [c.call.customer], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-1", "CF-2")
async def test_conference_row_agent_2_is_part_of_it_when_agent_1_starts_it(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn Agent 1 bei der Beratung von Agent 2 ein Konferenzgespräch startet,
    ist Agent 2 Teil des Konferenzgesprächs, with the conference's variables."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await three_parties(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/conference")
        started = (await bob.event("interaction.conference_started"))["data"]
        assert len(started["variables"]) == 11
        assert {"consulted_agent_name", "consulted_agent_dn"} <= {
            v["name"] for v in started["variables"]
        }
        view = await bob.call("GET", f"/v1/interactions/{ix}/consult")
        assert view["role"] == "consulted_agent" and view["consult"]["state"] == "conference"
        await path_carries(c.phone, [c.call.customer, c.call.phone], [])
        await c.call.customer.hangup()
        await alice.event("interaction.ended")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-4")
async def test_conference_row_agent_2_accepts_a_transfer(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Agent 2 kann eine Übergabeanforderung akzeptieren, die während des
    Konferenzgesprächs von Agent 1 getätigt wurde."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        ix = c.call.ix_id
        await alice.call("POST", f"/v1/interactions/{ix}/consult/transfer")
        moved = (await bob.event("interaction.transferred"))["data"]
        assert moved["agent"] == "bob" and moved["was"] == "conference"
        assert (await bob.call("GET", f"/v1/interactions/{ix}"))["agent"] == "bob"
        await bob.end(ix)
        await c.call.customer.wait_for("closed")
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix, "resolved")
        await alice.wrap_up(ix, "resolved")
        await nothing_left_behind(ari, stack.redis.url)


@pytest.mark.spec("CF-7")
async def test_conference_row_agent_2_leaves_without_wrap_up_when_the_customer_hangs_up(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    """Wenn ein Kunde ein Konferenzgespräch abbricht, endet die Interaktion.
    Agent 2 wird ohne Nachbereitung aus dem Anruf geworfen."""
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        c = await conference(phones, ari, alice, bob)
        await c.call.customer.hangup()
        assert (await c.phone.wait_for("closed")).ended_by_peer
        assert (await bob.state_event("available"))["data"]["previous"] == "connected"
        ended = (await bob.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "interaction_ended" and ended["was"] == "conference"
        assert not [e for e in bob.events if e["data"].get("state") == "wrap_up"]
        await nothing_left_behind(ari, stack.redis.url)
