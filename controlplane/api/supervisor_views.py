"""The shapes of the supervisor console's answers in the OpenAPI document
(SUP-1..SUP-6); the routes and their operations are in `api/supervisor.py`."""

from __future__ import annotations

from controlplane.api import docs
from controlplane.domain import stats as rules

ISO = {"type": ["string", "null"], "format": "date-time"}
COUNTS = {
    "type": "object",
    "properties": {
        "offered": {"type": "integer"},
        "answered": {"type": "integer"},
        "answered_in_sl": {"type": "integer"},
        "abandoned": {"type": "integer"},
        "service_level": {"type": ["number", "null"], "description": "0..1; null: none answered"},
    },
}
QUEUE_VIEW = {
    "type": "object",
    "description": "SUP-1: a queue now, and its figures of the tenant's day",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "waiting": {"type": "integer", "description": "calls in the queue"},
        "oldest_entered_at": {
            **ISO,
            "description": "when the longest-waiting call entered (clients tick from it)",
        },
        "agents": {"type": "object", "description": "agents of the queue's teams by state"},
        "agents_total": {"type": "integer"},
        "service_level_seconds": {"type": "integer"},
        "today": COUNTS,
    },
}
AGENT_VIEW = {
    "type": "object",
    "description": "SUP-2: an agent now",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "team": {"type": "string"},
        "queues": {"type": "array", "items": {"type": "string"}},
        "state": {"type": "string"},
        "reason": {"type": ["string", "null"]},
        "since": {**ISO, "description": "in this state since (time in state ticks from it)"},
        "extension": {"type": ["string", "null"]},
        "ronas_today": {"type": "integer"},
        "call": {
            "type": ["object", "null"],
            "description": "the current call: id, status, queue, direction, kind, entered_at, "
            "connected_at, held",
        },
    },
}
LIMITS_VIEW = {
    "type": "object",
    "description": "SUP-3: concurrent-call slots used and the limits; refusals today by code",
    "properties": {
        "datacenter": {"type": "object"},
        "tenant": {"type": "object"},
        "refused_today": {
            "type": "object",
            "properties": {"26": {"type": "integer"}, "27": {"type": "integer"}},
        },
    },
}
SNAPSHOT = {
    "type": "object",
    "properties": {
        "tenant": {"type": "string"},
        "server_time": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "queues": {"type": "array", "items": docs.ref("SupervisorQueue")},
        "agents": {"type": "array", "items": docs.ref("SupervisorAgent")},
        "limits": docs.ref("SupervisorLimits"),
        "supervision": {
            "oneOf": [docs.ref("Supervision"), {"type": "null"}],
            "description": "SUP-5: the calling supervisor's own supervision going on (the "
            "console shows its bar again after a reload)",
        },
    },
}
SESSION = {
    "type": "object",
    "description": "SUP-5: a monitor, whisper or barge on an interaction",
    "properties": {
        "interaction": {"type": "string"},
        "supervisor": {"type": "string", "description": "supervisor:<token id>"},
        "extension": {"type": "string"},
        "phone": {
            "enum": ["browser", "extension"],
            "description": "browser: the supervisor's browser phone (a seat), which answers "
            "by itself",
        },
        "leg": {"type": "string", "description": "the supervisor's channel"},
        "mode": {"enum": ["monitor", "whisper", "barge"]},
        "state": {
            "enum": ["ringing", "active", "stopped"],
            "description": "ringing: the supervisor's phone rings",
        },
        "agent": {"type": "string"},
        "started_at": ISO,
    },
}
LISTED = {
    "type": "object",
    "description": "SUP-6: an interaction in the day's list (no call variables)",
    "properties": {
        **{k: {"type": ["string", "null"]} for k in rules.RECORD_FIELDS},
        "status": {"type": "string"},
    },
}


LISTING = {
    "type": "object",
    "properties": {
        "tenant": {"type": "string"},
        "day": {"type": "string", "format": "date"},
        "server_time": {"type": "string", "format": "date-time"},
        "active": {"type": "array", "items": docs.ref("ListedInteraction")},
        "queued": {"type": "array", "items": docs.ref("ListedInteraction")},
        "completed": {"type": "array", "items": docs.ref("ListedInteraction")},
        "next_cursor": {"type": ["string", "null"]},
    },
}
