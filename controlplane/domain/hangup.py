"""Why a leg ended before it was answered (RONA-1, CB-3, OD-5, TR-2, CO-1):
the one classification of a leg's last Dial status and its Q.850 hang-up
cause. Each feature names the outcome in its own words (a callback's
`Outcome`, an outdial's `Failure`, a consult's or transfer's outcome, a
RONA reason) from this class.

Pure rules: no I/O.
"""

from __future__ import annotations

from enum import StrEnum


class Hangup(StrEnum):
    """How a leg that was never answered ended."""

    NO_ANSWER = "no_answer"  # rang until the ring time ran out, or nobody responded
    BUSY = "busy"
    CONGESTION = "congestion"  # the network had no circuit
    REJECTED = "rejected"  # the called party declined the call
    INVALID_NUMBER = "invalid_number"  # unallocated or malformed: calling again is useless


class Party(StrEnum):
    """Whom the leg rang: the classification differs only where a cause is vague."""

    # a customer's number (CB-3, OD-5): a cause that tells nothing is no answer
    CUSTOMER = "customer"
    # an agent's phone or a consulted / transfer party (RONA-1, CO-1, TR-2):
    # a phone that stopped ringing before the ring time without a timeout cause
    # was declined
    PHONE = "phone"


# Q.850 causes of a customer leg's end.
_CUSTOMER_CAUSES: dict[int, Hangup] = {
    1: Hangup.INVALID_NUMBER,  # unallocated number
    3: Hangup.INVALID_NUMBER,  # no route to destination
    16: Hangup.NO_ANSWER,  # normal clearing before an answer
    17: Hangup.BUSY,
    18: Hangup.NO_ANSWER,  # no user responding
    19: Hangup.NO_ANSWER,  # no answer
    21: Hangup.REJECTED,
    22: Hangup.INVALID_NUMBER,  # number changed
    28: Hangup.INVALID_NUMBER,  # invalid number format
    34: Hangup.CONGESTION,
    38: Hangup.CONGESTION,
    41: Hangup.CONGESTION,
    42: Hangup.CONGESTION,
}

# How the log names the Q.850 causes an unanswered leg most often ends with.
_CAUSE_TEXT = {
    0: "",
    1: "unallocated number",
    16: "normal clearing",
    17: "busy",
    18: "no user responding",
    19: "no answer",
    21: "call rejected",
    34: "no circuit available",
}

# A phone that ended with one of these causes (0: the ring time ran out on
# our side) rang unanswered; any other cause (e.g. 16: the phone hung up) is
# a decline.
_NO_ANSWER_CAUSES = frozenset({0, 18, 19})
_RINGING_STATUSES = frozenset({"NOANSWER", "RINGING", "CANCEL"})


def classify(dial_status: str | None, cause: int, party: Party) -> Hangup:
    """The one classification of an unanswered leg's end, from its last Dial
    status (None when no Dial event told it) and its hang-up cause.

    Local channels report cause 0 for busy and congestion: the Dial status
    decides there. Where the Dial status is vague (NOANSWER also covers
    rejected and unallocated numbers), the cause decides."""
    status = (dial_status or "").upper()
    if party is Party.CUSTOMER:
        if status == "BUSY":
            return Hangup.BUSY
        if status == "CONGESTION":
            return Hangup.CONGESTION
        if status == "CHANUNAVAIL":
            return _CUSTOMER_CAUSES.get(cause, Hangup.CONGESTION)
        if status == "ANSWER":
            return Hangup.NO_ANSWER  # answered somewhere, then gone before it reached us
        return _CUSTOMER_CAUSES.get(cause, Hangup.NO_ANSWER)
    if status == "BUSY" or cause == 17:
        return Hangup.BUSY
    if status == "CONGESTION" or cause == 34:
        return Hangup.CONGESTION
    if cause == 21:
        return Hangup.REJECTED
    if cause == 1:
        return Hangup.INVALID_NUMBER
    if cause in _NO_ANSWER_CAUSES or status in _RINGING_STATUSES:
        return Hangup.NO_ANSWER
    return Hangup.REJECTED


def cause_text(cause: int) -> str:
    """The name of a Q.850 cause for the log ("" for one without a name here)."""
    return _CAUSE_TEXT.get(cause, "")


def phone_not_answered(cause: int) -> bool:
    """RONA-1, OD-5: an agent's phone that ended an offer (no Dial status)
    rang unanswered (True) or was declined (False)."""
    return classify(None, cause, Party.PHONE) is Hangup.NO_ANSWER


def ring_outcome(cause: int) -> str:
    """RONA-1: the reason an agent did not take an offer on the phone."""
    return "ring_no_answer" if phone_not_answered(cause) else "declined"


def leg_outcome(dial_status: str | None, cause: int) -> str:
    """Why a consult or transfer leg ended before it was answered (CO-1, TR-2)."""
    outcome = classify(dial_status, cause, Party.PHONE)
    if outcome is Hangup.NO_ANSWER:
        return "ring_no_answer"
    if outcome is Hangup.REJECTED:
        return "declined"
    return outcome.value
