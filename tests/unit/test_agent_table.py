"""The agent state table (ST-1..ST-3, END-2, RONA-1, CO-1, CO-5, OD-4, OD-5):
every change goes through it, and nothing outside it can be built."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.domain import agent as rules
from controlplane.domain import legs as leg_rules
from controlplane.domain import outdial as outdial_rules
from controlplane.domain import wrapup
from controlplane.domain.agent import TABLE, TRANSITIONS, AgentState, Transition, Trigger
from controlplane.domain.errors import InvalidTransition

S = AgentState
T = Trigger
ROWS = {(row.previous, row.trigger, row.state) for row in TABLE}
PACKAGE = Path(rules.__file__).resolve().parents[1]

states = st.sampled_from(list(AgentState))
triggers = st.sampled_from(list(Trigger))


@pytest.mark.spec("ST-1")
@given(previous=states, trigger=triggers, state=states)
def test_a_change_not_in_the_table_cannot_be_built(
    previous: AgentState, trigger: Trigger, state: AgentState
) -> None:
    if (previous, trigger, state) in ROWS:
        change = Transition(previous, state, trigger, "r")
        assert change.rule == next(
            r.rule
            for r in TABLE
            if (r.previous, r.state) == (previous, state) and r.trigger is trigger
        )
    else:
        with pytest.raises(InvalidTransition) as err:
            Transition(previous, state, trigger, "r")
        assert err.value.rule == "ST-1"


@pytest.mark.spec("ST-1")
@given(previous=states, trigger=triggers)
def test_a_trigger_not_in_the_table_is_refused(previous: AgentState, trigger: Trigger) -> None:
    targets = TRANSITIONS.get((previous, trigger), frozenset())
    if not targets:
        with pytest.raises(InvalidTransition):
            rules.transition(previous, trigger)
        for state in AgentState:
            with pytest.raises(InvalidTransition):
                rules.transition(previous, trigger, state)
        return
    for state in AgentState:
        if state in targets:
            assert rules.transition(previous, trigger, state).state is state
        else:
            with pytest.raises(InvalidTransition):
                rules.transition(previous, trigger, state)


@pytest.mark.spec("ST-1")
def test_every_row_names_a_rule_and_is_listed_once() -> None:
    assert len(ROWS) == len(TABLE)
    for row in TABLE:
        assert row.rule.partition("-")[0].isalpha() and row.rule.partition("-")[2].isdigit()
        assert row.when


@pytest.mark.spec("ST-2", "OD-4", "CO-1")
def test_a_phone_rings_only_for_an_offer_a_consult_or_an_outdial() -> None:
    into_reserved = {(r.previous, r.trigger) for r in TABLE if r.state is S.RESERVED}
    assert into_reserved == {
        (S.AVAILABLE, T.OFFER),
        (S.AVAILABLE, T.CONSULT_OFFER),
        (S.IDLE, T.CONSULT_OFFER),
        (S.AVAILABLE, T.OUTDIAL),
        (S.IDLE, T.OUTDIAL),
    }
    assert {S.AVAILABLE, S.IDLE} == outdial_rules.START_STATES
    assert rules.sources(T.OUTDIAL) >= outdial_rules.CAMPAIGN_STATES


@pytest.mark.spec("END-2", "CO-5")
def test_wrap_up_follows_only_a_call_the_agent_handled() -> None:
    into_wrap_up = {(r.previous, r.trigger) for r in TABLE if r.state is S.WRAP_UP}
    assert into_wrap_up == {(S.CONNECTED, T.CALL_ENDED)}
    leaving = {r.state for r in TABLE if r.previous is S.WRAP_UP}
    assert leaving == {S.AVAILABLE, S.IDLE}
    # a consulted agent leaves without wrap-up (CO-5)
    assert TRANSITIONS[(S.CONNECTED, T.CONSULT_LEFT)] == {S.AVAILABLE, S.IDLE}


@pytest.mark.spec("CO-1", "CO-5", "RONA-1", "TR-6")
def test_consult_and_transfer_changes_come_from_the_table() -> None:
    assert leg_rules.offered(S.IDLE, transfer=False).trigger is T.CONSULT_OFFER
    assert leg_rules.offered(S.AVAILABLE, transfer=True).trigger is T.OFFER
    with pytest.raises(InvalidTransition):
        leg_rules.offered(S.IDLE, transfer=True)  # TR-2: a transfer rings available agents
    with pytest.raises(InvalidTransition):
        leg_rules.offered(S.WRAP_UP, transfer=False)
    back = leg_rules.withdrawn("idle:lunch")
    assert (back.previous, back.state, back.reason) == (S.RESERVED, S.IDLE, "lunch")
    assert leg_rules.withdrawn(None).state is S.AVAILABLE
    out = leg_rules.consulted_out("idle:")
    assert (out.previous, out.state, out.reason) == (S.CONNECTED, S.IDLE, "consult_ended")
    assert leg_rules.not_taken("busy").state is S.RONA
    assert leg_rules.transferred().state is S.WRAP_UP
    assert leg_rules.answered().state is S.CONNECTED


@pytest.mark.spec("OD-4", "OD-5", "OD-7")
def test_outdial_changes_come_from_the_table() -> None:
    assert outdial_rules.reserve(S.IDLE).state is S.RESERVED
    with pytest.raises(InvalidTransition):
        outdial_rules.reserve(S.WRAP_UP)
    assert outdial_rules.restore(S.IDLE, "lunch").state is S.IDLE
    assert outdial_rules.restore(S.AVAILABLE, None).reason == "outdial_failed"
    after = wrapup.finish_outdial(S.WRAP_UP, S.IDLE, "lunch", available_after_outdial=False)
    assert (after.state, after.reason) == (S.IDLE, "lunch")


def _transitions_built(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Transition")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Transition")
        )
    ]


@pytest.mark.spec("ST-1")
def test_no_transition_is_built_outside_the_table() -> None:
    """Every change the code performs comes from `domain/agent.py`."""
    table_module = Path(rules.__file__).resolve()
    built = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.resolve() != table_module and (lines := _transitions_built(path))
    }
    assert built == {}
    assert _transitions_built(table_module)  # the scan finds them where they are


def _literal(node: ast.expr, enum: type[AgentState] | type[Trigger]) -> AgentState | Trigger | None:
    names = (enum.__name__, "S" if enum is AgentState else "T")
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in names
    ):
        return enum[node.attr]
    return None


def _changes_asked_for(path: Path) -> list[tuple[int, AgentState, Trigger, AgentState | None]]:
    """(line, from, trigger, to) of each `system_transition(...)` or
    `transition(...)` call whose states and trigger are written out."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if name not in ("system_transition", "transition") or len(node.args) < 2:
            continue
        previous, trigger = _literal(node.args[0], AgentState), _literal(node.args[1], Trigger)
        if not isinstance(previous, AgentState) or not isinstance(trigger, Trigger):
            continue
        state = _literal(node.args[2], AgentState) if len(node.args) > 2 else None
        if len(node.args) > 2 and state is None:
            continue  # decided at run time (and checked by `Transition` then)
        assert state is None or isinstance(state, AgentState)
        found.append((node.lineno, previous, trigger, state))
    return found


@pytest.mark.spec("ST-1")
def test_every_change_the_code_asks_for_is_in_the_table() -> None:
    """The changes the services ask for by name resolve to one row each."""
    asked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, previous, trigger, state in _changes_asked_for(path):
            asked += 1
            where = f"{path.relative_to(PACKAGE)}:{line}"
            targets = TRANSITIONS.get((previous, trigger), frozenset())
            if state is None:
                assert len(targets) == 1, f"{where}: {previous} --{trigger}--> {set(targets)}"
            else:
                assert state in targets, f"{where}: {previous} --{trigger}--> {state}"
    assert asked >= 10  # the scan sees the services' calls


LUA = PACKAGE / "adapters" / "lua"


@pytest.mark.spec("ST-2", "IN-3", "OD-4")
def test_the_scripts_that_reserve_an_agent_make_the_tables_change() -> None:
    """The routing and outbound scripts reserve an agent atomically; the
    change each writes is the table's for an offer and an outdial."""
    dispatch = (LUA / "dispatch.lua").read_text()
    offered = rules.transition(S.AVAILABLE, T.OFFER)
    assert f"if state ~= '{offered.previous}' then" in dispatch  # only available agents
    assert f"'state', '{offered.state}', 'previous', '{offered.previous}'," in dispatch
    outbound = (LUA / "outbound_start.lua").read_text()
    for previous in outdial_rules.START_STATES:
        assert rules.transition(previous, T.OUTDIAL).state is S.RESERVED
    assert f"'state', '{S.RESERVED}', 'previous', current," in outbound
