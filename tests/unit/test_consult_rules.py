"""The consult and conference rules (CO-1..CO-6, CF-1..CF-7, HOLD-3) as pure
functions: the product's role tables, row by row, what a hang-up means in
each state, and what the consulted agent is shown."""

from __future__ import annotations

import pytest

from controlplane.domain import consult as rules
from controlplane.domain import legs as leg_rules
from controlplane.domain.agent import AgentState
from controlplane.domain.consult import Action, Hangup, Role
from controlplane.domain.errors import InvalidTransition
from controlplane.domain.interaction import (
    Direction,
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
)
from controlplane.domain.legs import LegKind

S = LegState


def call(state: LegState | None, *, held: bool = True) -> tuple[Interaction, Leg | None]:
    ix = Interaction(
        id="a" * 32,
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme Support",
        ani="+15551234567",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="c1",
        status=Status.CONNECTED,
        agent="alice",
        agent_channel=f"{'a' * 32}-a1",
        held=held,
    )
    if state is None:
        return ix, None
    leg = Leg(
        channel=f"{'a' * 32}-k1",
        role=LegRole.CONSULT,
        state=state,
        target="agent",
        agent="bob",
        by="alice",
        prior="available",
    )
    ix.legs.append(leg)
    return ix, leg


def allowed(agent: str, action: Action, state: LegState) -> bool:
    ix, leg = call(state)
    try:
        rules.require(ix, leg, agent, action)
    except InvalidTransition:
        return False
    return True


def rule_of(agent: str, action: Action, state: LegState) -> str | None:
    ix, leg = call(state)
    with pytest.raises(InvalidTransition) as refused:
        rules.require(ix, leg, agent, action)
    return refused.value.rule


ANSWERED = (S.CONSULTING, S.CONSULT_HELD)
WAITING = (S.QUEUED, S.RINGING)


# "Beratungsanruf einleiten", role table ------------------------------------------


@pytest.mark.spec("CO-1")
def test_consult_row_customer_cannot_start_a_consult() -> None:
    assert rules.ALLOWED[Role.CUSTOMER] == {}
    ix, leg = call(S.CONSULTING)
    assert rules.role_of(ix, leg, None) is None


@pytest.mark.spec("HOLD-3", "CO-3")
def test_consult_row_customer_is_held_while_agent_1_consults_agent_2() -> None:
    ix, leg = call(S.CONSULTING)
    assert rules.customer_state(ix, leg) == "held"
    ix, leg = call(S.CONSULT_HELD, held=False)
    assert rules.customer_state(ix, leg) == "connected"


@pytest.mark.spec("CO-6")
def test_consult_row_customer_hangs_up_and_ends_the_interaction() -> None:
    for state in S:
        assert rules.after_hangup(Role.CUSTOMER, state) is Hangup.ENDS_INTERACTION


@pytest.mark.spec("CO-1", "CO-4")
def test_consult_row_agent_1_starts_and_ends_a_consult() -> None:
    for state in WAITING:
        assert allowed("alice", Action.CANCEL, state)
        assert rule_of("alice", Action.END_CONSULT, state) == "CO-4"
    for state in ANSWERED:
        assert allowed("alice", Action.END_CONSULT, state)
        assert rule_of("alice", Action.CANCEL, state) == "CO-1"


@pytest.mark.spec("HOLD-3", "CO-3")
def test_consult_row_agent_1_resumes_the_held_customer() -> None:
    assert allowed("alice", Action.RESUME_CUSTOMER, S.CONSULTING)
    assert allowed("alice", Action.HOLD_CONSULTED, S.CONSULTING)
    assert rule_of("alice", Action.RESUME_CUSTOMER, S.CONSULT_HELD) == "HOLD-2"


@pytest.mark.spec("CO-3")
def test_consult_row_agent_1_consults_and_holds_agent_2() -> None:
    assert allowed("alice", Action.HOLD_CONSULTED, S.CONSULTING)
    assert allowed("alice", Action.RESUME_CONSULTED, S.CONSULT_HELD)
    assert rule_of("alice", Action.HOLD_CONSULTED, S.CONSULT_HELD) == "CO-3"
    assert rule_of("alice", Action.RESUME_CONSULTED, S.CONSULTING) == "CO-3"


@pytest.mark.spec("CO-4")
def test_consult_row_agent_1_transfers_to_agent_2_and_wraps_up() -> None:
    for state in (*ANSWERED, S.CONFERENCE):
        assert allowed("alice", Action.TRANSFER, state)
    for state in WAITING:
        assert rule_of("alice", Action.TRANSFER, state) == "CO-4"
    assert leg_rules.transferred().state is AgentState.WRAP_UP
    assert rule_of("alice", Action.WRAP_UP, S.CONSULTING) == "END-2"


@pytest.mark.spec("CF-1")
def test_consult_row_agent_1_starts_a_conference() -> None:
    for state in ANSWERED:
        assert allowed("alice", Action.CONFERENCE, state)
    for state in (*WAITING, S.CONFERENCE):
        assert rule_of("alice", Action.CONFERENCE, state) == "CF-1"


@pytest.mark.spec("CO-6")
def test_consult_row_agent_1_wraps_up_when_the_customer_hangs_up() -> None:
    for state in S:
        assert rules.after_hangup(Role.CUSTOMER, state) is Hangup.ENDS_INTERACTION


@pytest.mark.spec("CO-4", "END-1")
def test_consult_row_agent_1_ends_it_for_the_customer_and_agent_2() -> None:
    for state in S:
        assert rules.after_hangup(Role.CONSULTING, state) is Hangup.ENDS_INTERACTION
    assert rule_of("alice", Action.END_CALL, S.CONSULTING) == "END-1"  # customer held
    assert allowed("alice", Action.END_CALL, S.CONSULT_HELD)


@pytest.mark.spec("HOLD-3", "CO-3")
def test_consult_row_agent_2_is_held_when_agent_1_resumes_the_customer() -> None:
    # resuming the customer is holding agent 2: the same switch
    assert rules.ALLOWED[Role.CONSULTING][Action.RESUME_CUSTOMER] >= {S.CONSULTING}
    assert rules.ALLOWED[Role.CONSULTING][Action.HOLD_CONSULTED] == {S.CONSULTING}


@pytest.mark.spec("CO-5")
def test_consult_row_agent_2_cannot_resume_or_end_the_call() -> None:
    for state in S:
        for action in (
            Action.RESUME_CUSTOMER,
            Action.HOLD_CUSTOMER,
            Action.END_CALL,
            Action.END_CONSULT,
            Action.TRANSFER,
            Action.CONFERENCE,
        ):
            assert rule_of("bob", action, state) in ("CO-5", "CF-3")


@pytest.mark.spec("CO-5")
def test_consult_row_agent_2_cannot_wrap_up() -> None:
    for state in S:
        assert rule_of("bob", Action.WRAP_UP, state) == "CO-5"


@pytest.mark.spec("CO-5")
def test_consult_row_agent_2_leaves_and_the_call_goes_on() -> None:
    for state in ANSWERED:
        assert allowed("bob", Action.LEAVE, state)
        assert rules.after_hangup(Role.CONSULTED, state) is Hangup.CONSULT_ENDS
    assert rule_of("bob", Action.LEAVE, S.RINGING) == "CO-5"
    out = leg_rules.consulted_out("available")
    assert (out.previous, out.state) == (AgentState.CONNECTED, AgentState.AVAILABLE)


@pytest.mark.spec("CO-4", "CO-5")
def test_consult_row_agent_2_accepts_a_transfer() -> None:
    ix, leg = call(S.CONSULTING)
    assert rules.role_of(ix, leg, "bob") is Role.CONSULTED
    # only agent 1 transfers; agent 2 takes the call as it is (no action)
    assert rule_of("bob", Action.TRANSFER, S.CONSULTING) == "CO-5"


@pytest.mark.spec("CF-1")
def test_consult_row_agent_2_is_part_of_the_conference() -> None:
    assert allowed("bob", Action.LEAVE, S.CONFERENCE)
    ix, leg = call(S.CONFERENCE, held=False)
    assert rules.role_of(ix, leg, "bob") is Role.CONSULTED


@pytest.mark.spec("CO-6")
def test_consult_row_agent_2_leaves_without_wrap_up_when_the_customer_hangs_up() -> None:
    for prior, state in (("available", AgentState.AVAILABLE), ("idle:break", AgentState.IDLE)):
        out = leg_rules.consulted_out(prior)
        assert out.state is state and out.state is not AgentState.WRAP_UP
    assert leg_rules.consulted_out("idle:break").reason == "break"


# "Konferenzgespräch starten", role table -----------------------------------------


@pytest.mark.spec("CF-1")
def test_conference_row_customer_cannot_start_a_conference() -> None:
    assert Action.CONFERENCE not in rules.ALLOWED[Role.CUSTOMER]


@pytest.mark.spec("CF-1")
def test_conference_row_customer_is_taken_off_hold_and_all_three_talk() -> None:
    ix, leg = call(S.CONFERENCE, held=False)
    assert rules.customer_state(ix, leg) == "conference"


@pytest.mark.spec("CF-7")
def test_conference_row_customer_hangs_up_and_ends_the_interaction() -> None:
    assert rules.after_hangup(Role.CUSTOMER, S.CONFERENCE) is Hangup.ENDS_INTERACTION


@pytest.mark.spec("CF-3")
def test_conference_row_customer_cannot_be_held() -> None:
    assert rule_of("alice", Action.HOLD_CUSTOMER, S.CONFERENCE) == "CF-3"
    assert rule_of("alice", Action.RESUME_CUSTOMER, S.CONFERENCE) == "CF-3"


@pytest.mark.spec("CF-1", "CF-6")
def test_conference_row_agent_1_starts_and_ends_the_conference() -> None:
    assert allowed("alice", Action.CONFERENCE, S.CONSULTING)
    assert allowed("alice", Action.END_CALL, S.CONFERENCE)


@pytest.mark.spec("CF-1")
def test_conference_row_agent_1_starts_it_with_agent_2_by_the_conference_button() -> None:
    assert rules.ALLOWED[Role.CONSULTING][Action.CONFERENCE] == {S.CONSULTING, S.CONSULT_HELD}
    ix, _ = call(None)
    with pytest.raises(InvalidTransition) as none:
        rules.require(ix, None, "alice", Action.CONFERENCE)
    assert none.value.rule == "CF-1"


@pytest.mark.spec("CF-3")
def test_conference_row_agent_1_cannot_hold_the_customer_or_agent_2() -> None:
    for action in (Action.HOLD_CUSTOMER, Action.HOLD_CONSULTED, Action.RESUME_CONSULTED):
        assert rule_of("alice", action, S.CONFERENCE) == "CF-3"


@pytest.mark.spec("CF-4")
def test_conference_row_agent_1_transfers_to_agent_2_and_wraps_up() -> None:
    assert allowed("alice", Action.TRANSFER, S.CONFERENCE)


@pytest.mark.spec("CF-7")
def test_conference_row_agent_1_wraps_up_when_the_customer_hangs_up() -> None:
    assert rules.after_hangup(Role.CUSTOMER, S.CONFERENCE) is Hangup.ENDS_INTERACTION


@pytest.mark.spec("CF-6")
def test_conference_row_agent_1_ends_it_for_everyone_by_button_or_phone() -> None:
    assert rules.after_hangup(Role.CONSULTING, S.CONFERENCE) is Hangup.ENDS_INTERACTION
    assert allowed("alice", Action.END_CALL, S.CONFERENCE)


@pytest.mark.spec("CO-5", "CF-5")
def test_conference_row_agent_2_cannot_end_the_conference() -> None:
    assert rule_of("bob", Action.END_CALL, S.CONFERENCE) == "CO-5"


@pytest.mark.spec("CF-5")
def test_conference_row_agent_2_cannot_wrap_up() -> None:
    assert rule_of("bob", Action.WRAP_UP, S.CONFERENCE) == "CO-5"


@pytest.mark.spec("CF-5")
def test_conference_row_agent_2_leaves_and_the_call_goes_on() -> None:
    assert allowed("bob", Action.LEAVE, S.CONFERENCE)
    assert rules.after_hangup(Role.CONSULTED, S.CONFERENCE) is Hangup.CONSULT_ENDS


@pytest.mark.spec("CF-1", "CF-2")
def test_conference_row_agent_2_is_part_of_it_when_agent_1_starts_it() -> None:
    consult = rules.consult_variables("Alice Able", "1001", "Tier 1", [], [])
    both = rules.conference_variables(consult, "Bob Baker", "1002")
    assert [v["name"] for v in both][-2:] == ["consulted_agent_name", "consulted_agent_dn"]
    assert [v["value"] for v in both][-2:] == ["Bob Baker", "1002"]


@pytest.mark.spec("CF-4")
def test_conference_row_agent_2_accepts_a_transfer() -> None:
    ix, leg = call(S.CONFERENCE, held=False)
    assert rules.role_of(ix, leg, "bob") is Role.CONSULTED
    assert allowed("alice", Action.TRANSFER, S.CONFERENCE)


@pytest.mark.spec("CF-7")
def test_conference_row_agent_2_leaves_without_wrap_up_when_the_customer_hangs_up() -> None:
    assert leg_rules.consulted_out("available").state is AgentState.AVAILABLE


# Other rules ---------------------------------------------------------------------


@pytest.mark.spec("CO-2")
def test_given_many_variables_when_consult_offered_then_at_most_nine_in_order() -> None:
    shown: list[dict[str, object]] = [
        {"name": f"v{i}", "label": f"V{i}", "type": "string", "secure": False, "value": str(i)}
        for i in range(12)
    ]
    configured = ["v5", "v1", "v9", "v0", "v2", "v3", "v4"]  # seven named: six count
    out = rules.consult_variables("Alice Able", "1001", "Tier 1", shown, configured)
    assert len(out) == rules.MAX_CONSULT_VARIABLES == 9
    assert [v["name"] for v in out] == [
        "consulting_agent_name",
        "consulting_agent_dn",
        "consulting_agent_team",
        "v5",
        "v1",
        "v9",
        "v0",
        "v2",
        "v3",
    ]
    assert all(v["editable"] is False for v in out)


@pytest.mark.spec("CO-5")
def test_given_an_agent_not_in_the_consult_when_acting_then_refused_as_no_party() -> None:
    ix, leg = call(S.CONSULTING)
    with pytest.raises(rules.NotParty):
        rules.require(ix, leg, "carol", Action.LEAVE)


@pytest.mark.spec("ST-2", "RONA-1")
def test_given_offered_agents_when_consult_ends_early_then_back_where_they_were() -> None:
    assert leg_rules.prior_state(AgentState.IDLE, "lunch") == "idle:lunch"
    withdrawn = leg_rules.withdrawn("idle:lunch")
    assert (withdrawn.state, withdrawn.reason) == (AgentState.IDLE, "lunch")
    assert leg_rules.withdrawn("available").state is AgentState.AVAILABLE
    assert leg_rules.not_taken("ring_no_answer").state is AgentState.RONA
    assert leg_rules.offered(AgentState.IDLE, transfer=False).state is AgentState.RESERVED


def test_given_leg_ids_when_parsed_then_consult_requests_are_told_from_interactions() -> None:
    ix, _ = call(None)
    member = leg_rules.next_leg_id(ix, LegKind.CONSULT)
    assert member == f"{'a' * 32}-k1" and ix.leg_seq == 1
    assert rules.is_consult_request(member) and rules.request_owner(member) == "a" * 32
    assert not rules.is_consult_request("a" * 32)
    assert leg_rules.next_leg_id(ix, LegKind.TRANSFER) == f"{'a' * 32}-x2"


def test_given_legs_when_stored_then_read_back_the_same() -> None:
    ix, leg = call(S.CONSULT_HELD, held=False)
    ix.wrap_ups = {"alice": "resolved"}
    ix.leg_seq = 3
    again = Interaction.from_fields(ix.to_fields())
    assert again == ix
    assert again.legs[0].state is S.CONSULT_HELD and again.legs[0].role is LegRole.CONSULT
    assert leg is not None and ix.public()["legs"] == [leg.public()]
    empty, _ = call(None)
    assert "legs" not in empty.to_fields()
    assert Interaction.from_fields(empty.to_fields()).legs == []
