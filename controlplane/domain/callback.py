"""Callbacks (CB-1..CB-3): which number may be called back, how a callback is
labelled, what a customer leg's end means and whether to try again.

Pure rules: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from controlplane.domain.errors import InvalidInput
from controlplane.domain.hangup import Party, classify
from controlplane.domain.legs import LegKind, leg_id

RULE_REQUEST = "CB-1"

LABEL = "Callback"
MAX_LABEL = 60

# A number the system may dial back: digits with an optional leading "+",
# 3 to 15 digits. Nothing else ever reaches a dial string (no "&", ",", "/",
# "$", "{", spaces or letters). The dial-number rules (DN) will refine this.
_NUMBER = re.compile(r"^\+?[0-9]{3,15}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Customer legs of a callback get a channel ID of ours: "<interaction id>-c<offer number>".
CUSTOMER_LEG = re.compile(rf"^(?P<ix>[0-9a-f]{{32}})-{LegKind.CALLBACK}(?P<n>[0-9]+)$")


def customer_leg_id(ix_id: str, offer: int) -> str:
    return leg_id(ix_id, LegKind.CALLBACK, offer)


def callback_number(raw: str, *, field: str = "number") -> str:
    """CB-1: the number to call back, refused unless it is digits with an
    optional leading "+" (3 to 15 digits)."""
    if not _NUMBER.fullmatch(raw):
        raise InvalidInput(
            "a callback number is 3 to 15 digits with an optional leading '+'",
            rule=RULE_REQUEST,
            field=field,
        )
    return raw


def caller_number(ani: str) -> str | None:
    """CB-1: a waiting caller's own number, if it can be called back
    (an anonymous or malformed caller ID cannot)."""
    return ani if _NUMBER.fullmatch(ani) else None


def label(given: str | None, entry_label: str | None) -> str:
    """CB-2: the offer's label says it is a callback: "Callback", or
    "Callback: <what the flow or the entry point calls it>"."""
    text = given if given is not None else entry_label
    if given is not None and (not given.strip() or _CONTROL.search(given)):
        raise InvalidInput(
            "a label is printable text (no control characters)",
            rule=RULE_REQUEST,
            field="label",
        )
    if given is not None and len(given) > MAX_LABEL:
        raise InvalidInput(
            f"a label has at most {MAX_LABEL} characters", rule=RULE_REQUEST, field="label"
        )
    if not text or text.strip().lower() == LABEL.lower():
        return LABEL
    return f"{LABEL}: {text.strip()}"


class Outcome(StrEnum):
    """How one attempt to reach the customer ended."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # rang until the callback's ring time ran out
    BUSY = "busy"
    CONGESTION = "congestion"  # the network had no circuit
    REJECTED = "rejected"  # the customer declined the call
    INVALID_NUMBER = "invalid_number"  # unallocated or malformed: calling again is useless
    FAILED = "failed"  # the system could not place the call
    LIMIT_REACHED = "limit_reached"  # CB-4: over a concurrent-call limit, not dialled


def outcome(dialstatus: str | None, cause: int) -> Outcome:
    """CB-3: what a customer leg that ended before it was answered means (the
    one classification of hang-ups, for a customer's number)."""
    return Outcome(classify(dialstatus, cause, Party.CUSTOMER).value)


RETRYABLE = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.CONGESTION,
        Outcome.REJECTED,
        Outcome.FAILED,
        Outcome.LIMIT_REACHED,
    }
)


@dataclass(frozen=True, slots=True)
class Retry:
    """Put the callback back in its queue after `seconds`."""

    seconds: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    """End the callback: the customer was not reached."""

    why: str


def after_failed_attempt(
    result: Outcome, attempts: int, retries: int, spacing_seconds: int
) -> Retry | GiveUp:
    """CB-3: after `attempts` attempts (this one included) that did not reach
    the customer: try again after the queue's spacing, at most `retries`
    times after the first attempt; a number that does not exist is not
    tried again."""
    if result not in RETRYABLE:
        return GiveUp(f"{result.value}: calling again cannot reach the customer")
    if attempts > retries:
        return GiveUp(f"{attempts} attempt(s) made, the queue allows {1 + retries}")
    return Retry(spacing_seconds)
