"""Call-associated data (CAD-1..CAD-7): the typing, validation and
normalisation of variable values, who may see and edit them, and how they
are shown. Pure rules: no I/O.

Values travel as strings in their normalised form:

- ``string``: as given (at most 256 characters, no control characters but
  tab, CR and LF);
- ``integer``: decimal digits with an optional ``-``, within the signed 64-bit
  range (``"007"`` -> ``"7"``);
- ``decimal``: digits with an optional fraction, kept to the digits given
  (``"+012.50"`` -> ``"12.50"``); no exponent, no NaN or infinity;
- ``boolean``: ``"true"`` or ``"false"``;
- ``datetime``: ISO 8601 with a time and a UTC offset, stored in UTC with
  milliseconds: ``"2024-05-01T12:00:00+02:00"`` -> ``"2024-05-01T10:00:00.000+00:00"``.

``None`` is "no value". For every type but ``string`` an empty (or blank)
value is "no value" too. Error messages never repeat the value, so that a
refused secure value cannot leak through a response or a log (CAD-6).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from controlplane.config import Flow, VariableDef, VariableType
from controlplane.domain.errors import InvalidInput, NotFound, RuleViolation
from controlplane.domain.interaction import (
    MAX_DISPLAYED_VARIABLES,
    Interaction,
    Status,
    displayed_variables,
    iso,
)

MAX_VALUE_LENGTH = 256  # CAD-3
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Raw = str | bool | int | float | None
"""A value as a client or a flow sends it (JSON string, boolean or number, or null)."""

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


# Values --------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_ISO_CHARS = re.compile(r"^[0-9T:.,+\-WZ]+$")


def normalise(kind: VariableType, raw: Raw) -> str | None:
    """The stored form of a value of this type. Raises ValueError with a
    problem text that does not repeat the value."""
    if raw is None:
        return None
    text = _as_text(kind, raw)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"longer than {MAX_VALUE_LENGTH} characters ({len(text)})")
    if kind is VariableType.STRING:
        if _CONTROL.search(text):
            raise ValueError("contains control characters")
        return text
    text = text.strip()
    if not text:
        return None
    if kind is VariableType.INTEGER:
        return _integer(text)
    if kind is VariableType.DECIMAL:
        return _decimal(text)
    if kind is VariableType.BOOLEAN:
        return _boolean(text)
    return _datetime(text)


def _as_text(kind: VariableType, raw: str | bool | int | float) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        if kind is not VariableType.BOOLEAN:
            raise ValueError(f"a {kind.value} is expected, not a boolean")
        return "true" if raw else "false"
    if kind not in (VariableType.INTEGER, VariableType.DECIMAL):
        raise ValueError(f"a {kind.value} is expected, not a number")
    if isinstance(raw, int):
        return str(raw)
    if kind is VariableType.INTEGER:
        raise ValueError("an integer is expected (no fraction)")
    if not math.isfinite(raw):
        raise ValueError("a finite decimal is expected")
    return format(Decimal(repr(raw)), "f")


def _integer(text: str) -> str:
    if not _INTEGER.match(text):
        raise ValueError("not an integer (digits with an optional sign)")
    number = int(text)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError("outside the signed 64-bit range")
    return str(number)


def _decimal(text: str) -> str:
    if not _DECIMAL.match(text):
        raise ValueError("not a decimal (digits, optionally '.' and more digits)")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a decimal") from None
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def _boolean(text: str) -> str:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError("not a boolean (true or false)")
    return lowered


def _datetime(text: str) -> str:
    upper = text.upper()
    if not _ISO_CHARS.match(upper) or upper.count("T") != 1:
        raise ValueError("not an ISO 8601 date and time (e.g. 1999-12-31T23:59:00+01:00)")
    try:
        parsed = datetime.fromisoformat(upper)
    except ValueError:
        raise ValueError("not an ISO 8601 date and time (e.g. 1999-12-31T23:59:00+01:00)") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("an ISO 8601 date and time needs a UTC offset (Z or +hh:mm)")
    try:
        return parsed.astimezone(UTC).isoformat(timespec="milliseconds")
    except OverflowError:
        raise ValueError("outside the supported range of dates") from None


def check_default(var: VariableDef) -> None:
    """A configured default must be a valid value of the variable's type."""
    if var.default is not None:
        normalise(var.type, var.default)


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
