"""Wrap-up (END-2, TR-6): one auto wrap-up timer per agent and interaction."""

from __future__ import annotations

import uuid

import pytest

from controlplane.domain import wrapup
from controlplane.domain.interaction import Interaction
from tests.support.records import support_call


def _ix(agent: str | None = "alice") -> Interaction:
    return support_call(agent=agent)


@pytest.mark.spec("END-2", "TR-6")
def test_the_timer_names_the_agent_and_the_interaction() -> None:
    ix_id = uuid.uuid4().hex
    assert wrapup.timer_target(wrapup.timer_key(ix_id, "bob")) == (ix_id, "bob")
    assert wrapup.timer_target(ix_id) == (ix_id, None)  # the interaction's own agent


@pytest.mark.spec("END-2", "TR-6")
def test_the_auto_wrap_up_applies_only_while_the_agent_has_not_wrapped_up() -> None:
    ix = _ix()
    assert wrapup.still_open(ix, "alice")
    assert wrapup.still_open(ix, "bob")  # TR-6: the agent who transferred it
    ix.wrap_ups["bob"] = "resolved"
    assert not wrapup.still_open(ix, "bob")
    assert wrapup.still_open(ix, "alice")
    ix.wrap_up_reason = "follow_up"
    assert not wrapup.still_open(ix, "alice")
    ix.wrap_ups["alice"] = "follow_up"
    assert not wrapup.still_open(ix, "alice")
