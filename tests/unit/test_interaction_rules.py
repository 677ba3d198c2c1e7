"""Interaction records and the offer (IN-1, IN-2, CAD-2), without I/O."""

from __future__ import annotations

import pytest

from controlplane.config import Flow, VariableDef
from controlplane.domain import interaction as rules
from controlplane.domain import wrapup
from controlplane.domain.errors import InvalidInput, InvalidTransition
from controlplane.domain.interaction import Direction, EndCause, Interaction, Status


def make() -> Interaction:
    return Interaction(
        id=rules.new_interaction_id(),
        tenant="acme",
        direction=Direction.INBOUND,
        label="Acme Support",
        ani="+15551230000",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="123.4",
        entered_at=1_700_000_000_000,
    )


@pytest.mark.spec("IN-1")
def test_offer_carries_every_field_the_desktop_shows() -> None:
    ix = make()
    offer = rules.offer(ix, [])
    assert offer == {
        "interaction_id": ix.id,
        "direction": "inbound",
        "label": "Acme Support",
        "ani": "+15551230000",
        "dnis": "8005550100",
        "queue": "support",
        "queue_name": "Support",
        "variables": [],
        "status": "ringing",
        "entered_at": "2023-11-14T22:13:20.000+00:00",
        "kind": "call",
    }


@pytest.mark.spec("CAD-2")
def test_at_most_thirty_variables_in_configured_order() -> None:
    flow = Flow(
        variables=tuple(VariableDef(name=f"v{i}", label=f"V{i}", order=40 - i) for i in range(40))
    )
    shown = rules.displayed_variables(flow, {"v39": "x"})
    assert len(shown) == 30
    assert shown[0]["name"] == "v39" and shown[0]["value"] == "x"
    assert [v["name"] for v in shown] == [f"v{i}" for i in range(39, 9, -1)]


@pytest.mark.spec("IN-2")
def test_connect_only_from_ringing_and_sets_the_time() -> None:
    ix = make()
    with pytest.raises(InvalidTransition):
        rules.connect(ix, 5)
    ix.status = Status.RINGING
    rules.connect(ix, 5)
    assert (ix.status, ix.connected_at) == (Status.CONNECTED, 5)


def test_end_is_idempotent_and_round_trips_through_storage() -> None:
    ix = make()
    assert rules.end(ix, EndCause.ABANDONED, 9)
    assert not rules.end(ix, EndCause.AGENT_END, 10)
    again = Interaction.from_fields(ix.to_fields())
    assert again == ix


@pytest.mark.spec("END-2")
def test_only_the_tenants_wrap_up_reasons_are_accepted() -> None:
    wrapup.require_reason("resolved", {"resolved": "Resolved"})
    with pytest.raises(InvalidInput, match="unknown wrap-up reason"):
        wrapup.require_reason("whatever", {"resolved": "Resolved"})


@pytest.mark.spec("SEC-2", "OD-3")
def test_caller_id_keeps_quotes_brackets_and_line_breaks_out_of_both_parts() -> None:
    assert rules.caller_id("Acme Support", "+15551234567") == '"Acme Support" <+15551234567>'
    assert rules.caller_id('A "b" <c>\\\r\nd', "+1<555>\n") == '"A b cd" <+1555>'
    assert rules.caller_id("x" * 60, "1" * 60) == f'"{"x" * 40}" <{"1" * 40}>'
