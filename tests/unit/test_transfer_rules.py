"""The blind-transfer rules (TR-1..TR-7) and the targets of transfers and
consults (DN-1..DN-3) as pure functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.config import (
    ConfigError,
    Flow,
    VariableDef,
    load_config,
    parse_config,
)
from controlplane.domain import transfer as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, NotFound, RuleViolation
from controlplane.domain.interaction import (
    Direction,
    Interaction,
    Leg,
    LegRole,
    LegState,
    Status,
)
from controlplane.domain.legs import leg_outcome
from controlplane.domain.transfer import AgentView, TargetKind
from controlplane.domain.values import VariableType
from controlplane.domain.variables import Stored

CONFIG = load_config(Path(__file__).parents[2] / "config" / "demo.toml")
ACME = CONFIG.tenants["acme"]


def interaction(direction: Direction = Direction.INBOUND) -> Interaction:
    return Interaction(
        id="b" * 32,
        tenant="acme",
        direction=direction,
        label="Acme Support",
        ani="+15551234567",
        dnis="8005550100",
        entry_point="support",
        flow="support",
        queue="support",
        queue_name="Support",
        node="ast1",
        customer_channel="c1",
        agent="alice",
    )


@pytest.mark.spec("TR-7")
def test_given_outdial_when_transfer_to_queue_not_enabled_then_agent_and_number_only() -> None:
    outdial = interaction(Direction.OUTBOUND)
    assert rules.transfer_kinds(outdial, ACME) == (
        TargetKind.AGENT,
        TargetKind.DIAL_NUMBER,
        TargetKind.ADDRESS_BOOK,
    )
    for kind in (TargetKind.QUEUE, TargetKind.ENTRY_POINT):
        with pytest.raises(RuleViolation) as refused:
            rules.require_transfer_kind(kind, outdial, ACME)
        assert refused.value.rule == "TR-7"
    rules.require_transfer_kind(TargetKind.AGENT, outdial, ACME)
    enabled = ACME.model_copy(update={"outdial_transfer_to_queue": True})
    assert TargetKind.QUEUE in rules.transfer_kinds(outdial, enabled)
    # an inbound call may go to every kind, whatever the setting
    assert rules.transfer_kinds(interaction(), ACME) == rules.TRANSFER_KINDS


@pytest.mark.spec("TR-2", "ST-2", "ST-4")
@pytest.mark.parametrize(
    ("state", "busy", "rule"),
    [
        (AgentState.WRAP_UP, False, "TR-2"),
        (AgentState.IDLE, False, "TR-2"),
        (AgentState.CONNECTED, False, "TR-2"),
        (AgentState.RESERVED, False, "TR-2"),
        (AgentState.RONA, False, "TR-2"),
        (AgentState.LOGGED_OUT, False, "TR-2"),
        (AgentState.AVAILABLE, True, "ST-4"),
    ],
)
def test_given_target_agent_not_available_when_blind_transfer_then_refused(
    state: AgentState, busy: bool, rule: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        rules.require_transfer_target_state("bob", state, busy)
    assert refused.value.rule == rule
    if state is AgentState.WRAP_UP:
        assert "wrap-up" in refused.value.message
    rules.require_transfer_target_state("bob", AgentState.AVAILABLE, False)


@pytest.mark.spec("CO-1", "ST-2")
def test_given_agent_states_when_consulted_then_available_or_idle_only() -> None:
    for ok in (AgentState.AVAILABLE, AgentState.IDLE):
        rules.require_consult_target_state("bob", ok, False)
    for state in (AgentState.RESERVED, AgentState.CONNECTED, AgentState.WRAP_UP, AgentState.RONA):
        with pytest.raises(RuleViolation) as refused:
            rules.require_consult_target_state("bob", state, False)
        assert refused.value.rule == "CO-1"


@pytest.mark.spec("TR-4")
def test_given_two_flows_when_transferred_to_entry_point_then_same_name_and_type_carried() -> None:
    source = Flow(
        variables=(
            VariableDef(name="CustomerID", label="Customer", type=VariableType.INTEGER),
            VariableDef(name="var1", label="Var 1", type=VariableType.INTEGER),
            VariableDef(name="acBalance", label="Balance", type=VariableType.INTEGER),
            VariableDef(name="note", label="Note"),
        )
    )
    target = Flow(
        variables=(
            VariableDef(name="CustomerID", label="Customer", type=VariableType.INTEGER),
            VariableDef(name="var1", label="Var 1", type=VariableType.STRING),
            VariableDef(name="acBalance", label="Balance", type=VariableType.INTEGER),
            VariableDef(name="note", label="Note"),
            VariableDef(name="other", label="Other", default="x"),
        )
    )
    current = {
        "CustomerID": Stored("4711", 0),
        "var1": Stored("7", 2),
        "acBalance": Stored("250", 3, source="flow"),  # updated during the call
        "note": Stored(None, 1),  # cleared during the call: carried as cleared
    }
    assert rules.carried_variables(source, target, current) == {
        "CustomerID": "4711",
        "acBalance": "250",
        "note": None,
    }


@pytest.mark.spec("TR-5", "DN-1", "DN-2", "DN-3")
def test_given_dial_targets_when_resolved_then_dn_rules_apply() -> None:
    number = rules.resolve_number(CONFIG, ACME, TargetKind.DIAL_NUMBER, "+1 (555) 100-0000", "TR-5")
    assert number.number == "+15551000000"
    book = rules.resolve_number(CONFIG, ACME, TargetKind.ADDRESS_BOOK, " acme BILLING ", "TR-5")
    assert book.number == "+15551000000"
    with pytest.raises(NotFound):
        rules.resolve_number(CONFIG, ACME, TargetKind.ADDRESS_BOOK, "nobody", "TR-5")
    for raw, rule in (
        ("1002", "DN-3"),  # an internal extension
        ("8005550100", "DN-3"),  # an entry point
        ("+18005550101", "DN-3"),
        ("8005550300", "DN-3"),  # another tenant's entry point too
        ("12", "DN-2"),
        ("+1555100000099999", "DN-2"),
    ):
        with pytest.raises(InvalidInput) as refused:
            rules.resolve_number(CONFIG, ACME, TargetKind.DIAL_NUMBER, raw, "TR-5")
        assert refused.value.rule == rule, raw


@pytest.mark.spec("TR-1")
def test_given_targets_when_listed_then_filtered_by_search_text() -> None:
    views = [AgentView(a, AgentState.AVAILABLE) for a in sorted(ACME.agents)]
    views[1] = AgentView(views[1].id, AgentState.WRAP_UP)
    found = rules.agent_targets(ACME, views, "BAK", exclude="alice")
    assert [(t["id"], t["state"]) for t in found] == [("bob", "wrap_up")]
    everyone = rules.agent_targets(ACME, views, "", exclude="alice")
    assert "alice" not in [t["id"] for t in everyone] and len(everyone) == len(views) - 1
    assert [t["id"] for t in rules.queue_targets(ACME, {}, "sup")] == ["support", "vip"]
    assert [t["id"] for t in rules.entry_point_targets(ACME, "0102")] == ["sales"]
    assert [t["name"] for t in rules.address_book_targets(ACME, "555200")] == ["Field service"]
    with pytest.raises(InvalidInput) as long:
        rules.require_search("x" * 65)
    assert long.value.rule == "TR-1"


@pytest.mark.spec("TR-6", "CO-1")
def test_given_a_consult_in_progress_when_transfer_or_consult_again_then_refused() -> None:
    ix = interaction()
    ix.status = Status.CONNECTED
    rules.require_handling_agent(ix, "alice", "TR-6", "transfer")
    with pytest.raises(RuleViolation):
        rules.require_handling_agent(ix, "bob", "TR-6", "transfer")
    ix.legs.append(Leg("x", LegRole.CONSULT, LegState.CONSULTING, "agent", agent="bob"))
    for rule in ("TR-6", "CO-1"):
        with pytest.raises(RuleViolation) as refused:
            rules.require_no_other_leg(ix, rule)
        assert refused.value.rule == rule
    with pytest.raises(InvalidInput):
        rules.require_consult_kind(TargetKind.ENTRY_POINT)


@pytest.mark.spec("CO-2")
def test_given_consult_variables_in_config_then_at_most_six_of_the_flow() -> None:
    data = CONFIG.model_dump(mode="json")
    flow = data["tenants"]["acme"]["flows"]["support"]
    flow["consult_variables"] = ["customer_name", "account", "case_number"]
    assert parse_config(data, "x").tenants["acme"].flows["support"].consult_variables == (
        "customer_name",
        "account",
        "case_number",
    )
    for bad, problem in (
        (["customer_name", "no_such"], "no variable of the flow"),
        (["customer_name", "customer_name"], "named twice"),
        ([v["name"] for v in flow["variables"]], "at most 6"),
    ):
        flow["consult_variables"] = bad
        with pytest.raises(ConfigError) as refused:
            parse_config(data, "x")
        assert "consult_variables" in str(refused.value) and problem in str(refused.value)


@pytest.mark.spec("TR-2", "CO-1")
def test_a_leg_not_answered_is_classified_from_its_dial_status_and_hangup_cause() -> None:
    assert leg_outcome("BUSY", 16) == "busy"
    assert leg_outcome(None, 17) == "busy"
    assert leg_outcome("CONGESTION", 0) == "congestion"
    assert leg_outcome(None, 21) == "declined"
    assert leg_outcome(None, 1) == "invalid_number"
    assert leg_outcome("NOANSWER", 16) == "ring_no_answer"
    assert leg_outcome(None, 19) == "ring_no_answer"
    assert leg_outcome(None, 16) == "declined"
