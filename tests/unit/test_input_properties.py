"""Property-based checks of the input rules (SEC-2, DN-1, DN-2): whatever
text is typed, only '+' and digits (and post-dial tones) can come out of the
dial-number rules, so nothing typed can reach an Asterisk dial string."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlplane.config import DialPlan
from controlplane.domain import dialnumber as dn
from controlplane.domain.errors import InvalidInput

EXAMPLES = 2000
_NUMBER = re.compile(r"^\+?[0-9]{3,14}$")
_POST_DIAL = re.compile(r"^[0-9*#]{1,32}$")
# What a dial string must never get: Asterisk's separators, variables,
# functions, channel technology, control characters.
DANGEROUS = "&,/$[]{}()|;:'\"\\@!\r\n\t\x00 "
PLAN = DialPlan(allow=(r"^\+?[0-9]+$",))

typed = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789+#*: -().&,/${}|@", max_size=40),
    st.from_regex(r"\A\+?1?[2-9][0-9]{9}[^0-9]{0,3}[0-9]{0,3}\Z"),
    st.builds(
        lambda a, b, c: a + b + c,
        st.from_regex(r"\A\+?[0-9]{3,12}\Z"),
        st.sampled_from([*DANGEROUS, "${SHELL(id)}", "&Local/1@x", ",1", "/n"]),
        st.text(max_size=10),
    ),
)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(raw=typed)
def parse_keeps_only_plus_and_digits(raw: str, tried: list[str]) -> None:
    tried.append(raw)
    try:
        number = dn.parse(raw)
    except InvalidInput as refused:
        assert refused.rule == "DN-2"  # a refusal names its rule, never a crash
        return
    assert _NUMBER.fullmatch(number.number), number
    assert number.post_dial is None or _POST_DIAL.fullmatch(number.post_dial)
    assert not set(number.number + (number.post_dial or "")) & set(DANGEROUS)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(raw=typed)
def validate_gives_dialable_external_numbers(raw: str, tried: list[str]) -> None:
    tried.append(raw)
    try:
        number = dn.validate(
            raw, extensions=["1001", "1011"], entry_points=["8005550100"], plan=PLAN
        )
    except InvalidInput as refused:
        assert refused.rule in ("DN-2", "DN-3", "DN-4")
        return
    assert _NUMBER.fullmatch(number.number)
    assert number.digits not in ("1001", "1011", "8005550100", "18005550100")


@pytest.mark.spec("SEC-2", "DN-1", "DN-2")
def test_given_any_text_when_parse_accepts_then_only_plus_and_digits_remain() -> None:
    tried: list[str] = []
    parse_keeps_only_plus_and_digits(tried=tried)
    accepted = sum(1 for raw in tried if _accepts(raw))
    print(f"dialnumber.parse: {len(tried)} generated inputs, {accepted} accepted")
    assert len(tried) >= EXAMPLES and accepted > EXAMPLES // 20  # both sides were explored


@pytest.mark.spec("SEC-2", "DN-3", "DN-4")
def test_given_any_text_when_validate_accepts_then_it_is_dialable_and_no_internal_number() -> None:
    tried: list[str] = []
    validate_gives_dialable_external_numbers(tried=tried)
    print(f"dialnumber.validate: {len(tried)} generated inputs")
    assert len(tried) >= EXAMPLES


def _accepts(raw: str) -> bool:
    try:
        dn.parse(raw)
    except InvalidInput:
        return False
    return True
