"""Agent state rules (ST-1..ST-3), without I/O."""

from __future__ import annotations

import pytest

from controlplane.domain import agent as rules
from controlplane.domain import wrapup
from controlplane.domain.agent import TRANSITIONS, AgentState, Trigger
from controlplane.domain.errors import InvalidInput, InvalidTransition

S = AgentState
IDLE_REASONS = {"break": "Break", "lunch": "Lunch"}


@pytest.mark.spec("ST-1")
def test_login_leads_to_idle_and_only_from_logged_out() -> None:
    change = rules.login(S.LOGGED_OUT)
    assert (change.previous, change.state) == (S.LOGGED_OUT, S.IDLE)
    with pytest.raises(InvalidTransition):
        rules.login(S.AVAILABLE)


@pytest.mark.spec("ST-1")
def test_idle_needs_a_known_reason() -> None:
    change = rules.change_by_agent(S.AVAILABLE, S.IDLE, "lunch", IDLE_REASONS)
    assert (change.state, change.reason) == (S.IDLE, "lunch")
    with pytest.raises(InvalidInput, match="idle reason is required"):
        rules.change_by_agent(S.AVAILABLE, S.IDLE, None, IDLE_REASONS)
    with pytest.raises(InvalidInput, match="unknown idle reason"):
        rules.change_by_agent(S.AVAILABLE, S.IDLE, "nap", IDLE_REASONS)


@pytest.mark.spec("ST-1")
@pytest.mark.parametrize("state", [S.RESERVED, S.CONNECTED, S.WRAP_UP, S.LOGGED_OUT])
def test_agents_cannot_choose_a_state_while_busy(state: AgentState) -> None:
    with pytest.raises(InvalidTransition):
        rules.change_by_agent(state, S.AVAILABLE, None, IDLE_REASONS)
    with pytest.raises(InvalidTransition):
        rules.change_by_agent(state, S.IDLE, "break", IDLE_REASONS)


@pytest.mark.spec("ST-1")
def test_system_states_cannot_be_chosen() -> None:
    for state in (S.RESERVED, S.CONNECTED, S.WRAP_UP, S.RONA):
        with pytest.raises(InvalidInput):
            rules.change_by_agent(S.IDLE, state, None, IDLE_REASONS)


@pytest.mark.spec("ST-2")
def test_only_available_agents_receive_offers() -> None:
    offerable = {frm for (frm, trig) in TRANSITIONS if trig is Trigger.OFFER}
    assert offerable == {S.AVAILABLE}
    assert [s for s in S if rules.may_receive_offer(s)] == [S.AVAILABLE]


@pytest.mark.spec("ST-3")
def test_rona_is_left_only_by_an_explicit_change() -> None:
    leaving = {trig for (frm, trig), to in TRANSITIONS.items() if frm is S.RONA and to != {S.RONA}}
    assert leaving == {Trigger.GO_AVAILABLE, Trigger.GO_IDLE, Trigger.LOGOUT}
    assert rules.change_by_agent(S.RONA, S.AVAILABLE, None, IDLE_REASONS).state is S.AVAILABLE


@pytest.mark.spec("END-2")
def test_wrap_up_ends_in_the_configured_state() -> None:
    assert wrapup.finish(S.WRAP_UP, "available").state is S.AVAILABLE
    assert wrapup.finish(S.WRAP_UP, "idle").state is S.IDLE
    with pytest.raises(InvalidTransition):
        wrapup.finish(S.CONNECTED, "available")
