"""Agent state (ST-1..ST-4): which state changes are allowed, and why not.

Pure rules: no I/O. The store applies a transition atomically and only if
the agent is still in the state the rule was checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controlplane.domain.errors import InvalidInput, InvalidTransition


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    IDLE = "idle"
    AVAILABLE = "available"
    RESERVED = "reserved"
    CONNECTED = "connected"
    WRAP_UP = "wrap_up"
    RONA = "rona"


class Trigger(StrEnum):
    """What makes an agent change state."""

    LOGIN = "login"
    LOGOUT = "logout"
    GO_AVAILABLE = "go_available"
    GO_IDLE = "go_idle"
    OFFER = "offer"  # a call is offered: the phone rings
    ANSWER = "answer"  # the agent answered the offer on the phone
    RING_NO_ANSWER = "ring_no_answer"  # RONA-1
    OFFER_WITHDRAWN = "offer_withdrawn"  # the customer left while the offer rang
    CALL_ENDED = "call_ended"  # END-2
    WRAP_UP_DONE = "wrap_up_done"  # END-2
    OUTDIAL = "outdial"  # OD-4: the agent starts an outdial: the phone rings
    OUTDIAL_FAILED = "outdial_failed"  # OD-5: the attempt ended before it connected


S = AgentState
T = Trigger

# (from, trigger) -> to. Anything not listed is refused.
TRANSITIONS: dict[tuple[AgentState, Trigger], AgentState] = {
    (S.LOGGED_OUT, T.LOGIN): S.IDLE,
    (S.IDLE, T.LOGOUT): S.LOGGED_OUT,
    (S.AVAILABLE, T.LOGOUT): S.LOGGED_OUT,
    (S.RONA, T.LOGOUT): S.LOGGED_OUT,
    (S.IDLE, T.GO_AVAILABLE): S.AVAILABLE,
    (S.IDLE, T.GO_IDLE): S.IDLE,  # change of idle reason
    (S.AVAILABLE, T.GO_IDLE): S.IDLE,
    (S.RONA, T.GO_AVAILABLE): S.AVAILABLE,  # ST-3: only an explicit change leaves RONA
    (S.RONA, T.GO_IDLE): S.IDLE,
    (S.AVAILABLE, T.OFFER): S.RESERVED,  # ST-2: only available agents get offers
    (S.RESERVED, T.ANSWER): S.CONNECTED,
    (S.RESERVED, T.RING_NO_ANSWER): S.RONA,
    (S.RESERVED, T.OFFER_WITHDRAWN): S.AVAILABLE,
    (S.CONNECTED, T.CALL_ENDED): S.WRAP_UP,
    (S.WRAP_UP, T.WRAP_UP_DONE): S.AVAILABLE,  # or IDLE, see after_wrap_up()
}

# Why a refused manual change is refused, for the error message.
_MANUAL_REFUSALS: dict[AgentState, str] = {
    S.LOGGED_OUT: "the agent is logged out: log in first",
    S.RESERVED: "an offer is ringing on the agent's phone",
    S.CONNECTED: "the agent is on a call",
    S.WRAP_UP: "the agent is in wrap-up: apply a wrap-up reason first",
}


@dataclass(frozen=True, slots=True)
class Transition:
    previous: AgentState
    state: AgentState
    trigger: Trigger
    reason: str | None


def next_state(current: AgentState, trigger: Trigger) -> AgentState:
    try:
        return TRANSITIONS[(current, trigger)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {trigger.value.replace('_', ' ')} from state {current.value}",
            rule="ST-1",
            state=current.value,
            trigger=trigger.value,
        ) from None


def login(current: AgentState) -> Transition:
    if current is not S.LOGGED_OUT:
        raise InvalidTransition(
            f"the agent is already logged in (state {current.value})",
            rule="ST-1",
            state=current.value,
        )
    return Transition(current, next_state(current, T.LOGIN), T.LOGIN, "login")


def change_by_agent(
    current: AgentState, wanted: AgentState, reason: str | None, idle_reasons: dict[str, str]
) -> Transition:
    """An agent (or supervisor) asks for `available`, `idle` (with a reason) or logout."""
    if wanted is S.IDLE:
        if reason is None:
            raise InvalidInput("an idle reason is required", rule="ST-1", field="reason")
        if reason not in idle_reasons:
            raise InvalidInput(
                f"unknown idle reason {reason!r}",
                rule="ST-1",
                field="reason",
                allowed=sorted(idle_reasons),
            )
        trigger = T.GO_IDLE
    elif wanted is S.AVAILABLE:
        if reason is not None:
            raise InvalidInput("only idle takes a reason", rule="ST-1", field="reason")
        trigger = T.GO_AVAILABLE
    elif wanted is S.LOGGED_OUT:
        trigger = T.LOGOUT
    else:
        raise InvalidInput(
            f"an agent cannot choose the state {wanted.value}",
            rule="ST-1",
            field="state",
            allowed=[S.AVAILABLE.value, S.IDLE.value, S.LOGGED_OUT.value],
        )
    if (current, trigger) not in TRANSITIONS:
        why = _MANUAL_REFUSALS.get(current, f"not allowed from {current.value}")
        raise InvalidTransition(
            f"cannot change to {wanted.value}: {why}",
            rule="ST-1",
            state=current.value,
            wanted=wanted.value,
        )
    if current is S.AVAILABLE and wanted is S.AVAILABLE:
        raise InvalidTransition("the agent is already available", rule="ST-1", state=current.value)
    return Transition(current, TRANSITIONS[(current, trigger)], trigger, reason)


def after_wrap_up(after: str) -> AgentState:
    """END-2: the state an agent takes after wrap-up, as the tenant configures it."""
    return S.IDLE if after == "idle" else S.AVAILABLE


def system_transition(current: AgentState, trigger: Trigger) -> Transition:
    """A change the system makes (offer, answer, RONA, end of call)."""
    return Transition(current, next_state(current, trigger), trigger, trigger.value)


# Asterisk device states in which a phone is off-hook or ringing (ST-4).
BUSY_DEVICE_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


def device_is_busy(device_state: str) -> bool:
    """ST-4: a phone that is in use, ringing or on hold gets no new offer."""
    return device_state.upper() in BUSY_DEVICE_STATES


def may_receive_offer(state: AgentState) -> bool:
    """ST-2: only `available` agents are offered work."""
    return state is S.AVAILABLE


def finish_wrap_up(current: AgentState, after: str) -> Transition:
    """END-2: the agent applied a wrap-up reason; next is `available` or `idle`."""
    next_state(current, T.WRAP_UP_DONE)  # refuses anything but wrap_up
    return Transition(current, after_wrap_up(after), T.WRAP_UP_DONE, "wrap_up")
