"""The interaction status table (IN-1..IN-3, RONA-1, CB-2, CB-3, TR-2, TR-3,
END-1): every status change goes through it, and nothing else is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.domain import interaction as rules
from controlplane.domain.errors import InvalidTransition
from controlplane.domain.interaction import (
    STATUS_TABLE,
    EndCause,
    Interaction,
    Status,
    Step,
)
from tests.support.records import support_call

PACKAGE = Path(rules.__file__).resolve().parents[1]
ALLOWED = {(row.previous, row.status) for row in STATUS_TABLE}
statuses = st.sampled_from(list(Status))


def _ix(status: Status) -> Interaction:
    return support_call(status=status)


@pytest.mark.spec("IN-1", "END-1")
@given(previous=statuses, status=statuses)
def test_a_status_change_not_in_the_table_is_refused(previous: Status, status: Status) -> None:
    ix = _ix(previous)
    if (previous, status) in ALLOWED:
        row = rules.change_status(ix, status)
        assert ix.status is status and (row.previous, row.status) == (previous, status)
    else:
        with pytest.raises(InvalidTransition):
            rules.change_status(ix, status)
        assert ix.status is previous  # nothing changed


@pytest.mark.spec("END-1", "IN-3", "RONA-1", "CB-3")
def test_the_table_against_the_rules() -> None:
    assert len(ALLOWED) == len(STATUS_TABLE)
    # END-1: every interaction can end, and an ended one stays ended
    assert {p for p, s in ALLOWED if s is Status.ENDED} == set(Status) - {Status.ENDED}
    assert not {s for p, s in ALLOWED if p is Status.ENDED}
    # IN-3: routing offers only queued interactions (the dispatch script's statuses)
    assert rules.status_sources(Status.RINGING, Step.OFFER) == {Status.QUEUED}
    # RONA-1: an offer nobody took goes back to its queue, never straight to an agent
    assert {s for p, s in ALLOWED if p is Status.RINGING} == {
        Status.QUEUED,
        Status.CONNECTED,
        Status.DIALING,
        Status.SCHEDULED,  # CB-4: a callback over a limit is not dialled
        Status.ENDED,
    }
    # CB-3, CB-4: only a callback whose attempt failed (or was refused) waits for the next
    assert {p for p, s in ALLOWED if s is Status.SCHEDULED} == {Status.DIALING, Status.RINGING}
    assert {s for p, s in ALLOWED if p is Status.SCHEDULED} == {Status.QUEUED, Status.ENDED}


@pytest.mark.spec("IN-2", "END-1")
def test_connect_and_end_go_through_the_table() -> None:
    ix = _ix(Status.QUEUED)
    with pytest.raises(InvalidTransition):
        rules.connect(ix, 1)
    ix = _ix(Status.DIALING)
    rules.connect(ix, 5)
    assert (ix.status, ix.connected_at) == (Status.CONNECTED, 5)
    assert rules.end(ix, EndCause.AGENT_END, 9)
    assert not rules.end(ix, EndCause.AGENT_END, 10)
    assert (ix.status, ix.ended_at) == (Status.ENDED, 9)


@pytest.mark.spec("IN-1")
def test_no_status_is_set_outside_the_table() -> None:
    """Every `<interaction>.status = ...` in the package is the table's own."""
    table_module = Path(rules.__file__).resolve()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.resolve() == table_module:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                found += [
                    f"{path.relative_to(PACKAGE)}:{node.lineno}"
                    for t in elts
                    if isinstance(t, ast.Attribute)
                    and t.attr == "status"
                    and not (isinstance(t.value, ast.Name) and t.value.id == "self")
                ]
    assert found == []
