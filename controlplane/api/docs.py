"""Pieces of the OpenAPI 3.1 document that the features' operations share:
the common schemas (Agent, Interaction, Error) and helpers that build
responses, parameters and bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_ISO = {"type": ["string", "null"], "format": "date-time"}

AGENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "tenant": {"type": "string"},
        "state": {
            "enum": ["logged_out", "idle", "available", "reserved", "connected", "wrap_up", "rona"]
        },
        "previous": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "since": _ISO,
        "extension": {"type": ["string", "null"]},
        "offer": {"type": ["string", "null"], "description": "interaction ringing on the phone"},
        "interaction": {"type": ["string", "null"], "description": "interaction being handled"},
    },
    "required": ["id", "tenant", "state"],
}

INTERACTION = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "tenant": {"type": "string"},
        "direction": {"enum": ["inbound", "outbound"]},
        "label": {"type": "string"},
        "ani": {"type": "string", "description": "customer number"},
        "dnis": {"type": "string", "description": "dialled number"},
        "entry_point": {"type": "string"},
        "queue": {"type": "string"},
        "queue_name": {"type": "string"},
        "status": {
            "enum": ["queued", "ringing", "dialing", "connected", "scheduled", "ended"],
            "description": "dialing: a callback's customer rings; scheduled: it waits to retry",
        },
        "entered_at": _ISO,
        "connected_at": _ISO,
        "ended_at": _ISO,
        "agent": {"type": ["string", "null"]},
        "end_cause": {"type": ["string", "null"]},
        "wrap_up_reason": {"type": ["string", "null"]},
        "held": {"type": "boolean", "description": "the customer is on hold (HOLD-1)"},
        "recording": {"enum": ["recording", "paused", "off"], "description": "REC-1, REC-2"},
        "recording_name": {
            "type": ["string", "null"],
            "description": "name of the recording file (`<name>.wav`), if recorded",
        },
        "kind": {
            "enum": ["call", "callback", "outdial", "campaign"],
            "description": "CB-2: a callback is labelled; OD: an outdial; PC: a campaign call",
        },
        "attempts": {"type": "integer", "description": "CB-3: a callback's dial attempts"},
        "last_outcome": {
            "type": ["string", "null"],
            "description": "CB-3: no_answer, busy, congestion, rejected, invalid_number, failed",
        },
        "legs": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Leg"},
            "description": "TR, CO, CF: consult and transfer legs with their states",
        },
    },
    "required": ["id", "tenant", "direction", "status"],
}

ERROR = {
    "type": "object",
    "properties": {
        "status": {"type": "integer"},
        "error_id": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object", "description": "includes `rule` when a spec rule refused"},
    },
    "required": ["status", "error_id", "message", "details"],
}

COMMON_SCHEMAS: dict[str, Any] = {"Agent": AGENT, "Interaction": INTERACTION, "Error": ERROR}

ERROR_TEXT = {
    400: "invalid input",
    401: "no or unknown token",
    403: "not allowed for this caller",
    404: "not found in the caller's tenant",
    405: "the method is not allowed here (the Allow header names those that are)",
    409: "refused by a rule in the current state",
    429: "too many requests; see Retry-After",
    502: "Asterisk refused the action",
    503: "the action cannot be carried out right now (Asterisk or the state store)",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A JSON response."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    """Error responses (the Error body) for the given status codes."""
    return {str(c): content(ref("Error"), ERROR_TEXT[c]) for c in codes}


def path_params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def json_body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}


def op(
    summary: str,
    ok: dict[str, Any],
    *codes: int,
    body: str | None = None,
    params: list[str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    """An operation answering `ok` with `status` and errors with `codes`."""
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(status): ok, **errors(*codes)},
    }
    if body:
        operation["requestBody"] = json_body(body)
    if params:
        operation["parameters"] = path_params(*params)
    return operation


def model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The JSON schemas of request models, named as the models, with the
    models they use as schemas of their own."""
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found
