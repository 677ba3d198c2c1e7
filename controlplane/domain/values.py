"""Call-variable values (CAD-1, CAD-3): their types and the one form each is
stored and shown in. Pure rules, imported by the configuration (a flow's
defaults are checked with them) and by the variable rules.

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
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

MAX_VALUE_LENGTH = 256  # CAD-3
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Raw = str | bool | int | float | None
"""A value as a client or a flow sends it (JSON string, boolean or number, or null)."""


class VariableType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


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
