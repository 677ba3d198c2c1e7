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
    OFFER = "offer"  # a call (or a transfer, or a queue consult) is offered: the phone rings
    CONSULT_OFFER = "consult_offer"  # CO-1: an agent is consulted: the phone rings
    ANSWER = "answer"  # the agent answered the offer on the phone
    RING_NO_ANSWER = "ring_no_answer"  # RONA-1
    OFFER_WITHDRAWN = "offer_withdrawn"  # the offer stopped standing while it rang
    CALL_ENDED = "call_ended"  # END-2
    CONSULT_LEFT = "consult_left"  # CO-5, CF-5: the consulted agent is out, no wrap-up
    WRAP_UP_DONE = "wrap_up_done"  # END-2
    OUTDIAL = "outdial"  # OD-4: the agent starts an outdial: the phone rings
    OUTDIAL_FAILED = "outdial_failed"  # OD-5: the attempt ended before it connected


S = AgentState
T = Trigger


@dataclass(frozen=True, slots=True)
class Allowed:
    """One row of the agent state table: from `previous`, `trigger` leads to
    `state`, as `rule` allows it."""

    previous: AgentState
    trigger: Trigger
    state: AgentState
    rule: str
    when: str


# The agent state machine, complete: every change the product makes, with its
# trigger and the rule that allows it. Anything not listed is refused; a
# `Transition` cannot even be built for it.
TABLE: tuple[Allowed, ...] = (
    Allowed(S.LOGGED_OUT, T.LOGIN, S.IDLE, "ST-1", "the agent logs in"),
    Allowed(S.IDLE, T.LOGOUT, S.LOGGED_OUT, "ST-1", "the agent logs out"),
    Allowed(S.AVAILABLE, T.LOGOUT, S.LOGGED_OUT, "ST-1", "the agent logs out"),
    Allowed(S.RONA, T.LOGOUT, S.LOGGED_OUT, "ST-3", "the agent logs out after a RONA"),
    Allowed(S.IDLE, T.GO_AVAILABLE, S.AVAILABLE, "ST-1", "the agent chooses available"),
    Allowed(S.IDLE, T.GO_IDLE, S.IDLE, "ST-1", "the agent changes the idle reason"),
    Allowed(S.AVAILABLE, T.GO_IDLE, S.IDLE, "ST-1", "the agent chooses idle with a reason"),
    Allowed(S.RONA, T.GO_AVAILABLE, S.AVAILABLE, "ST-3", "only an explicit change leaves RONA"),
    Allowed(S.RONA, T.GO_IDLE, S.IDLE, "ST-3", "only an explicit change leaves RONA"),
    Allowed(S.AVAILABLE, T.OFFER, S.RESERVED, "ST-2", "only available agents get offers"),
    Allowed(S.AVAILABLE, T.CONSULT_OFFER, S.RESERVED, "CO-1", "an available agent is consulted"),
    Allowed(S.IDLE, T.CONSULT_OFFER, S.RESERVED, "CO-1", "an idle agent is consulted"),
    Allowed(S.AVAILABLE, T.OUTDIAL, S.RESERVED, "OD-4", "the agent dials out (PC-3: a contact)"),
    Allowed(S.IDLE, T.OUTDIAL, S.RESERVED, "OD-4", "an idle agent dials out (OD-1)"),
    Allowed(S.RESERVED, T.ANSWER, S.CONNECTED, "IN-2", "the agent answered on the phone"),
    Allowed(S.RESERVED, T.RING_NO_ANSWER, S.RONA, "RONA-1", "no answer, rejected, unreachable"),
    Allowed(S.RESERVED, T.OFFER_WITHDRAWN, S.AVAILABLE, "REL-1", "the offer stopped standing"),
    Allowed(S.RESERVED, T.OFFER_WITHDRAWN, S.IDLE, "CO-1", "a withdrawn consult: back to idle"),
    Allowed(S.RESERVED, T.OUTDIAL_FAILED, S.AVAILABLE, "OD-5", "back to the state before"),
    Allowed(S.RESERVED, T.OUTDIAL_FAILED, S.IDLE, "OD-5", "back to the state before"),
    Allowed(S.CONNECTED, T.CALL_ENDED, S.WRAP_UP, "END-2", "the call ended or was transferred"),
    Allowed(S.CONNECTED, T.CONSULT_LEFT, S.AVAILABLE, "CO-5", "back to the state before"),
    Allowed(S.CONNECTED, T.CONSULT_LEFT, S.IDLE, "CO-5", "back to the state before"),
    Allowed(S.WRAP_UP, T.WRAP_UP_DONE, S.AVAILABLE, "END-2", "after wrap-up (OD-7)"),
    Allowed(S.WRAP_UP, T.WRAP_UP_DONE, S.IDLE, "END-2", "after wrap-up (OD-7)"),
)

_ROWS: dict[tuple[AgentState, Trigger, AgentState], Allowed] = {
    (row.previous, row.trigger, row.state): row for row in TABLE
}

# (from, trigger) -> the states it may lead to. Anything not listed is refused.
TRANSITIONS: dict[tuple[AgentState, Trigger], frozenset[AgentState]] = {
    (row.previous, row.trigger): frozenset(
        r.state for r in TABLE if (r.previous, r.trigger) == (row.previous, row.trigger)
    )
    for row in TABLE
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
    """A change of an agent's state; only the changes of `TABLE` exist."""

    previous: AgentState
    state: AgentState
    trigger: Trigger
    reason: str | None

    def __post_init__(self) -> None:
        if (self.previous, self.trigger, self.state) not in _ROWS:
            raise InvalidTransition(
                f"cannot {self.trigger.value.replace('_', ' ')} from state "
                f"{self.previous.value} to {self.state.value}",
                rule="ST-1",
                state=self.previous.value,
                trigger=self.trigger.value,
            )

    @property
    def rule(self) -> str:
        """The rule that allows this change."""
        return _ROWS[(self.previous, self.trigger, self.state)].rule


def sources(trigger: Trigger) -> frozenset[AgentState]:
    """The states from which `trigger` changes an agent's state."""
    return frozenset(row.previous for row in TABLE if row.trigger is trigger)


def next_state(current: AgentState, trigger: Trigger) -> AgentState:
    """The one state `trigger` leads to from `current`; refused (ST-1) when
    the table has none. Where it allows several, the caller names one
    (`transition(..., state)`)."""
    targets = TRANSITIONS.get((current, trigger), frozenset())
    if len(targets) > 1:
        choices = ", ".join(sorted(t.value for t in targets))
        raise ValueError(f"{trigger.value} from {current.value} leads to {choices}: name one")
    if not targets:
        raise InvalidTransition(
            f"cannot {trigger.value.replace('_', ' ')} from state {current.value}",
            rule="ST-1",
            state=current.value,
            trigger=trigger.value,
        )
    (state,) = targets
    return state


def transition(
    current: AgentState,
    trigger: Trigger,
    state: AgentState | None = None,
    reason: str | None = None,
) -> Transition:
    """The change `trigger` makes from `current` (to `state` where the table
    allows more than one), checked against the table; the reason defaults to
    the trigger's name."""
    to = next_state(current, trigger) if state is None else state
    return Transition(current, to, trigger, trigger.value if reason is None else reason)


def login(current: AgentState) -> Transition:
    if current is not S.LOGGED_OUT:
        raise InvalidTransition(
            f"the agent is already logged in (state {current.value})",
            rule="ST-1",
            state=current.value,
        )
    return transition(current, T.LOGIN, reason="login")


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
    return transition(current, trigger, reason=reason)


def system_transition(
    current: AgentState, trigger: Trigger, state: AgentState | None = None
) -> Transition:
    """A change the system makes (offer, answer, RONA, end of call); `state`
    where the table allows more than one (a withdrawn offer: `available`)."""
    return transition(current, trigger, state)


# Asterisk device states in which a phone is off-hook or ringing (ST-4).
BUSY_DEVICE_STATES = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


def device_is_busy(device_state: str) -> bool:
    """ST-4: a phone that is in use, ringing or on hold gets no new offer."""
    return device_state.upper() in BUSY_DEVICE_STATES


def may_receive_offer(state: AgentState) -> bool:
    """ST-2: only `available` agents are offered work."""
    return state is S.AVAILABLE
