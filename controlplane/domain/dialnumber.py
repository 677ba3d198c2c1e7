"""Dial numbers (DN-1..DN-4): what an agent may dial, in the form Asterisk gets.

Whatever the user typed, the result holds only '+' and digits (and, after
':', post-dial DTMF digits), so nothing typed can reach a dial string
unvalidated: no '&', ',', '/', '$', '{' or control characters survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from controlplane.config import DialPlan
from controlplane.domain.errors import InvalidInput

MIN_DIGITS = 3
MAX_DIGITS = 14
MAX_INPUT = 64  # characters the user may send at all

_KEEP = re.compile(r"[^0-9+#*:]")  # DN-1
_US = re.compile(r"^\+1[2-9][0-9]{2}[2-9][0-9]{6}$")  # +1 NPA NXX XXXX
_E164 = re.compile(r"^\+[1-9][0-9]{2,13}$")  # + country code and number
_IDD = re.compile(r"^(?:00|011)[1-9][0-9]+$")  # international prefix, country, number
_POST_DIAL = re.compile(r"^[0-9*#]{1,32}$")


class NumberForm(StrEnum):
    US = "us"
    E164 = "e164"
    IDD = "idd"


@dataclass(frozen=True, slots=True)
class DialNumber:
    number: str  # '+' and digits only: safe for a dial string
    form: NumberForm
    post_dial: str | None = None  # DTMF sent after the far end answers

    @property
    def digits(self) -> str:
        return self.number.lstrip("+")


def clean(raw: str) -> str:
    """DN-1: of the special characters only + # * : are kept."""
    return _KEEP.sub("", raw)


def parse(raw: str) -> DialNumber:
    """DN-1 and DN-2: clean, then require 3 to 14 digits in US, E.164 or IDD form."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("a number is required", rule="DN-2", field="number")
    if len(raw) > MAX_INPUT:
        raise InvalidInput(
            f"the number is longer than {MAX_INPUT} characters", rule="DN-2", field="number"
        )
    cleaned = clean(raw)
    main, sep, post = cleaned.partition(":")
    if sep and not _POST_DIAL.fullmatch(post):
        raise InvalidInput(
            "after ':' only digits, '*' and '#' may follow (post-dial tones)",
            rule="DN-2",
            field="number",
        )
    if "+" in main[1:] or "*" in main or "#" in main:
        raise InvalidInput(
            f"{main!r} is not a dialable number: '+' only leads, '*' and '#' only after ':'",
            rule="DN-2",
            field="number",
        )
    digits = main.lstrip("+")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidInput(
            f"a number has {MIN_DIGITS} to {MAX_DIGITS} digits; {main!r} has {len(digits)}",
            rule="DN-2",
            field="number",
        )
    if _US.fullmatch(main):
        form = NumberForm.US
    elif _E164.fullmatch(main):
        form = NumberForm.E164
    elif _IDD.fullmatch(main):
        form = NumberForm.IDD
    else:
        raise InvalidInput(
            f"{main!r} is in none of the accepted forms: US (+1 NPA NXX XXXX, e.g. "
            "+12015532447), E.164 (+ country code and number, e.g. +441234567890) or "
            "IDD (international prefix, country code, number, e.g. 01161123456789)",
            rule="DN-2",
            field="number",
        )
    return DialNumber(number=main, form=form, post_dial=post or None)


def _variants(digits: str) -> set[str]:
    """A number's digits with and without the NANP country code 1."""
    out = {digits}
    if len(digits) == 11 and digits.startswith("1"):
        out.add(digits[1:])
    if len(digits) == 10:
        out.add("1" + digits)
    return out


def refuse_internal(raw: str, extensions: Iterable[str], entry_points: Iterable[str]) -> None:
    """DN-3: an internal extension or an entry-point number is no destination."""
    main = clean(raw).partition(":")[0]
    digits = main.lstrip("+")
    if not digits:
        return
    if digits in {e.lstrip("+") for e in extensions}:
        raise InvalidInput(f"{main} is an internal extension", rule="DN-3", field="number")
    mine = _variants(digits)
    for entry in entry_points:
        if mine & _variants(entry.lstrip("+")):
            raise InvalidInput(
                f"{main} is an entry-point number of the contact center",
                rule="DN-3",
                field="number",
            )


def apply_dial_plan(number: DialNumber, plan: DialPlan) -> None:
    """DN-4: the profile's dial plan, after DN-1..3."""
    digits = number.digits
    for prefix in plan.deny_prefixes:
        if number.number.startswith(prefix) or digits.startswith(prefix.lstrip("+")):
            raise InvalidInput(
                f"{number.number}: numbers starting with {prefix} are not allowed",
                rule="DN-4",
                field="number",
            )
    if len(digits) in plan.deny_lengths:
        raise InvalidInput(
            f"{number.number}: numbers of {len(digits)} digits are not allowed",
            rule="DN-4",
            field="number",
        )
    if not any(re.fullmatch(p, number.number) for p in plan.allow):
        raise InvalidInput(
            f"{number.number} is not allowed by the dial plan", rule="DN-4", field="number"
        )


def validate(
    raw: str,
    *,
    extensions: Iterable[str],
    entry_points: Iterable[str],
    plan: DialPlan | None,
) -> DialNumber:
    """DN-1..DN-4; the rule that refuses names itself. Extensions and entry
    points (DN-3) are recognised before the form check, so that dialling one
    is refused for what it is."""
    if isinstance(raw, str) and len(raw) <= MAX_INPUT:
        refuse_internal(raw, extensions, entry_points)
    number = parse(raw)
    if plan is not None:
        apply_dial_plan(number, plan)
    return number
