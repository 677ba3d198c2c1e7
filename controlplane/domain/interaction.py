"""Interactions: one customer contact with its legs (IN-1, IN-2, END-1, END-2).

Pure rules and records: no I/O.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum

from controlplane.config import Flow, VariableDef
from controlplane.domain.errors import InvalidTransition

MAX_DISPLAYED_VARIABLES = 30  # CAD-2


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Status(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"  # offered to an agent whose phone rings (IN-1)
    CONNECTED = "connected"  # customer and agent bridged (IN-2)
    DIALING = "dialing"  # CB-2: the agent took a callback; the customer's phone rings
    SCHEDULED = "scheduled"  # CB-3: a callback waits for its next attempt
    ENDED = "ended"


class Kind(StrEnum):
    CALL = "call"  # the customer called in
    CALLBACK = "callback"  # CB-1: the system calls the customer back
    OUTDIAL = "outdial"  # OD-1: the agent calls a customer
    CAMPAIGN = "campaign"  # PC-3: the agent calls a preview campaign's contact


class Recording(StrEnum):
    """REC-1/REC-2: whether the conversation is being recorded."""

    OFF = "off"
    RECORDING = "recording"
    PAUSED = "paused"  # privacy shield: silence goes to the file


class EndCause(StrEnum):
    CUSTOMER_HANGUP = "customer_hangup"
    AGENT_HANGUP = "agent_hangup"  # the agent hung up the phone
    AGENT_END = "agent_end"  # the agent pressed End
    ABANDONED = "abandoned"  # the customer left before an agent answered
    UNKNOWN_ENTRY_POINT = "unknown_entry_point"
    SYSTEM = "system"  # the control plane could not go on (Asterisk error)
    LOST = "lost"  # its channels were gone when the control plane looked again (REL-2)
    CALLBACK_REQUESTED = "callback_requested"  # CB-1: the caller asked to be called back
    NOT_REACHED = "customer_not_reached"  # CB-3: a callback's attempts ran out
    NOT_CONNECTED = "not_connected"  # OD-5: an outdial attempt failed before it connected
    CANCELLED = "cancelled"  # OD-4: the agent cancelled an outdial while it rang
    TRANSFER_NOT_ANSWERED = "transfer_not_answered"  # TR-2: the transfer target did not answer
    PARTY_HANGUP = "party_hangup"  # TR-5/CO-4: the number that took over the call hung up


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def new_interaction_id() -> str:
    return uuid.uuid4().hex


_JSON_FIELDS = frozenset({"legs", "wrap_ups"})  # kept as JSON in the Redis hash


def caller_id(name: str, number: str) -> str:
    """A caller ID for Asterisk: `"name" <number>`, with nothing in either
    part that could end the quotes or the brackets (name at most 40 chars)."""
    unsafe = '"\\\r\n<>'
    safe_name = "".join(c for c in name if c not in unsafe)[:40]
    safe_number = "".join(c for c in number if c not in unsafe)[:40]
    return f'"{safe_name}" <{safe_number}>'


class LegRole(StrEnum):
    """TR, CO, CF: a leg beyond the customer's and the handling agent's."""

    CONSULT = "consult"  # CO-1: the consulted party (an agent or a number)
    TRANSFER = "transfer"  # TR-2, TR-5: a blind transfer's target while it rings
    PARTY = "party"  # TR-5, CO-4: a number that took over the call (no agent)


class LegState(StrEnum):
    QUEUED = "queued"  # CO-1: a queue consult waits for an available agent
    RINGING = "ringing"
    CONSULTING = "consulting"  # CO-3: talks with the consulting agent; the customer is held
    CONSULT_HELD = "consult_held"  # CO-3: on hold; the consulting agent is with the customer
    CONFERENCE = "conference"  # CF-1: all legs in the interaction's bridge
    CONNECTED = "connected"  # a number that took over the call


@dataclass(slots=True)
class Leg:
    """A consult or blind-transfer leg, kept in the interaction's record so
    that any replica (and a restarted service) knows every leg and its state."""

    channel: str  # our channel ID (`LegKind`): <interaction>-k<n> (consult), -x<n> (transfer)
    role: LegRole
    state: LegState
    target: str  # how the party was chosen: agent, queue, dial_number
    agent: str | None = None  # the agent on the leg (None: a number, or not chosen yet)
    number: str | None = None  # the number dialled
    post_dial: str | None = None  # DTMF sent once the number answers (DN-1)
    queue: str | None = None  # CO-1: the queue a consult waits in
    by: str | None = None  # the agent who started the consult or transfer
    prior: str | None = None  # the offered agent's state before: "available", "idle:<reason>"
    started_at: int = field(default_factory=now_ms)
    connected_at: int | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Leg:
        data = dict(raw)
        data["role"] = LegRole(str(data["role"]))
        data["state"] = LegState(str(data["state"]))
        return cls(**data)  # type: ignore[arg-type]

    def public(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "role": self.role.value,
            "state": self.state.value,
            "target": self.target,
            "agent": self.agent,
            "number": self.number,
            "queue": self.queue,
            "by": self.by,
            "started_at": iso(self.started_at),
            "connected_at": iso(self.connected_at),
        }


@dataclass(slots=True)
class Interaction:
    """The state of one interaction as the store keeps it."""

    id: str
    tenant: str
    direction: Direction
    label: str
    ani: str
    dnis: str
    entry_point: str
    flow: str
    queue: str
    queue_name: str
    node: str
    customer_channel: str
    status: Status = Status.QUEUED
    entered_at: int = field(default_factory=now_ms)
    connected_at: int | None = None
    ended_at: int | None = None
    agent: str | None = None
    agent_channel: str | None = None
    bridge: str | None = None
    end_cause: EndCause | None = None
    wrap_up_reason: str | None = None
    offers: int = 0
    held: bool = False  # HOLD-1: the customer is on music on hold
    recording: Recording = Recording.OFF  # REC-1/REC-2
    recording_name: str | None = None  # the live recording (and file) name
    kind: Kind = Kind.CALL  # CB-2
    attempts: int = 0  # CB-3: a callback's dial attempts to the customer that counted
    last_outcome: str | None = None  # CB-3: how a callback's last attempt ended
    legs: list[Leg] = field(default_factory=list)  # TR, CO, CF: consult and transfer legs
    leg_seq: int = 0  # numbers the consult and transfer legs (<id>-k<n>, <id>-x<n>)
    wrap_ups: dict[str, str] = field(default_factory=dict)  # END-2, TR-6: agent -> reason
    # Not state: the fields (`to_fields`) as the store last read or wrote
    # them (None: never), so that a save writes only what this copy changed
    # and leaves what another step changed meanwhile as that step left it.
    stored: dict[str, str] | None = field(default=None, compare=False, repr=False)

    def to_fields(self) -> dict[str, str]:
        """Flat string form for a Redis hash; None is left out."""
        out: dict[str, str] = {}
        for f in fields(self):
            key = f.name
            if key == "stored":
                continue
            value = getattr(self, key)
            if key in _JSON_FIELDS:
                if value:
                    plain = [asdict(leg) for leg in value] if key == "legs" else value
                    out[key] = json.dumps(plain, separators=(",", ":"))
            elif value is not None:
                out[key] = str(value)
        return out

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> Interaction:
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            if f.name in (
                "entered_at",
                "connected_at",
                "ended_at",
                "offers",
                "attempts",
                "leg_seq",
            ):
                kwargs[f.name] = int(value)
            elif f.name == "legs":
                kwargs[f.name] = [Leg.from_dict(leg) for leg in json.loads(value)]
            elif f.name == "wrap_ups":
                kwargs[f.name] = {str(k): str(v) for k, v in json.loads(value).items()}
            elif f.name == "direction":
                kwargs[f.name] = Direction(value)
            elif f.name == "status":
                kwargs[f.name] = Status(value)
            elif f.name == "end_cause":
                kwargs[f.name] = EndCause(value)
            elif f.name == "held":
                kwargs[f.name] = value == "True"
            elif f.name == "recording":
                kwargs[f.name] = Recording(value)
            elif f.name == "kind":
                kwargs[f.name] = Kind(value)
            else:
                kwargs[f.name] = value
        return cls(**kwargs)  # type: ignore[arg-type]

    def public(self) -> dict[str, object]:
        """The interaction as the API shows it."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "direction": self.direction.value,
            "label": self.label,
            "ani": self.ani,
            "dnis": self.dnis,
            "entry_point": self.entry_point,
            "queue": self.queue,
            "queue_name": self.queue_name,
            "status": self.status.value,
            "entered_at": iso(self.entered_at),
            "connected_at": iso(self.connected_at),
            "ended_at": iso(self.ended_at),
            "agent": self.agent,
            "end_cause": self.end_cause.value if self.end_cause else None,
            "wrap_up_reason": self.wrap_up_reason,
            "held": self.held,
            "recording": self.recording.value,
            "recording_name": self.recording_name,
            "kind": self.kind.value,
            "attempts": self.attempts,
            "last_outcome": self.last_outcome,
            "legs": [leg.public() for leg in self.legs],
        }


def displayed_variables(flow: Flow, values: Mapping[str, str | None]) -> list[dict[str, object]]:
    """CAD-1/CAD-2: the flow's variables for display, in configured order, at most 30."""
    ordered: list[VariableDef] = sorted(flow.variables, key=lambda v: (v.order, v.name))
    out: list[dict[str, object]] = []
    for var in ordered[:MAX_DISPLAYED_VARIABLES]:
        out.append(
            {
                "name": var.name,
                "label": var.label,
                "type": var.type.value,
                "editable": var.editable,
                "secure": var.secure,
                "value": values.get(var.name, var.default),
            }
        )
    return out


def offer(ix: Interaction, variables: list[dict[str, object]]) -> dict[str, object]:
    """IN-1: what the chosen agent's desktop is shown while the phone rings."""
    return {
        "interaction_id": ix.id,
        "direction": ix.direction.value,
        "label": ix.label,
        "ani": ix.ani,
        "dnis": ix.dnis,
        "queue": ix.queue,
        "queue_name": ix.queue_name,
        "variables": variables,
        "status": Status.RINGING.value,
        "entered_at": iso(ix.entered_at),
        "kind": ix.kind.value,
    }


class Step(StrEnum):
    """What changes an interaction's status."""

    ENQUEUE = "enqueue"  # IN-1, CB-1: it waits in its queue
    OFFER = "offer"  # IN-3: routing offers it to an agent (the `dispatch` script)
    REQUEUE = "requeue"  # RONA-1, REL-1, CB-2: the offer did not stand: back to its place
    ANSWER = "answer"  # IN-2, CB-2, OD-4: customer and agent are bridged
    DIAL = "dial"  # CB-2, OD-4: the agent answered; the customer's phone rings
    RETRY_LATER = "retry_later"  # CB-3, CB-4: the attempt failed (or was not placed)
    RETRY = "retry"  # CB-3: the next attempt: back to its queue
    TRANSFER = "transfer"  # TR-2, TR-5: a blind transfer's target rings
    TRANSFER_TO_QUEUE = "transfer_to_queue"  # TR-3, TR-4: back into a queue
    END = "end"  # END-1


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One row of the interaction status table."""

    previous: Status
    status: Status
    step: Step
    rule: str


_Q, _R, _C, _D, _S, _E = (
    Status.QUEUED,
    Status.RINGING,
    Status.CONNECTED,
    Status.DIALING,
    Status.SCHEDULED,
    Status.ENDED,
)

# The interaction status machine, complete: every change the product makes,
# with what makes it and the rule that allows it. Anything not listed is
# refused. An interaction is created `queued` (a call, a callback) or
# `ringing` (an outbound call, OD-4); `ended` is final.
STATUS_TABLE: tuple[StatusChange, ...] = (
    StatusChange(_Q, _Q, Step.ENQUEUE, "IN-1"),
    StatusChange(_Q, _R, Step.OFFER, "IN-3"),
    StatusChange(_R, _Q, Step.REQUEUE, "RONA-1"),
    StatusChange(_R, _C, Step.ANSWER, "IN-2"),
    StatusChange(_R, _D, Step.DIAL, "CB-2"),
    StatusChange(_R, _S, Step.RETRY_LATER, "CB-4"),  # over a limit: not dialled
    StatusChange(_D, _C, Step.ANSWER, "CB-2"),
    StatusChange(_D, _Q, Step.REQUEUE, "CB-2"),  # the agent hung up while it rang
    StatusChange(_D, _S, Step.RETRY_LATER, "CB-3"),
    StatusChange(_S, _Q, Step.RETRY, "CB-3"),
    StatusChange(_C, _R, Step.TRANSFER, "TR-2"),
    StatusChange(_C, _Q, Step.TRANSFER_TO_QUEUE, "TR-3"),
    *(StatusChange(s, _E, Step.END, "END-1") for s in (_Q, _R, _D, _S, _C)),
)

_STATUS_ROWS: dict[tuple[Status, Status], StatusChange] = {
    (row.previous, row.status): row for row in STATUS_TABLE
}


def status_sources(status: Status, step: Step) -> frozenset[Status]:
    """The statuses from which `step` leads to `status` (e.g. the statuses
    the `dispatch` script may offer an interaction from)."""
    return frozenset(
        row.previous for row in STATUS_TABLE if row.status is status and row.step is step
    )


def change_status(ix: Interaction, status: Status) -> StatusChange:
    """The one way an interaction's status changes: checked against
    `STATUS_TABLE` (refused naming the rule of the change asked for)."""
    row = _STATUS_ROWS.get((ix.status, status))
    if row is None:
        wanted = next((r.rule for r in STATUS_TABLE if r.status is status), "IN-1")
        raise InvalidTransition(
            f"interaction is {ix.status.value}: it cannot become {status.value}",
            rule=wanted,
            status=ix.status.value,
            wanted=status.value,
        )
    ix.status = status
    return row


def connect(ix: Interaction, at: int) -> None:
    """IN-2: the agent answered; customer and agent are bridged (CB-3: for a
    callback, when the customer answered)."""
    if ix.status not in (Status.RINGING, Status.DIALING):
        raise InvalidTransition(
            f"interaction is {ix.status.value}, not ringing", rule="IN-2", status=ix.status.value
        )
    change_status(ix, Status.CONNECTED)
    ix.connected_at = at


def end(ix: Interaction, cause: EndCause, at: int) -> bool:
    """END-1: end the interaction. Returns False when it had already ended."""
    if ix.status is Status.ENDED:
        return False
    change_status(ix, Status.ENDED)
    ix.end_cause = cause
    ix.ended_at = at
    return True
