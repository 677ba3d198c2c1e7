"""Hold, end while held, recording and privacy shield, auto wrap-up: the pure
rules (HOLD-1, HOLD-2, END-1, END-2, REC-1, REC-2)."""

from __future__ import annotations

import itertools

import pytest

from controlplane.config import Profile, Queue, Tenant
from controlplane.domain import media as rules
from controlplane.domain import wrapup
from controlplane.domain.errors import InvalidTransition, RuleViolation
from controlplane.domain.interaction import Direction, Interaction, Recording, Status


def make(
    status: Status = Status.CONNECTED,
    *,
    held: bool = False,
    recording: Recording = Recording.RECORDING,
) -> Interaction:
    return Interaction(
        id="0" * 32,
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
        status=status,
        agent="alice",
        held=held,
        recording=recording,
    )


def tenant(*, recording: bool = True, shield: int = 30, auto: int = 0) -> Tenant:
    return Tenant(
        name="Acme",
        datacenter="dc1",
        max_concurrent_calls=5,
        recording=recording,
        privacy_shield_seconds=shield,
        auto_wrap_up_seconds=auto,
        wrap_up_reasons={"resolved": "Resolved"},
        idle_reasons={"break": "Break"},
    )


def queue(*, recording: bool = True) -> Queue:
    return Queue(name="Support", teams=("tier1",), recording=recording)


def rule_of(exc: pytest.ExceptionInfo[RuleViolation]) -> object:
    return exc.value.details.get("rule")


# HOLD-1, HOLD-2 ------------------------------------------------------------------------


@pytest.mark.spec("HOLD-1")
def test_given_connected_call_when_its_agent_holds_then_allowed() -> None:
    rules.require_may_hold(make(), "alice")


@pytest.mark.spec("HOLD-1")
@pytest.mark.parametrize("status", [Status.QUEUED, Status.RINGING, Status.ENDED])
def test_given_call_not_connected_when_hold_then_refused(status: Status) -> None:
    with pytest.raises(InvalidTransition) as refused:
        rules.require_may_hold(make(status), "alice")
    assert rule_of(refused) == "HOLD-1"
    assert refused.value.details["status"] == status.value


@pytest.mark.spec("HOLD-1")
def test_given_call_of_another_agent_when_hold_then_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        rules.require_may_hold(make(), "bob")
    assert rule_of(refused) == "HOLD-1"


@pytest.mark.spec("HOLD-1")
def test_given_held_call_when_hold_again_then_refused() -> None:
    with pytest.raises(InvalidTransition) as refused:
        rules.require_may_hold(make(held=True), "alice")
    assert rule_of(refused) == "HOLD-1"


@pytest.mark.spec("HOLD-2")
def test_given_held_call_when_its_agent_resumes_then_allowed() -> None:
    rules.require_may_resume(make(held=True), "alice")


@pytest.mark.spec("HOLD-2")
@pytest.mark.parametrize(
    ("ix", "agent"),
    [(make(held=False), "alice"), (make(held=True), "bob"), (make(Status.ENDED), "alice")],
)
def test_given_call_not_held_or_not_hers_when_resume_then_refused(
    ix: Interaction, agent: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        rules.require_may_resume(ix, agent)
    assert rule_of(refused) == "HOLD-2"


# END-1 --------------------------------------------------------------------------------


@pytest.mark.spec("END-1", "HOLD-1")
def test_given_held_call_when_agent_ends_then_refused() -> None:
    with pytest.raises(InvalidTransition) as refused:
        rules.require_may_end(make(held=True))
    assert rule_of(refused) == "END-1"
    rules.require_may_end(make(held=False))


# REC-1 --------------------------------------------------------------------------------


@pytest.mark.spec("REC-1")
@pytest.mark.parametrize(("t", "q", "p"), list(itertools.product([True, False], repeat=3)))
def test_recording_needs_tenant_queue_and_profile_to_allow_it(t: bool, q: bool, p: bool) -> None:
    enabled = rules.recording_enabled(tenant(recording=t), queue(recording=q), Profile(recording=p))
    assert enabled is (t and q and p)


@pytest.mark.spec("REC-1")
def test_a_call_from_no_queue_is_recorded_per_tenant_and_profile() -> None:
    assert rules.recording_enabled(tenant(), None, Profile(recording=True))
    assert not rules.recording_enabled(tenant(recording=False), None, Profile(recording=True))
    assert not rules.recording_enabled(tenant(), None, Profile(recording=False))


# REC-2 --------------------------------------------------------------------------------

SHIELD = Profile(recording=True, privacy_shield=True)


@pytest.mark.spec("REC-2")
def test_privacy_shield_needs_tenant_duration_and_profile() -> None:
    assert rules.privacy_shield_allowed(tenant(shield=30), SHIELD)
    assert not rules.privacy_shield_allowed(tenant(shield=0), SHIELD)
    assert not rules.privacy_shield_allowed(tenant(shield=30), Profile(recording=True))


@pytest.mark.spec("REC-2")
def test_given_recording_call_when_agent_pauses_then_allowed() -> None:
    rules.require_may_pause_recording(make(), "alice", tenant(), SHIELD)


@pytest.mark.spec("REC-2")
@pytest.mark.parametrize(
    ("ix", "agent", "t", "profile", "why"),
    [
        (make(), "alice", tenant(shield=0), SHIELD, "tenant has no privacy shield"),
        (make(), "alice", tenant(), Profile(recording=True), "profile has no privacy shield"),
        (make(recording=Recording.OFF), "alice", tenant(), SHIELD, "not recorded"),
        (make(recording=Recording.PAUSED), "alice", tenant(), SHIELD, "paused already"),
        (make(Status.RINGING), "alice", tenant(), SHIELD, "only a connected call"),
        (make(), "bob", tenant(), SHIELD, "only the connected agent"),
    ],
)
def test_given_no_shield_or_nothing_to_pause_when_agent_pauses_then_refused(
    ix: Interaction, agent: str, t: Tenant, profile: Profile, why: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        rules.require_may_pause_recording(ix, agent, t, profile)
    assert rule_of(refused) == "REC-2"
    assert why in refused.value.message


@pytest.mark.spec("REC-2")
def test_only_a_paused_recording_can_be_resumed() -> None:
    rules.require_may_resume_recording(make(recording=Recording.PAUSED), "alice")
    for state in (Recording.RECORDING, Recording.OFF):
        with pytest.raises(InvalidTransition) as refused:
            rules.require_may_resume_recording(make(recording=state), "alice")
        assert rule_of(refused) == "REC-2"
    with pytest.raises(RuleViolation):
        rules.require_may_resume_recording(make(recording=Recording.PAUSED), "bob")


# END-2 --------------------------------------------------------------------------------


@pytest.mark.spec("END-2")
def test_auto_wrap_up_only_when_the_tenant_sets_a_time() -> None:
    assert wrapup.auto_seconds(tenant(auto=0)) is None
    assert wrapup.auto_seconds(tenant(auto=45)) == 45
    assert wrapup.AUTO_REASON == "auto"


# The interaction record keeps hold and recording across a save -------------------


@pytest.mark.spec("HOLD-1", "REC-2")
def test_held_and_recording_state_survive_the_store_round_trip() -> None:
    ix = make(held=True, recording=Recording.PAUSED)
    ix.recording_name = ix.id
    back = Interaction.from_fields(ix.to_fields())
    assert back.held is True and back.recording is Recording.PAUSED
    assert back.recording_name == ix.id
    assert Interaction.from_fields(make().to_fields()).held is False
    shown = back.public()
    assert shown["held"] is True and shown["recording"] == "paused"
