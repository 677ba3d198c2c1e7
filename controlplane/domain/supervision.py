"""Supervisor actions (SUP-4, SUP-5): pure rules, no I/O.

SUP-4: a supervisor sets an agent `idle` (with one of the tenant's idle
reasons) or logs them out. Refused while the agent has a call in hand:
`reserved` (an offer rings), `connected` and `wrap_up` (the call's wrap-up
reason is still to come). `available`, `idle` and `rona` agents may be
changed; a logged-out agent has nothing to change.

SUP-5: monitor and whisper through an ARI snoop channel on the agent's
leg, bridged with the supervisor's own leg in a bridge of its own; barge
by moving the supervisor's leg into the call's bridge:

| mode | how | the agent hears | the customer hears |
| --- | --- | --- | --- |
| monitor | snoop `spy=both`, `whisper=none` | nothing of them | nothing of them |
| whisper | snoop `spy=both`, `whisper=out` | the supervisor | nothing of them |
| barge | the supervisor in the call's bridge | the supervisor | the supervisor |

`whisper=out` is audio sent *to* the agent's channel: only the agent's
phone gets it; it never enters the call's bridge, so neither the customer
nor the recording (of the bridge) has it. A barging supervisor is in the
call's bridge like a conference party: everybody hears them and so does
the recording, as a barge should be recorded. The supervisor always hears
both sides. Switching modes moves the supervisor's leg between the two
bridges (and replaces the snoop); the leg itself stays up.
"""

from __future__ import annotations

import re
from enum import StrEnum

from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition

S = AgentState

# SUP-4: the states in which a supervisor may not change an agent's state.
BUSY_STATES = frozenset({S.RESERVED, S.CONNECTED, S.WRAP_UP})
SUPERVISOR_STATES = frozenset({S.IDLE, S.LOGGED_OUT})

_WHY_BUSY = {
    S.RESERVED: "an offer is ringing on the agent's phone",
    S.CONNECTED: "the agent is connected to a call",
    S.WRAP_UP: "the agent is wrapping up a call",
}


def require_supervisor_change(
    current: AgentState, wanted: AgentState, reason: str | None, idle_reasons: dict[str, str]
) -> None:
    """SUP-4: whether a supervisor may set the agent to `wanted` now."""
    if wanted not in SUPERVISOR_STATES:
        raise InvalidInput(
            f"a supervisor sets an agent idle or logs them out, not {wanted.value}",
            rule="SUP-4",
            field="state",
            allowed=sorted(s.value for s in SUPERVISOR_STATES),
        )
    if wanted is S.IDLE:
        if reason is None:
            raise InvalidInput("an idle reason is required", rule="SUP-4", field="reason")
        if reason not in idle_reasons:
            raise InvalidInput(
                f"unknown idle reason {reason!r}",
                rule="SUP-4",
                field="reason",
                allowed=sorted(idle_reasons),
            )
    elif reason is not None:
        raise InvalidInput("only idle takes a reason", rule="SUP-4", field="reason")
    if current in BUSY_STATES:
        raise InvalidTransition(
            f"cannot set the agent {wanted.value.replace('_', ' ')}: {_WHY_BUSY[current]}",
            rule="SUP-4",
            state=current.value,
            wanted=wanted.value,
        )
    if current is S.LOGGED_OUT:
        raise InvalidTransition(
            "the agent is logged out", rule="SUP-4", state=current.value, wanted=wanted.value
        )


class Mode(StrEnum):
    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


# mode -> (spy, whisper) of the snoop channel on the agent's leg (barge
# needs none: the supervisor joins the call's bridge)
SNOOP: dict[Mode, tuple[str, str]] = {
    Mode.MONITOR: ("both", "none"),
    Mode.WHISPER: ("both", "out"),
}

SIP_HEADER = "X-CP-Supervision"
"""Names the interaction on the INVITE of a supervisor's leg to their browser
phone: the console answers only the call it asked for."""

_BRIDGE = re.compile(r"^(?P<ix>[0-9a-f]{32})-s(?P<n>[0-9]+)-bridge$")


def bridge_id(supervisor_leg: str) -> str:
    """The supervisor's own mixing bridge (snoop + supervisor leg)."""
    return f"{supervisor_leg}-bridge"


def bridge_interaction(bridge: str) -> str | None:
    m = _BRIDGE.match(bridge)
    return m["ix"] if m else None


class State(StrEnum):
    RINGING = "ringing"  # the supervisor's phone rings
    ACTIVE = "active"  # the supervisor listens (and talks, by mode)


_EXTENSION = re.compile(r"^[0-9]{2,10}$")


def require_extension(extension: str) -> None:
    if not _EXTENSION.match(extension):
        raise InvalidInput(
            "the supervisor's extension is 2 to 10 digits", rule="SUP-5", field="extension"
        )


def require_supervisable(status: str, agent_channel: str | None) -> None:
    """SUP-5: only a connected call with an agent's leg can be supervised."""
    if status != "connected" or not agent_channel:
        raise InvalidTransition(
            f"only a connected call can be monitored (it is {status})",
            rule="SUP-5",
            status=status,
        )
