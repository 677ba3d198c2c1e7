"""Hold, recording with privacy shield, end while held (HOLD-1, HOLD-2,
REC-1, REC-2, END-1); the auto wrap-up is in `controlplane.domain.wrapup`.

Pure rules: no I/O. Each check raises an error of
`controlplane.domain.errors` naming the rule, or returns quietly.
"""

from __future__ import annotations

from controlplane.config import Profile, Queue, Tenant
from controlplane.domain.errors import InvalidTransition, RuleViolation
from controlplane.domain.interaction import Interaction, Recording, Status

__all__ = [
    "Recording",
    "privacy_shield_allowed",
    "recording_enabled",
    "require_may_end",
    "require_may_hold",
    "require_may_pause_recording",
    "require_may_resume",
    "require_may_resume_recording",
]


def recording_enabled(tenant: Tenant, queue: Queue | None, profile: Profile) -> bool:
    """REC-1: a call is recorded only when the tenant, the queue it came from
    and the handling agent's profile all allow it. A call that came from no
    queue (an outdial) depends on tenant and profile only."""
    queue_allows = queue.recording if queue is not None else True
    return tenant.recording and queue_allows and profile.recording


def privacy_shield_allowed(tenant: Tenant, profile: Profile) -> bool:
    """REC-2: the tenant enables the privacy shield (a duration above 0) and the
    agent's profile grants it."""
    return tenant.privacy_shield_seconds > 0 and profile.privacy_shield


def _require_own_connected(ix: Interaction, agent_id: str, rule: str, action: str) -> None:
    if ix.agent != agent_id:
        raise RuleViolation(f"only the connected agent can {action}", rule=rule)
    if ix.status is not Status.CONNECTED:
        raise InvalidTransition(
            f"only a connected call can {action} (it is {ix.status.value})",
            rule=rule,
            status=ix.status.value,
        )


def require_may_hold(ix: Interaction, agent_id: str) -> None:
    """HOLD-1: the connected agent holds a call that is not held yet."""
    _require_own_connected(ix, agent_id, "HOLD-1", "hold the call")
    if ix.held:
        raise InvalidTransition("the call is on hold already", rule="HOLD-1", held=True)


def require_may_resume(ix: Interaction, agent_id: str) -> None:
    """HOLD-2: the connected agent resumes a held call."""
    _require_own_connected(ix, agent_id, "HOLD-2", "resume the call")
    if not ix.held:
        raise InvalidTransition("the call is not on hold", rule="HOLD-2", held=False)


def require_may_end(ix: Interaction) -> None:
    """END-1: the agent's end is refused while the call is held."""
    if ix.held:
        raise InvalidTransition(
            "a held call cannot be ended: resume it first", rule="END-1", held=True
        )


def require_may_pause_recording(
    ix: Interaction, agent_id: str, tenant: Tenant, profile: Profile
) -> None:
    """REC-2: the privacy shield pauses a running recording, where the tenant
    enables it and the agent's profile grants it."""
    _require_own_connected(ix, agent_id, "REC-2", "pause the recording")
    if tenant.privacy_shield_seconds <= 0:
        raise RuleViolation("the tenant has no privacy shield", rule="REC-2")
    if not profile.privacy_shield:
        raise RuleViolation("the agent's profile has no privacy shield", rule="REC-2")
    if ix.recording is Recording.OFF:
        raise InvalidTransition(
            "the call is not recorded", rule="REC-2", recording=ix.recording.value
        )
    if ix.recording is Recording.PAUSED:
        raise InvalidTransition(
            "the recording is paused already", rule="REC-2", recording=ix.recording.value
        )


def require_may_resume_recording(ix: Interaction, agent_id: str) -> None:
    """REC-2: the agent resumes a paused recording before the shield ends."""
    _require_own_connected(ix, agent_id, "REC-2", "resume the recording")
    if ix.recording is not Recording.PAUSED:
        raise InvalidTransition(
            "the recording is not paused", rule="REC-2", recording=ix.recording.value
        )
