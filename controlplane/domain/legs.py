"""Legs: the channels the control plane places for an interaction, their IDs,
and the agent state changes of the agents on consult and transfer legs
(IN-1, CB-2, OD-4, TR-2, CO-1, CO-5, SUP-4).

Every leg the control plane creates has a channel ID of ours,
"<interaction id>-<kind letter><number>" (`LegKind`), so that its events lead
back to the interaction even after a restart, and a retried originate cannot
place a second call.

Pure rules: no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum

from controlplane.domain import agent as agent_rules
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.hangup import leg_outcome
from controlplane.domain.interaction import Interaction, Leg, LegRole


class LegKind(StrEnum):
    """The letter of a leg's channel ID: what the leg is for."""

    AGENT = "a"  # IN-1, OD-4: the agent's phone, for an offer or an outbound call
    CALLBACK = "c"  # CB-2: a callback's customer
    OUTDIAL = "o"  # OD-4: an outbound call's customer
    CONSULT = "k"  # CO-1: the consulted party (an agent or a number)
    TRANSFER = "x"  # TR-2, TR-5: a blind transfer's target
    SUPERVISOR = "s"  # SUP-4: the supervisor's phone
    SNOOP = "p"  # SUP-4: the snoop channel on the agent's leg


_LEG_ID = re.compile(r"^(?P<ix>[0-9a-f]{32})-(?P<kind>[a-z])(?P<n>[0-9]+)$")

__all__ = [
    "LegKind",
    "answered",
    "consult_leg",
    "consulted_out",
    "leg_id",
    "leg_interaction",
    "leg_kind",
    "leg_number",
    "leg_of",
    "leg_outcome",
    "next_leg_id",
    "not_taken",
    "offered",
    "prior_state",
    "transfer_leg",
    "transferred",
    "withdrawn",
]


def leg_id(ix_id: str, kind: LegKind, number: int) -> str:
    return f"{ix_id}-{kind}{number}"


def _match(channel_id: str) -> re.Match[str] | None:
    return _LEG_ID.match(channel_id)


def leg_interaction(channel_id: str) -> str | None:
    """The interaction a leg of ours belongs to (None for other channels)."""
    m = _match(channel_id)
    return m["ix"] if m else None


def leg_kind(channel_id: str) -> str | None:
    """The kind letter of a leg of ours (compare it with `LegKind`; None for
    other channels)."""
    m = _match(channel_id)
    return m["kind"] if m else None


def leg_number(channel_id: str, kind: LegKind) -> tuple[str, int] | None:
    """(interaction, number) of a leg of this kind; None for any other channel."""
    m = _match(channel_id)
    if m is None or m["kind"] != kind.value:
        return None
    return m["ix"], int(m["n"])


# The interaction's consult and transfer legs -------------------------------------


def consult_leg(ix: Interaction) -> Leg | None:
    return next((leg for leg in ix.legs if leg.role is LegRole.CONSULT), None)


def transfer_leg(ix: Interaction) -> Leg | None:
    return next((leg for leg in ix.legs if leg.role is LegRole.TRANSFER), None)


def leg_of(ix: Interaction, channel: str) -> Leg | None:
    return next((leg for leg in ix.legs if leg.channel == channel), None)


def next_leg_id(ix: Interaction, kind: LegKind) -> str:
    """A new consult or transfer leg ID; the caller saves `ix`."""
    ix.leg_seq += 1
    return leg_id(ix.id, kind, ix.leg_seq)


# Agent states of consulted and transfer-target agents ----------------------------


def prior_state(state: AgentState, reason: str | None) -> str:
    """How a leg remembers the offered agent's state, to return them to it."""
    if state is AgentState.IDLE:
        return f"idle:{reason or ''}"
    return state.value


def _from_prior(prior: str | None) -> tuple[AgentState, str | None]:
    if prior and prior.startswith("idle:"):
        return AgentState.IDLE, prior.partition(":")[2] or None
    return AgentState.AVAILABLE, None


def offered(prior: AgentState, *, transfer: bool) -> Transition:
    """CO-1, TR-2: the target's phone rings with the consult or transfer."""
    if transfer:
        return agent_rules.transition(prior, Trigger.OFFER, reason="transfer")
    return agent_rules.transition(prior, Trigger.CONSULT_OFFER, reason="consult")


def answered() -> Transition:
    return agent_rules.transition(AgentState.RESERVED, Trigger.ANSWER, reason="answer")


def not_taken(reason: str) -> Transition:
    """RONA-1 applies to consult and transfer offers too: no answer, rejected."""
    return agent_rules.transition(AgentState.RESERVED, Trigger.RING_NO_ANSWER, reason=reason)


def withdrawn(prior: str | None) -> Transition:
    """The consult was cancelled (or the call ended) while it rang: the agent
    is back in the state they were in (an available agent keeps their place)."""
    state, reason = _from_prior(prior)
    return agent_rules.transition(
        AgentState.RESERVED, Trigger.OFFER_WITHDRAWN, state, reason or "offer_withdrawn"
    )


def consulted_out(prior: str | None) -> Transition:
    """CO-5, CO-6, CF-5, CF-7: the consulted agent is out of the call, with
    no wrap-up: back to the state they were in before the consult."""
    state, reason = _from_prior(prior)
    return agent_rules.transition(
        AgentState.CONNECTED, Trigger.CONSULT_LEFT, state, reason or "consult_ended"
    )


def transferred() -> Transition:
    """TR-6, CO-4, CF-4: the transferring agent leaves the call: wrap-up."""
    return agent_rules.transition(AgentState.CONNECTED, Trigger.CALL_ENDED, reason="transferred")
