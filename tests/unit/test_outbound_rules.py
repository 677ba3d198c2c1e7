"""Outdial (OD), history click-to-call (HI-2) and preview-campaign (PC) rules, without I/O."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from controlplane.config import AddressBookEntry, Profile
from controlplane.domain import campaign as pc
from controlplane.domain import outdial as od
from controlplane.domain import wrapup
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition, RuleViolation

BOOK = (
    AddressBookEntry(name="Field service", number="+15552000003"),
    AddressBookEntry(name="Acme Billing", number="+15551000000"),
)
FULL = Profile(outdial=True, keypad=True, anis=("+15550001001", "+15550001000"))
BOOK_ONLY = Profile(outdial=True, keypad=False)


@pytest.mark.spec("OD-1")
@pytest.mark.parametrize("state", [AgentState.AVAILABLE, AgentState.IDLE])
def test_outdial_starts_from_available_or_idle(state: AgentState) -> None:
    od.require_may_start(state)


@pytest.mark.spec("OD-1", "HI-2")
@pytest.mark.parametrize(
    "state",
    [
        AgentState.RESERVED,
        AgentState.CONNECTED,
        AgentState.WRAP_UP,
        AgentState.RONA,
        AgentState.LOGGED_OUT,
    ],
)
def test_outdial_is_refused_in_any_other_state(state: AgentState) -> None:
    with pytest.raises(InvalidTransition) as err:
        od.require_may_start(state)
    assert err.value.rule == "OD-1"


@pytest.mark.spec("OD-1")
def test_a_profile_without_outdial_may_not_dial_out() -> None:
    with pytest.raises(od.NotPermitted) as err:
        od.require_outdial_permission(Profile(outdial=False))
    assert err.value.rule == "OD-1" and err.value.status == 403


@pytest.mark.spec("OD-2")
def test_address_book_is_searchable_by_name_or_digits_and_sorted() -> None:
    assert [e["name"] for e in od.search_address_book(BOOK, None)] == [
        "Acme Billing",
        "Field service",
    ]
    assert od.search_address_book(BOOK, "FIELD") == [
        {"name": "Field service", "number": "+15552000003"}
    ]
    assert [e["name"] for e in od.search_address_book(BOOK, "555-100")] == ["Acme Billing"]
    assert od.search_address_book(BOOK, "nobody") == []


@pytest.mark.spec("OD-2")
def test_keypad_needs_the_keypad_permission_and_exactly_one_source() -> None:
    assert od.destination(number="+1555", address_book=None, profile=FULL, entries=BOOK) == (
        "+1555",
        od.Source.KEYPAD,
    )
    assert od.destination(
        number=None, address_book="acme billing", profile=BOOK_ONLY, entries=BOOK
    ) == ("+15551000000", od.Source.ADDRESS_BOOK)
    with pytest.raises(od.NotPermitted):
        od.destination(number="+1555", address_book=None, profile=BOOK_ONLY, entries=BOOK)
    for number, entry in ((None, None), ("+1555", "Acme Billing")):
        with pytest.raises(InvalidInput) as err:
            od.destination(number=number, address_book=entry, profile=FULL, entries=BOOK)
        assert err.value.rule == "OD-2"


@pytest.mark.spec("HI-2")
def test_history_number_as_is_or_edited_on_the_keypad() -> None:
    assert od.history_destination("+15551000000", None, BOOK_ONLY)[1] is od.Source.HISTORY
    assert od.history_destination("+15551000000", "+15551000000", BOOK_ONLY)[0] == "+15551000000"
    assert od.history_destination("+15551000000", "+15552000001", FULL) == (
        "+15552000001",
        od.Source.KEYPAD,
    )
    with pytest.raises(od.NotPermitted) as err:
        od.history_destination("+15551000000", "+15552000001", BOOK_ONLY)
    assert err.value.rule == "HI-2"


@pytest.mark.spec("OD-3")
def test_ani_is_one_of_the_profile_listed_alphabetically_or_the_tenant_default() -> None:
    assert od.anis(FULL) == ["+15550001000", "+15550001001"]
    assert od.choose_ani(None, FULL, "+15550009999") == "+15550009999"
    assert od.choose_ani("+15550001001", FULL, None) == "+15550001001"
    with pytest.raises(InvalidInput) as err:
        od.choose_ani("+15550007777", FULL, "+15550009999")
    assert err.value.rule == "OD-3" and err.value.details["allowed"] == od.anis(FULL)
    with pytest.raises(RuleViolation) as none:
        od.choose_ani(None, FULL, None)
    assert none.value.rule == "OD-3"


@pytest.mark.spec("DN-1", "SEC-2")
@pytest.mark.parametrize("bad", ["+1555&x", "1,2,3", "${X}", "+1 555", "12", "+1234567890123456"])
def test_only_plus_and_digits_ever_reach_a_dial_string(bad: str) -> None:
    with pytest.raises(InvalidInput):
        od.dialable(bad)
    assert od.dialable("+15551000000") == "+15551000000"


@pytest.mark.spec("OD-5")
def test_failures_are_classified_from_dialstatus_and_cause() -> None:
    assert od.customer_failure("BUSY", 0) is od.Failure.BUSY
    assert od.customer_failure("CONGESTION", 0) is od.Failure.CONGESTION
    assert od.customer_failure("NOANSWER", 21) is od.Failure.REJECTED
    assert od.customer_failure("RINGING", 19) is od.Failure.NO_ANSWER
    assert od.customer_failure("NOANSWER", 1) is od.Failure.INVALID_NUMBER
    assert od.agent_failure(19) is od.Failure.AGENT_NO_ANSWER
    assert od.agent_failure(0) is od.Failure.AGENT_NO_ANSWER
    assert od.agent_failure(21) is od.Failure.AGENT_DECLINED
    assert od.agent_failure(17) is od.Failure.AGENT_DECLINED
    event = od.failure_event("ix", "outdial", "+15554000000", od.Failure.BUSY)
    assert event["outcome"] == "busy" and event["rule"] == "OD-5" and event["message"]
    assert all(od.MESSAGES[f] for f in od.Failure)


@pytest.mark.spec("OD-5", "OD-7")
def test_agent_returns_to_the_state_before_or_available_after_outdial() -> None:
    failed = od.restore(AgentState.IDLE, "lunch")
    assert failed.state is AgentState.IDLE and failed.reason == "lunch"
    assert od.restore(AgentState.AVAILABLE, "").state is AgentState.AVAILABLE
    wrap = AgentState.WRAP_UP
    after = wrapup.finish_outdial(wrap, AgentState.IDLE, "break", available_after_outdial=False)
    assert after.state is AgentState.IDLE and after.reason == "break"
    after = wrapup.finish_outdial(wrap, AgentState.IDLE, "break", available_after_outdial=True)
    assert after.state is AgentState.AVAILABLE
    after = wrapup.finish_outdial(wrap, AgentState.AVAILABLE, None, available_after_outdial=False)
    assert after.state is AgentState.AVAILABLE
    with pytest.raises(InvalidTransition):
        wrapup.finish_outdial(
            AgentState.CONNECTED, AgentState.IDLE, None, available_after_outdial=True
        )


@pytest.mark.spec("OD-8")
def test_a_lost_race_names_od8() -> None:
    err = od.race_lost(AgentState.RESERVED)
    assert err.rule == "OD-8" and "inbound" in err.message


# PC ---------------------------------------------------------------------------------------

GUIDE = {
    "start": "renew",
    "questions": {
        "renew": {"text": "Renew?", "answers": {"yes": "plan", "no": "why", "later": ""}},
        "plan": {"text": "Plan?", "answers": {"gold": "", "silver": ""}},
        "why": {"text": "Why?", "kind": "text"},
    },
}


def campaign(**extra: object) -> pc.Campaign:
    data: dict[str, object] = {
        "name": "Renewals",
        "teams": ["tier1"],
        "ani": "+15550001001",
        "contacts": [{"id": "c1", "name": "Ada", "number": "+15551000000"}],
        "call_guide": GUIDE,
    }
    data.update(extra)
    return pc.Campaign.model_validate(data)


@pytest.mark.spec("PC-1")
def test_a_campaign_has_name_preview_mode_teams_contacts_ani_and_optional_guide() -> None:
    c = campaign()
    assert c.dial_mode == "preview" and c.call_guide is not None
    assert campaign(call_guide=None).call_guide is None
    bad: Any
    for bad in (
        {"dial_mode": "predictive"},
        {"teams": []},
        {"ani": "x"},
        {"contacts": [{"id": "c1", "name": "A", "number": "1"}]},
        {
            "contacts": [
                {"id": "c1", "name": "A", "number": "+15551000000"},
                {"id": "c1", "name": "B", "number": "+15551000001"},
            ]
        },
    ):
        with pytest.raises(ValidationError):
            campaign(**bad)


@pytest.mark.spec("PC-4")
def test_a_call_guide_is_a_tree_of_known_questions() -> None:
    bad: Any
    for bad in (
        {"start": "x", "questions": {"a": {"text": "A", "answers": {"y": ""}}}},
        {"start": "a", "questions": {"a": {"text": "A", "answers": {"y": "b"}}}},
        {"start": "a", "questions": {"a": {"text": "A", "answers": {"y": "a"}}}},
        {
            "start": "a",
            "questions": {
                "a": {"text": "A", "answers": {"y": "b"}},
                "b": {"text": "B", "kind": "text", "next": "a"},
            },
        },
        {"start": "a", "questions": {"a": {"text": "A"}}},
        {"start": "a", "questions": {"a": {"text": "A", "kind": "text", "answers": {"y": ""}}}},
    ):
        with pytest.raises(ValidationError):
            pc.CallGuide.model_validate(bad)


@pytest.mark.spec("PC-4")
def test_answers_must_walk_the_guide_from_its_start_to_an_end() -> None:
    guide = pc.CallGuide.model_validate(GUIDE)
    assert pc.check_answers(guide, [("renew", "yes"), ("plan", "gold")])[-1] == {
        "question": "plan",
        "text": "Plan?",
        "answer": "gold",
    }
    assert pc.check_answers(guide, [("renew", "no"), ("why", "  too dear ")])[-1]["answer"] == (
        "too dear"
    )
    assert len(pc.check_answers(guide, [("renew", "later")])) == 1
    for bad in (
        [],
        [("plan", "gold")],  # not the start
        [("renew", "maybe")],  # not an answer
        [("renew", "yes")],  # not complete
        [("renew", "yes"), ("why", "x")],  # not the question picked
        [("renew", "later"), ("plan", "gold")],  # after the end
        [("renew", "no"), ("why", " ")],  # an empty text
        [("renew", "no"), ("why", "a\x00b")],
    ):
        with pytest.raises(InvalidInput) as err:
            pc.check_answers(guide, bad)
        assert err.value.rule == "PC-4"


@pytest.mark.spec("PC-2")
def test_only_assigned_teams_work_a_campaign() -> None:
    pc.require_team("renewals", campaign(), "tier1")
    with pytest.raises(RuleViolation) as err:
        pc.require_team("renewals", campaign(), "tier2")
    assert err.value.rule == "PC-2"
