"""Dial-number rules (DN-1..DN-4), without I/O."""

from __future__ import annotations

import pytest

from controlplane.config import DialPlan
from controlplane.domain import dialnumber as dn
from controlplane.domain.dialnumber import NumberForm
from controlplane.domain.errors import InvalidInput

EXTENSIONS = ["1001", "1002"]
ENTRY_POINTS = ["8005550100", "+18005550101"]
PLAN = DialPlan(allow=(r"^\+?1?[2-9][0-9]{9}$", r"^\+[0-9]{8,14}$"), deny_prefixes=("+1900",))


def rule_of(raw: str, plan: DialPlan | None = None) -> str | None:
    with pytest.raises(InvalidInput) as err:
        dn.validate(raw, extensions=EXTENSIONS, entry_points=ENTRY_POINTS, plan=plan)
    return err.value.rule


@pytest.mark.spec("DN-1")
@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+1 (201) 553-2447", "+12015532447"),
        ("+1.201.553.2447 ext", "+12015532447"),
        ("00 44 20-7123 4567", "00442071234567"),
        ("*67#:1", "*67#:1"),
        ("1&2,3/4$5{6}\n7", "1234567"),
    ],
)
def test_only_plus_hash_star_colon_survive(typed: str, kept: str) -> None:
    assert dn.clean(typed) == kept


@pytest.mark.spec("DN-2")
@pytest.mark.parametrize(
    ("typed", "number", "form"),
    [
        ("+12015532447", "+12015532447", NumberForm.US),
        ("+1 201 553 2447", "+12015532447", NumberForm.US),
        ("+11234567890", "+11234567890", NumberForm.E164),
        ("+442071234567", "+442071234567", NumberForm.E164),
        ("01161123456789", "01161123456789", NumberForm.IDD),
        ("0044207123456", "0044207123456", NumberForm.IDD),
        ("+15551000000", "+15551000000", NumberForm.E164),
    ],
)
def test_accepted_forms(typed: str, number: str, form: NumberForm) -> None:
    parsed = dn.parse(typed)
    assert (parsed.number, parsed.form) == (number, form)


@pytest.mark.spec("DN-2")
@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "12",  # too few digits
        "+123456789012345",  # 15 digits
        "2015532447",  # national, no country code
        "5551234",  # local
        "+0123456789",  # no country code 0
        "1+2015532447",  # '+' only leads
        "+1201*5532447",  # '*' only after ':'
        "+12015532447:",  # ':' without tones
        "x" * 100,  # longer than anyone types
    ],
)
def test_refused_numbers_name_dn_2(typed: str) -> None:
    assert rule_of(typed) == "DN-2"


@pytest.mark.spec("DN-2")
def test_post_dial_tones_after_colon() -> None:
    parsed = dn.parse("+12015532447:123#")
    assert parsed.number == "+12015532447" and parsed.post_dial == "123#"
    assert dn.parse("+12015532447:12a").post_dial == "12"


@pytest.mark.spec("DN-3")
@pytest.mark.parametrize("typed", ["1001", "10-02", "8005550100", "+18005550100", "18005550101"])
def test_extensions_and_entry_points_are_no_destination(typed: str) -> None:
    assert rule_of(typed) == "DN-3"


@pytest.mark.spec("DN-4")
def test_dial_plan_applies_after_the_number_rules() -> None:
    ok = dn.validate("+12015532447", extensions=EXTENSIONS, entry_points=ENTRY_POINTS, plan=PLAN)
    assert ok.number == "+12015532447"
    assert rule_of("+19005551234", PLAN) == "DN-4"  # denied prefix
    assert rule_of("01161123456789", PLAN) == "DN-4"  # no allow pattern matches
    assert rule_of("12", PLAN) == "DN-2"  # DN-2 refuses first
    short = DialPlan(deny_lengths=(11,))
    assert rule_of("+12015532447", short) == "DN-4"


@pytest.mark.spec("DN-1", "DN-2")
@pytest.mark.parametrize(
    "evil",
    ["+12015532447&PJSIP/1001", "+1201553,2447", "${SHELL}+12015532447", "+1201{5532447}"],
)
def test_nothing_but_plus_and_digits_reaches_a_dial_string(evil: str) -> None:
    try:
        number = dn.parse(evil)
    except InvalidInput:
        return
    assert set(number.number) <= set("+0123456789")
