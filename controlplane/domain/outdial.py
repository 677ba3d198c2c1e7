"""Outbound calls (OD-1..OD-8, HI-2): who may dial out, to which number, with
which caller ID, how the agent's state moves, and what ended an attempt.

Pure rules: no I/O. The numbers themselves are checked by the dial-number
rules (`controlplane.domain.dialnumber`, DN-1..DN-4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from controlplane.config import AddressBookEntry, Profile
from controlplane.domain import agent as agent_rules
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.errors import InvalidInput, InvalidTransition, RuleViolation
from controlplane.domain.hangup import Party, classify, phone_not_answered

RULE_START = "OD-1"
RULE_DESTINATION = "OD-2"
RULE_ANI = "OD-3"
RULE_CALL_ORDER = "OD-4"
RULE_FAILURE = "OD-5"
RULE_RACE = "OD-8"
RULE_HISTORY_CALL = "HI-2"

LABEL = "Outdial"

# A number as it may reach a dial string: '+' and digits only.
_DIALABLE = re.compile(r"^\+?[0-9]{3,15}$")
_POST_DIAL = re.compile(r"^[0-9*#]{1,32}$")

# OD-1: an outdial starts from these states only (the agent state table's).
START_STATES = agent_rules.sources(Trigger.OUTDIAL)
# PC-2: a campaign call only from `available`.
CAMPAIGN_STATES = frozenset({AgentState.AVAILABLE})
# HI-2: states in which the agent has a call going on.
ACTIVE_CALL_STATES = frozenset({AgentState.RESERVED, AgentState.CONNECTED})


class NotPermitted(RuleViolation):
    """The agent's profile does not grant the action."""

    status = 403
    error_id = "not-permitted"


class Source(StrEnum):
    """Where an outdial's number came from (OD-2, HI-2)."""

    KEYPAD = "keypad"
    ADDRESS_BOOK = "address_book"
    HISTORY = "history"


# OD-1 ---------------------------------------------------------------------------------


def require_outdial_permission(profile: Profile) -> None:
    """OD-1: only a profile with outdial may dial out."""
    if not profile.outdial:
        raise NotPermitted("the agent's profile does not allow outdial", rule=RULE_START)


def require_may_start(
    state: AgentState, *, allowed: frozenset[AgentState] = START_STATES, rule: str = RULE_START
) -> None:
    """OD-1 (PC-2, HI-2): an outbound call starts only from the allowed states;
    never while the agent has a call ringing or going on, or is in wrap-up."""
    if state in allowed:
        return
    if state in ACTIVE_CALL_STATES:
        why = "the agent has an active call"
    elif state is AgentState.WRAP_UP:
        why = "the agent is in wrap-up: apply a wrap-up reason first"
    elif state is AgentState.LOGGED_OUT:
        why = "the agent is logged out"
    else:
        why = f"the agent is {state.value}"
    names = " or ".join(sorted(s.value for s in allowed))
    raise InvalidTransition(
        f"an outbound call starts only when the agent is {names}: {why}",
        rule=rule,
        state=state.value,
    )


def race_lost(state: AgentState) -> RuleViolation:
    """OD-8: the agent's state changed between the check and the reservation
    (an inbound offer came first): the outdial fails cleanly."""
    if state is AgentState.RESERVED:
        message = "an inbound call was offered to the agent first; the outdial was not placed"
    else:
        message = f"the agent's state changed to {state.value}; the outdial was not placed"
    return InvalidTransition(message, rule=RULE_RACE, state=state.value)


# OD-2: address book or keypad -----------------------------------------------------------


def search_address_book(
    entries: Sequence[AddressBookEntry], text: str | None
) -> list[dict[str, str]]:
    """OD-2: the tenant's address book, filtered by a search text that matches
    names (case-insensitive) or numbers (digits); sorted by name."""
    needle = (text or "").strip().casefold()
    digits = re.sub(r"[^0-9]", "", needle)
    out = []
    for entry in entries:
        if (
            not needle
            or needle in entry.name.casefold()
            or (digits and digits in entry.number.lstrip("+"))
        ):
            out.append({"name": entry.name, "number": entry.number})
    return sorted(out, key=lambda e: (e["name"].casefold(), e["number"]))


def destination(
    *,
    number: str | None,
    address_book: str | None,
    profile: Profile,
    entries: Sequence[AddressBookEntry],
) -> tuple[str, Source]:
    """OD-2: the number to dial, from the keypad (the profile's keypad permission)
    or from an address-book entry (named). Exactly one of the two."""
    if (number is None) == (address_book is None):
        raise InvalidInput(
            "give either a number (keypad) or an address-book entry",
            rule=RULE_DESTINATION,
            field="number",
        )
    if number is not None:
        if not profile.keypad:
            raise NotPermitted(
                "the agent's profile does not allow dialling from the keypad; "
                "choose an address-book entry",
                rule=RULE_DESTINATION,
            )
        return number, Source.KEYPAD
    wanted = (address_book or "").strip().casefold()
    for entry in entries:
        if entry.name.casefold() == wanted:
            return entry.number, Source.ADDRESS_BOOK
    raise InvalidInput(
        "no such address-book entry",
        rule=RULE_DESTINATION,
        field="address_book",
    )


def history_destination(recorded: str, edited: str | None, profile: Profile) -> tuple[str, Source]:
    """HI-2: click-to-call a history entry's number as it is, or edited first on
    the keypad (which needs the keypad permission)."""
    if edited is None or edited == recorded:
        return recorded, Source.HISTORY
    if not profile.keypad:
        raise NotPermitted("editing the number needs the keypad permission", rule=RULE_HISTORY_CALL)
    return edited, Source.KEYPAD


# OD-3: the caller ID ----------------------------------------------------------------


def anis(profile: Profile) -> list[str]:
    """OD-3: the profile's outdial ANIs, listed alphabetically."""
    return sorted(set(profile.anis))


def choose_ani(requested: str | None, profile: Profile, default_ani: str | None) -> str:
    """OD-3: one of the profile's ANIs, or without a choice the tenant's default."""
    if requested is None:
        if default_ani is None:
            raise RuleViolation(
                "choose an outdial ANI: the tenant has no default ANI",
                rule=RULE_ANI,
                allowed=anis(profile),
            )
        return default_ani
    if requested not in profile.anis:
        raise InvalidInput(
            "the ANI is not one of the profile's outdial ANIs",
            rule=RULE_ANI,
            field="ani",
            allowed=anis(profile),
        )
    return requested


def dialable(number: str) -> str:
    """The number as it goes into a dial string, checked once more: '+' and
    digits only, so nothing else can ever reach Asterisk."""
    if not _DIALABLE.fullmatch(number):
        raise InvalidInput("not a dialable number", rule="DN-2", field="number")
    return number


def post_dial(tones: str | None) -> str | None:
    """DN-1: tones after ':' are sent once the customer answered."""
    if tones is None or tones == "":
        return None
    if not _POST_DIAL.fullmatch(tones):
        raise InvalidInput("post-dial tones are digits, '*' and '#'", rule="DN-2", field="number")
    return tones


# OD-4 .. OD-7: the agent's state ------------------------------------------------------


def reserve(current: AgentState) -> Transition:
    """OD-4: the agent's phone rings for the outdial: the agent is `reserved`."""
    return agent_rules.transition(current, Trigger.OUTDIAL, reason="outdial")


def restore(before: AgentState, before_reason: str | None) -> Transition:
    """OD-5: an attempt that never connected leaves the agent as before it."""
    reason = before_reason if before is AgentState.IDLE and before_reason else "outdial_failed"
    return agent_rules.transition(AgentState.RESERVED, Trigger.OUTDIAL_FAILED, before, reason)


# OD-5: how an attempt ended -------------------------------------------------------------


class Failure(StrEnum):
    """Why an outbound attempt ended before the customer was connected."""

    NO_ANSWER = "no_answer"  # the customer did not answer in time
    BUSY = "busy"
    CONGESTION = "congestion"  # the network could not connect the call
    REJECTED = "rejected"  # the customer rejected the call
    INVALID_NUMBER = "invalid_number"  # unallocated number
    FAILED = "failed"  # the customer leg could not be placed or was lost
    AGENT_DECLINED = "agent_declined"
    AGENT_NO_ANSWER = "agent_no_answer"
    AGENT_UNREACHABLE = "agent_unreachable"  # the agent's phone cannot be rung
    CANCELLED = "cancelled"  # the agent cancelled while it rang


MESSAGES: dict[Failure, str] = {
    Failure.NO_ANSWER: "The customer did not answer.",
    Failure.BUSY: "The customer's line is busy.",
    Failure.CONGESTION: "The call could not be connected (network congestion).",
    Failure.REJECTED: "The customer rejected the call.",
    Failure.INVALID_NUMBER: "The number does not exist.",
    Failure.FAILED: "The call could not be connected to the customer.",
    Failure.AGENT_DECLINED: "You declined the outbound call.",
    Failure.AGENT_NO_ANSWER: "Your phone did not answer the outbound call.",
    Failure.AGENT_UNREACHABLE: "Your phone cannot be reached.",
    Failure.CANCELLED: "The outbound call was cancelled.",
}

CUSTOMER_SIDE = frozenset(
    {
        Failure.NO_ANSWER,
        Failure.BUSY,
        Failure.CONGESTION,
        Failure.REJECTED,
        Failure.INVALID_NUMBER,
        Failure.FAILED,
    }
)


def customer_failure(dialstatus: str | None, cause: int) -> Failure:
    """OD-5: what a customer leg that ended unanswered means (the one
    classification of hang-ups, for a customer's number)."""
    return Failure(classify(dialstatus, cause, Party.CUSTOMER).value)


def agent_failure(cause: int) -> Failure:
    """OD-5: the agent's phone ended the attempt before it was answered."""
    return Failure.AGENT_NO_ANSWER if phone_not_answered(cause) else Failure.AGENT_DECLINED


def failure_event(
    ix_id: str, kind: str, number: str, failure: Failure, **extra: object
) -> dict[str, object]:
    """OD-5: the error event the agent's desktop shows."""
    return {
        "interaction_id": ix_id,
        "kind": kind,
        "number": number,
        "outcome": failure.value,
        "message": MESSAGES[failure],
        "rule": RULE_FAILURE,
        **extra,
    }
