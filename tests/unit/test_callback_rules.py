"""Callback rules (CB-1..CB-3), without I/O."""

from __future__ import annotations

import pytest

from controlplane.domain import callback as rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain.callback import GiveUp, Outcome, Retry
from controlplane.domain.errors import InvalidInput
from controlplane.domain.interaction import Direction, Interaction, Kind, Status


def make_callback() -> Interaction:
    return Interaction(
        id=ix_rules.new_interaction_id(),
        tenant="acme",
        direction=Direction.INBOUND,
        label="Callback: Acme Support",
        ani="+15551000000",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="",
        entered_at=1_700_000_000_000,
        kind=Kind.CALLBACK,
    )


@pytest.mark.spec("CB-1")
@pytest.mark.parametrize("number", ["+15551000000", "15551000000", "123", "+123456789012345"])
def test_given_digits_with_optional_plus_when_registering_then_number_is_accepted(
    number: str,
) -> None:
    assert rules.callback_number(number) == number


@pytest.mark.spec("CB-1")
@pytest.mark.parametrize(
    "number",
    [
        "",
        "12",  # too short
        "1234567890123456",  # 16 digits
        "+1 555 100 0000",
        "1555100&0000",  # would add a second dial destination
        "1555,100",  # would split dial arguments
        "1555/100",
        "${SHELL}",
        "Local/123@pstn-sim",
        "++15551000000",
        "1555100000+",
        "+1555\n100",
    ],
)
def test_given_anything_but_digits_when_registering_then_refused_naming_the_rule(
    number: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.callback_number(number)
    assert refused.value.details == {"rule": "CB-1", "field": "number"}


@pytest.mark.spec("CB-1")
def test_given_anonymous_caller_when_asking_for_callback_then_no_number() -> None:
    assert rules.caller_number("anonymous") is None
    assert rules.caller_number("+15551000000") == "+15551000000"


@pytest.mark.spec("CB-2")
def test_the_label_says_callback() -> None:
    assert rules.label(None, None) == "Callback"
    assert rules.label(None, "Acme Support") == "Callback: Acme Support"
    assert rules.label("Order 42", "Acme Support") == "Callback: Order 42"
    assert rules.label("callback", None) == "Callback"
    for bad in ("", "  ", "a\nb", "x" * 61):
        with pytest.raises(InvalidInput) as refused:
            rules.label(bad, None)
        assert refused.value.details["rule"] == "CB-1"


@pytest.mark.spec("CB-2")
def test_the_offer_of_a_callback_is_labelled_and_carries_number_dnis_and_queue() -> None:
    ix = make_callback()
    offer = ix_rules.offer(ix, [])
    assert offer["kind"] == "callback"
    assert offer["label"] == "Callback: Acme Support"
    assert offer["ani"] == "+15551000000"
    assert offer["dnis"] == "8005550100"
    assert offer["queue"] == "support" and offer["queue_name"] == "Support"
    assert offer["status"] == "ringing"


@pytest.mark.spec("CB-2", "CB-3")
def test_a_callback_keeps_its_kind_and_attempts_in_the_store() -> None:
    ix = make_callback()
    ix.attempts, ix.last_outcome, ix.status = 2, "busy", Status.SCHEDULED
    again = Interaction.from_fields(ix.to_fields())
    assert again == ix
    assert again.public()["kind"] == "callback" and again.public()["attempts"] == 2


@pytest.mark.spec("CB-3")
def test_given_dialing_callback_when_customer_answers_then_connected() -> None:
    ix = make_callback()
    ix.status = Status.DIALING
    ix_rules.connect(ix, 1_700_000_005_000)
    assert ix.status is Status.CONNECTED and ix.connected_at == 1_700_000_005_000


@pytest.mark.spec("CB-3")
@pytest.mark.parametrize(
    ("dialstatus", "cause", "expected"),
    [
        ("BUSY", 0, Outcome.BUSY),  # Local channel: cause 0, the dial status tells
        ("CONGESTION", 0, Outcome.CONGESTION),
        ("NOANSWER", 21, Outcome.REJECTED),
        ("NOANSWER", 1, Outcome.INVALID_NUMBER),
        ("RINGING", 19, Outcome.NO_ANSWER),  # rang until the ring time ran out
        (None, 17, Outcome.BUSY),
        (None, 34, Outcome.CONGESTION),
        (None, 0, Outcome.NO_ANSWER),
        ("CHANUNAVAIL", 0, Outcome.CONGESTION),
    ],
)
def test_how_a_customer_leg_ended(dialstatus: str | None, cause: int, expected: Outcome) -> None:
    assert rules.outcome(dialstatus, cause) is expected


@pytest.mark.spec("CB-3")
def test_given_retries_left_when_not_reached_then_back_to_queue_after_the_spacing() -> None:
    assert rules.after_failed_attempt(Outcome.NO_ANSWER, 1, 2, 60) == Retry(60)
    assert rules.after_failed_attempt(Outcome.BUSY, 2, 2, 60) == Retry(60)
    assert rules.after_failed_attempt(Outcome.REJECTED, 1, 1, 5) == Retry(5)


@pytest.mark.spec("CB-3")
def test_given_retry_limit_reached_when_not_reached_then_the_callback_ends() -> None:
    assert isinstance(rules.after_failed_attempt(Outcome.NO_ANSWER, 3, 2, 60), GiveUp)
    assert isinstance(rules.after_failed_attempt(Outcome.BUSY, 1, 0, 60), GiveUp)


@pytest.mark.spec("CB-3")
def test_given_a_number_that_does_not_exist_then_it_is_not_called_again() -> None:
    decision = rules.after_failed_attempt(Outcome.INVALID_NUMBER, 1, 5, 60)
    assert isinstance(decision, GiveUp) and "invalid_number" in decision.why


def test_customer_legs_have_ids_of_ours() -> None:
    ix_id = ix_rules.new_interaction_id()
    leg = rules.customer_leg_id(ix_id, 3)
    m = rules.CUSTOMER_LEG.match(leg)
    assert m is not None and m["ix"] == ix_id and m["n"] == "3"
    assert rules.CUSTOMER_LEG.match(f"{ix_id}-a3") is None
