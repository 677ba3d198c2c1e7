"""Consult and conference (CO-1..CO-6, CF-1..CF-7, HOLD-3): who may do what
in which state of the consult, what a hang-up means, what the consulted
agent is shown, and how the agents' states change.

Pure rules: no I/O.

Agent 1 is the consulting agent (the interaction's agent), agent 2 the
consulted party (an agent, or a number). A consult is one leg of the
interaction (`Leg`, role `consult`) in one of these states:

=============  ========================================  =====================
state          agent 1 talks with                        held (music on hold)
=============  ========================================  =====================
queued         nobody yet (waits for an agent: CO-1)     the customer
ringing        nobody yet                                the customer
consulting     agent 2 (the consult's own bridge)        the customer
consult_held   the customer (the interaction's bridge)   agent 2
conference     both (all in the interaction's bridge)    nobody (CF-3)
=============  ========================================  =====================

While the consult waits or rings, agent 1 may resume the customer (HOLD-2)
and talk with them; when agent 2 then answers, agent 2 is held at once
(consult_held): the customer and agent 2 never both talk with agent 1 and
are never both held (HOLD-3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum

from controlplane.domain.errors import InvalidTransition, RuleViolation
from controlplane.domain.interaction import Interaction, Leg, LegState
from controlplane.domain.legs import LegKind

S = LegState

_REQUEST = re.compile(rf"^(?P<ix>[0-9a-f]{{32}})-{LegKind.CONSULT}(?P<n>[0-9]+)$")

MAX_CONFIGURED_VARIABLES = 6  # CO-2
MAX_CONSULT_VARIABLES = 9  # CO-2: the consulting agent's three, plus six configured


class NotParty(RuleViolation):
    """The caller takes no part in the consult."""

    status = 403
    error_id = "forbidden"


class Role(StrEnum):
    CUSTOMER = "customer"
    CONSULTING = "consulting_agent"  # agent 1
    CONSULTED = "consulted_agent"  # agent 2


class Action(StrEnum):
    CANCEL = "cancel"  # CO-1: withdraw a consult that waits or rings
    END_CONSULT = "end_consult"  # CO-4: customer and agent 2 are out; agent 1 wraps up
    LEAVE = "leave"  # CO-5, CF-5: agent 2 leaves the consult or the conference
    HOLD_CONSULTED = "hold_consulted"  # CO-3: = resume the customer
    RESUME_CONSULTED = "resume_consulted"  # CO-3: = hold the customer
    TRANSFER = "transfer"  # CO-4, CF-4: the call goes on between customer and agent 2
    CONFERENCE = "conference"  # CF-1: all three hear each other
    HOLD_CUSTOMER = "hold_customer"  # HOLD-1, HOLD-3 (in consult_held: back to agent 2)
    RESUME_CUSTOMER = "resume_customer"  # HOLD-2, HOLD-3 (in consulting: agent 2 is held)
    END_CALL = "end_call"  # CO-4, CF-6: the interaction ends for everyone
    WRAP_UP = "wrap_up"  # END-2: only agent 1 wraps the call up


# The role tables of the product ("Beratungsanruf einleiten" and
# "Konferenzgespräch starten"): per role and action, the consult states in
# which it is allowed. Anything else is refused with the rule in _REFUSED.
ALLOWED: dict[Role, dict[Action, frozenset[LegState]]] = {
    Role.CONSULTING: {
        Action.CANCEL: frozenset({S.QUEUED, S.RINGING}),
        Action.END_CONSULT: frozenset({S.CONSULTING, S.CONSULT_HELD}),
        Action.HOLD_CONSULTED: frozenset({S.CONSULTING}),
        Action.RESUME_CONSULTED: frozenset({S.CONSULT_HELD}),
        Action.TRANSFER: frozenset({S.CONSULTING, S.CONSULT_HELD, S.CONFERENCE}),
        Action.CONFERENCE: frozenset({S.CONSULTING, S.CONSULT_HELD}),
        # the customer is held while the consult waits or rings, and in consulting
        Action.HOLD_CUSTOMER: frozenset({S.QUEUED, S.RINGING, S.CONSULT_HELD}),
        Action.RESUME_CUSTOMER: frozenset({S.QUEUED, S.RINGING, S.CONSULTING}),
        # ending while the customer is held is refused (END-1); a consult that
        # waits or rings with the customer resumed is checked by END-1 alone
        Action.END_CALL: frozenset({S.QUEUED, S.RINGING, S.CONSULT_HELD, S.CONFERENCE}),
        Action.WRAP_UP: frozenset(),  # after the call (or a transfer), not during it
    },
    Role.CONSULTED: {
        Action.LEAVE: frozenset({S.CONSULTING, S.CONSULT_HELD, S.CONFERENCE}),
    },
    Role.CUSTOMER: {},  # a customer starts nothing; hanging up ends the interaction
}

# Why an action is refused: (role, action) -> rule, or per state.
_REFUSED: dict[tuple[Role, Action], str] = {
    (Role.CONSULTING, Action.CANCEL): "CO-1",
    (Role.CONSULTING, Action.END_CONSULT): "CO-4",
    (Role.CONSULTING, Action.TRANSFER): "CO-4",
    (Role.CONSULTING, Action.CONFERENCE): "CF-1",
    (Role.CONSULTING, Action.END_CALL): "END-1",
    (Role.CONSULTING, Action.HOLD_CUSTOMER): "HOLD-1",
    (Role.CONSULTING, Action.RESUME_CUSTOMER): "HOLD-2",
    (Role.CONSULTING, Action.WRAP_UP): "END-2",
    (Role.CONSULTED, Action.LEAVE): "CO-5",
}
_WHY: dict[Action, str] = {
    Action.CANCEL: "only a consult that waits or rings can be cancelled",
    Action.END_CONSULT: "only an answered consult can be ended (cancel one that rings)",
    Action.HOLD_CONSULTED: "the consulted party is not in the consult",
    Action.RESUME_CONSULTED: "the consulted party is not on hold",
    Action.TRANSFER: "only an answered consult can be transferred to",
    Action.CONFERENCE: "a conference starts from an answered consult",
    Action.END_CALL: "the customer is on hold: resume the customer first",
    Action.HOLD_CUSTOMER: "the customer is on hold already",
    Action.RESUME_CUSTOMER: "the customer is not on hold",
    Action.WRAP_UP: "the call is still going on",
    Action.LEAVE: "the consult has not been answered",
}


def role_of(ix: Interaction, leg: Leg | None, agent: str | None) -> Role | None:
    """Agent 1 (the interaction's agent), agent 2 (the consulted agent), or nobody."""
    if agent is not None and agent == ix.agent:
        return Role.CONSULTING
    if leg is not None and agent is not None and leg.agent == agent:
        return Role.CONSULTED
    return None


_HOLDS = frozenset(
    {
        Action.HOLD_CONSULTED,
        Action.RESUME_CONSULTED,
        Action.HOLD_CUSTOMER,
        Action.RESUME_CUSTOMER,
    }
)


def refusal_rule(role: Role, action: Action, state: LegState) -> str | None:
    """The rule that refuses `action` by `role` in `state`, or None if allowed."""
    if state in ALLOWED.get(role, {}).get(action, frozenset()):
        return None
    if state is S.CONFERENCE and action in _HOLDS:
        return "CF-3"  # nobody is held in a conference
    if role is Role.CONSULTED:
        return "CO-5"  # agent 2 only leaves (or takes the transfer)
    return _REFUSED.get((role, action), "CO-3")


def require(ix: Interaction, leg: Leg | None, agent: str | None, action: Action) -> Role:
    """Refuses (naming the rule) unless `agent` may do `action` now."""
    if leg is None:
        raise InvalidTransition(
            "there is no consult on this call",
            rule="CF-1" if action is Action.CONFERENCE else "CO-1",
        )
    role = role_of(ix, leg, agent)
    if role is None:
        raise NotParty("only the consulting and the consulted agent act on a consult")
    rule = refusal_rule(role, action, leg.state)
    if rule is not None:
        why = _WHY.get(action, "not allowed now")
        if rule == "CF-3":
            why = "nobody can be held during a conference"
        elif rule == "CO-5" and action is not Action.LEAVE:
            why = "the consulted agent can leave the consult, not " + action.value.replace("_", " ")
        raise InvalidTransition(
            f"{why} (consult is {leg.state.value})",
            rule=rule,
            role=role.value,
            action=action.value,
            consult=leg.state.value,
        )
    return role


def consult_bridge_id(leg: Leg) -> str:
    """The consult's own mixing bridge (agent 1 and agent 2 while consulting)."""
    return f"{leg.channel}-bridge"


def is_consult_request(member: str) -> bool:
    """CO-1: a queue holds interactions, and consult requests by their leg ID."""
    return _REQUEST.match(member) is not None


def request_owner(member: str) -> str:
    m = _REQUEST.match(member)
    if m is None:
        raise ValueError(f"{member!r} is no consult request")
    return m["ix"]


def customer_state(ix: Interaction, leg: Leg | None) -> str:
    """CO-3: what the consulting agent sees of the customer's leg."""
    if leg is not None and leg.state is S.CONFERENCE:
        return "conference"
    return "held" if ix.held else "connected"


# Hang-ups (CO-4, CO-5, CO-6, CF-5, CF-6, CF-7) -----------------------------------


class Hangup(StrEnum):
    ENDS_INTERACTION = "ends_interaction"  # everyone is out; agent 1 in wrap-up
    CONSULT_ENDS = "consult_ends"  # agent 2 is out (no wrap-up); agent 1 with the customer
    CONSULT_FAILED = "consult_failed"  # agent 2 did not take it; agent 1 with the customer


def after_hangup(party: Role, state: LegState) -> Hangup:
    """What a party hanging up the phone means in a consult state: the
    customer (CO-6, CF-7) or agent 1 (CO-4, CF-6) end the interaction for
    everyone; agent 2 leaves (CO-5, CF-5), or did not take the consult."""
    if party is not Role.CONSULTED:
        return Hangup.ENDS_INTERACTION
    if state in (S.QUEUED, S.RINGING):
        return Hangup.CONSULT_FAILED
    return Hangup.CONSULT_ENDS


# What the consulted agent is shown (CO-2, CF-2) ----------------------------------


def _fixed(name: str, label: str, value: str) -> dict[str, object]:
    return {
        "name": name,
        "label": label,
        "type": "string",
        "editable": False,
        "secure": False,
        "value": value,
    }


def consult_variables(
    agent_name: str,
    directory_number: str,
    team_name: str,
    shown: Sequence[dict[str, object]],
    configured: Iterable[str],
) -> list[dict[str, object]]:
    """CO-2: the consulting agent's name, directory number (extension) and
    team, then at most six of the call's variables as the flow configures
    them (in that order, with their current values): at most nine."""
    by_name = {str(v["name"]): v for v in shown}
    out = [
        _fixed("consulting_agent_name", "Agent", agent_name),
        _fixed("consulting_agent_dn", "Directory number", directory_number),
        _fixed("consulting_agent_team", "Team", team_name),
    ]
    for name in list(configured)[:MAX_CONFIGURED_VARIABLES]:
        if name in by_name:
            var = by_name[name]
            out.append({k: var[k] for k in ("name", "label", "type", "secure", "value")})
            out[-1]["editable"] = False
    return out[:MAX_CONSULT_VARIABLES]


def conference_variables(
    consult: Sequence[dict[str, object]], consulted_name: str, consulted_dn: str
) -> list[dict[str, object]]:
    """CF-2: the consult's variables plus the consulted agent's name and
    directory number."""
    return [
        *consult,
        _fixed("consulted_agent_name", "Consulted agent", consulted_name),
        _fixed("consulted_agent_dn", "Consulted directory number", consulted_dn),
    ]
