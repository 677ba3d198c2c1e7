"""The one hang-up classification (RONA-1, CB-3, OD-5, TR-2, CO-1) and the
leg kinds of our channel IDs."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.domain import callback as callback_rules
from controlplane.domain import hangup
from controlplane.domain import legs as leg_rules
from controlplane.domain import outdial as outdial_rules
from controlplane.domain.callback import Outcome
from controlplane.domain.hangup import Hangup, Party, classify
from controlplane.domain.legs import LegKind, leg_id
from controlplane.domain.outdial import Failure

DIAL_STATUSES = [
    None,
    "ANSWER",
    "BUSY",
    "NOANSWER",
    "CANCEL",
    "CONGESTION",
    "CHANUNAVAIL",
    "DONTCALL",
    "TORTURE",
    "INVALIDARGS",
    "RINGING",
    "PROGRESS",
]
statuses = st.sampled_from(DIAL_STATUSES)
causes = st.one_of(
    st.sampled_from([0, 1, 3, 16, 17, 18, 19, 21, 22, 28, 34, 38, 41, 42, 127]),
    st.integers(min_value=0, max_value=127),
)


# How each feature named a leg's end before the classification had one home;
# the classification must keep every answer.
def _callback_before(dialstatus: str | None, cause: int) -> str:
    table = {1: "invalid_number", 3: "invalid_number", 16: "no_answer", 17: "busy",
             18: "no_answer", 19: "no_answer", 21: "rejected", 22: "invalid_number",
             28: "invalid_number", 34: "congestion", 38: "congestion", 41: "congestion",
             42: "congestion"}  # fmt: skip
    status = (dialstatus or "").upper()
    if status == "BUSY":
        return "busy"
    if status == "CONGESTION":
        return "congestion"
    if status == "CHANUNAVAIL":
        return table.get(cause, "congestion")
    if status == "ANSWER":
        return "no_answer"
    return table.get(cause, "no_answer")


def _leg_before(dial_status: str | None, cause: int) -> str:
    if dial_status == "BUSY" or cause == 17:
        return "busy"
    if dial_status == "CONGESTION" or cause == 34:
        return "congestion"
    if cause == 21:
        return "declined"
    if cause == 1:
        return "invalid_number"
    if cause in (0, 18, 19) or dial_status in ("NOANSWER", "RINGING", "CANCEL"):
        return "ring_no_answer"
    return "declined"


@pytest.mark.spec("CB-3", "OD-5")
@given(status=statuses, cause=causes)
def test_a_customer_legs_end_is_classified_as_before(status: str | None, cause: int) -> None:
    expected = _callback_before(status, cause)
    assert callback_rules.outcome(status, cause) is Outcome(expected)
    assert outdial_rules.customer_failure(status, cause) is Failure(expected)
    assert classify(status, cause, Party.CUSTOMER).value == expected


@pytest.mark.spec("TR-2", "CO-1", "RONA-1", "OD-5")
@given(status=statuses, cause=causes)
def test_a_phones_end_is_classified_as_before(status: str | None, cause: int) -> None:
    assert leg_rules.leg_outcome(status, cause) == _leg_before(status, cause)
    not_answered = cause in (0, 18, 19)
    assert hangup.ring_outcome(cause) == ("ring_no_answer" if not_answered else "declined")
    assert outdial_rules.agent_failure(cause) is (
        Failure.AGENT_NO_ANSWER if not_answered else Failure.AGENT_DECLINED
    )


@pytest.mark.spec("CB-3", "RONA-1")
def test_a_vague_cause_means_no_answer_for_a_number_and_a_decline_for_a_phone() -> None:
    # 16 (normal clearing) before an answer: a number rang out, a phone hung up
    assert classify(None, 16, Party.CUSTOMER) is Hangup.NO_ANSWER
    assert classify(None, 16, Party.PHONE) is Hangup.REJECTED
    # local channels report busy with cause 0: the Dial status tells it
    assert classify("BUSY", 0, Party.CUSTOMER) is Hangup.BUSY
    assert classify("BUSY", 0, Party.PHONE) is Hangup.BUSY
    assert classify(None, 0, Party.PHONE) is Hangup.NO_ANSWER


@pytest.mark.spec("IN-1", "CO-1", "TR-2", "CB-2", "OD-4")
def test_every_leg_kind_has_its_own_letter_and_leads_back_to_its_interaction() -> None:
    letters = [kind.value for kind in LegKind]
    assert len(set(letters)) == len(letters)
    assert all(len(letter) == 1 and letter.isalpha() and letter.islower() for letter in letters)
    ix_id = uuid.uuid4().hex
    for kind in LegKind:
        channel = leg_id(ix_id, kind, 7)
        assert channel == f"{ix_id}-{kind.value}7"
        assert leg_rules.leg_interaction(channel) == ix_id
        assert leg_rules.leg_kind(channel) == kind
        assert leg_rules.leg_number(channel, kind) == (ix_id, 7)
        other = next(k for k in LegKind if k is not kind)
        assert leg_rules.leg_number(channel, other) is None
    assert callback_rules.customer_leg_id(ix_id, 2) == leg_id(ix_id, LegKind.CALLBACK, 2)
    assert leg_rules.leg_interaction("PJSIP/1001-00000001") is None
    assert leg_rules.leg_kind(f"{ix_id}-bridge") is None


@pytest.mark.spec("RONA-1")
def test_the_log_names_the_common_causes() -> None:
    assert hangup.cause_text(17) == "busy" and hangup.cause_text(21) == "call rejected"
    assert hangup.cause_text(99) == ""
