"""Call-associated data (CAD-1..CAD-7): the typing, validation and
normalisation of variable values, who may see and edit them, and how they
are shown. Pure rules: no I/O.

Values, their types and their stored form: ``controlplane.domain.values``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controlplane.config import Flow, VariableDef
from controlplane.domain.errors import InvalidInput, NotFound, RuleViolation
from controlplane.domain.interaction import (
    MAX_DISPLAYED_VARIABLES,
    Interaction,
    Status,
    displayed_variables,
    iso,
)
from controlplane.domain.values import Raw, normalise

# Statuses in which the agent on the interaction is connected to it and may
# edit (CAD-3): every status but the ones before the answer and after the end.
_NOT_CONNECTED = frozenset({Status.QUEUED, Status.RINGING, Status.ENDED})


def agent_edit_statuses() -> tuple[str, ...]:
    return tuple(s.value for s in Status if s not in _NOT_CONNECTED)


def flow_set_statuses() -> tuple[str, ...]:
    """CAD-7: the flow sets values while the call is in progress (not after its end)."""
    return tuple(s.value for s in Status if s is not Status.ENDED)


class NotAllowed(RuleViolation):
    """The caller may not do this to this interaction or variable."""

    status = 403
    error_id = "forbidden"


class VariableConflict(RuleViolation):
    """CAD-4: a save based on an older version than the one stored."""

    status = 409
    error_id = "variable-conflict"


# What is stored ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A variable's current value on one interaction, with its version
    (0 = as the interaction started; each save adds 1)."""

    value: str | None = None
    version: int = 0
    source: str | None = None  # "agent" or "flow": who saved it last
    agent: str | None = None  # the agent who saved it last
    at: int | None = None  # when (ms)


@dataclass(frozen=True, slots=True)
class Write:
    """One variable to save: its normalised value and the version the save
    is based on (None: the flow, which overwrites whatever is stored)."""

    name: str
    value: str | None
    based_on: int | None


@dataclass(frozen=True, slots=True)
class Problem:
    variable: str
    rule: str
    problem: str

    def public(self) -> dict[str, str]:
        return {"variable": self.variable, "rule": self.rule, "problem": self.problem}


def ordered(flow: Flow) -> list[VariableDef]:
    """CAD-2: the variables shown, in configured order, at most 30."""
    shown = {d["name"] for d in displayed_variables(flow, {})}
    return [v for v in sorted(flow.variables, key=lambda v: (v.order, v.name)) if v.name in shown]


def initial_values(flow: Flow, provided: Mapping[str, Raw] | None = None) -> dict[str, str]:
    """The values an interaction starts with: the flow's defaults, overridden
    by values the flow provides (for example with a callback request)."""
    values: dict[str, str] = {}
    for var in flow.variables:
        value = normalise(var.type, var.default)
        if value is not None:
            values[var.name] = value
    for write in plan_flow_set(flow, provided or {}):
        if write.value is None:
            values.pop(write.name, None)
        else:
            values[write.name] = write.value
    return values


def _raise_first(problems: list[Problem], refused: list[Problem]) -> None:
    """One error naming the first problem (and its variable); all listed."""
    if refused:
        first = refused[0]
        raise NotAllowed(
            f"variable {first.variable!r}: {first.problem}",
            rule=first.rule,
            variable=first.variable,
            problems=[p.public() for p in refused + problems],
        )
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"variable {first.variable!r}: {first.problem}",
            rule=first.rule,
            variable=first.variable,
            problems=[p.public() for p in problems],
        )


def plan_agent_edit(flow: Flow, edits: Mapping[str, tuple[Raw, int]]) -> list[Write]:
    """CAD-1..CAD-4: check an agent's save of (value, based-on version) per
    variable. Any problem refuses the whole save; nothing is written."""
    defs = {v.name: v for v in flow.variables}
    shown = {v.name for v in ordered(flow)}
    problems: list[Problem] = []
    refused: list[Problem] = []
    writes: list[Write] = []
    for name, (raw, based_on) in edits.items():
        var = defs.get(name)
        if var is None:
            problems.append(Problem(name, "CAD-1", "the flow defines no such variable"))
            continue
        if name not in shown:
            problems.append(
                Problem(name, "CAD-2", f"not among the {MAX_DISPLAYED_VARIABLES} shown variables")
            )
            continue
        if not var.editable:
            refused.append(Problem(name, "CAD-3", "this variable is not editable"))
            continue
        if based_on < 0:
            problems.append(Problem(name, "CAD-4", "a version is 0 or more"))
            continue
        try:
            writes.append(Write(name, normalise(var.type, raw), based_on))
        except ValueError as exc:
            problems.append(Problem(name, "CAD-3", str(exc)))
    _raise_first(problems, refused)
    return writes


def plan_flow_set(flow: Flow, values: Mapping[str, Raw]) -> list[Write]:
    """CAD-7: the flow sets any of its variables (editable or not) to a valid value."""
    defs = {v.name: v for v in flow.variables}
    problems: list[Problem] = []
    writes: list[Write] = []
    for name, raw in values.items():
        var = defs.get(name)
        if var is None:
            problems.append(Problem(name, "CAD-1", "the flow defines no such variable"))
            continue
        try:
            writes.append(Write(name, normalise(var.type, raw), None))
        except ValueError as exc:
            problems.append(Problem(name, "CAD-3", str(exc)))
    _raise_first(problems, [])
    return writes


# Who sees and edits --------------------------------------------------------------


def parties(ix: Interaction) -> frozenset[str]:
    """The agents who are parties of the interaction and see its values
    (CAD-6): the agent it is offered to or handled by."""
    return frozenset({ix.agent}) if ix.agent else frozenset()


def require_party(ix: Interaction, agent: str | None) -> None:
    """CAD-6: only parties of the interaction see its values."""
    if agent is None or agent not in parties(ix):
        raise NotAllowed(
            "only a party of the interaction may see its variables",
            rule="CAD-6",
            interaction=ix.id,
        )


def require_editor(ix: Interaction, agent: str) -> None:
    """CAD-3: only an agent connected to the interaction may edit."""
    if agent not in parties(ix):
        raise NotAllowed(
            "only the agent connected to the interaction may edit its variables",
            rule="CAD-3",
            interaction=ix.id,
        )
    if ix.status in _NOT_CONNECTED:
        raise NotAllowed(
            f"the interaction is {ix.status.value}: variables are edited while connected",
            rule="CAD-3",
            interaction=ix.id,
            status=ix.status.value,
        )


def refused_by_store(ix: Interaction, outcome: str, status: str) -> RuleViolation:
    """The atomic save found the interaction changed since it was read."""
    if outcome == "gone":
        return NotFound(f"unknown interaction {ix.id!r}", interaction=ix.id)
    if outcome == "party":
        return NotAllowed(
            "only the agent connected to the interaction may edit its variables",
            rule="CAD-3",
            interaction=ix.id,
        )
    return NotAllowed(
        f"the interaction is {status}: variables are edited while connected",
        rule="CAD-3",
        interaction=ix.id,
        status=status,
    )


def conflict(flow: Flow, current: Mapping[str, Stored], *, reveal_secure: bool) -> VariableConflict:
    """CAD-4: a save based on older versions; names each variable with its
    current value (a secure one only for a party) and version."""
    secure = {v.name for v in flow.variables if v.secure}
    items = []
    for name, stored in current.items():
        masked = name in secure and not reveal_secure
        items.append(
            {
                "variable": name,
                "current_value": None if masked else stored.value,
                "current_version": stored.version,
                "masked": masked,
            }
        )
    first = items[0]
    return VariableConflict(
        f"variable {first['variable']!r} was saved meanwhile (now version "
        f"{first['current_version']}); the first save wins",
        rule="CAD-4",
        variable=first["variable"],
        current_value=first["current_value"],
        current_version=first["current_version"],
        conflicts=items,
    )


def view(
    flow: Flow,
    state: Mapping[str, Stored],
    *,
    reveal_secure: bool,
    only: frozenset[str] | None = None,
) -> list[dict[str, object]]:
    """CAD-2/CAD-5/CAD-6: the shown variables with their saved values and
    versions; a secure value is masked (None, ``masked``) unless revealed."""
    values = {
        v.name: state[v.name].value if v.name in state else normalise(v.type, v.default)
        for v in flow.variables
    }
    out: list[dict[str, object]] = []
    for entry in displayed_variables(flow, values):
        name = str(entry["name"])
        if only is not None and name not in only:
            continue
        stored = state.get(name, Stored())
        masked = bool(entry["secure"]) and not reveal_secure
        if masked:
            entry["value"] = None
        entry.update(
            {
                "masked": masked,
                "version": stored.version,
                "source": stored.source,
                "updated_by": stored.agent,
                "updated_at": iso(stored.at),
            }
        )
        out.append(entry)
    return out
