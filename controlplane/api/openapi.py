"""The OpenAPI 3.1 document served at /openapi.json."""

from __future__ import annotations

from functools import cache
from typing import Any

from controlplane import __version__
from controlplane.api.schemas import LoginRequest, StateRequest, WrapUpRequest

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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid input",
        401: "no or unknown token",
        403: "not allowed for this caller",
        404: "not found in the caller's tenant",
        409: "refused by a rule in the current state",
        502: "Asterisk refused the action",
        503: "Asterisk cannot carry out the action right now",
    }
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def path_params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def json_body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _op(
    summary: str,
    ok: dict[str, Any],
    *codes: int,
    body: str | None = None,
    params: list[str] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok, **_errors(*codes)}}
    if body:
        op["requestBody"] = json_body(body)
    if params:
        op["parameters"] = path_params(*params)
    return op


@cache
def build_openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Agent": AGENT, "Interaction": INTERACTION, "Error": ERROR}
    for model in (LoginRequest, StateRequest, WrapUpRequest):
        schemas[model.__name__] = model.model_json_schema()
    agent_ok = _json(_ref("Agent"), "the agent")
    ix_ok = _json(_ref("Interaction"), "the interaction")
    a, i = ["agent_id"], ["ix_id"]
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "AMI, ARI and Redis connectivity",
                "security": [],
                "responses": {"200": {"description": "all ok"}, "503": {"description": "degraded"}},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
        "/v1/agents": {
            "get": _op(
                "agents of the caller's tenant (an agent sees only themself)",
                _json(
                    {
                        "type": "object",
                        "properties": {"agents": {"type": "array", "items": _ref("Agent")}},
                    },
                    "agents",
                ),
                401,
            )
        },
        "/v1/agents/{agent_id}": {
            "get": _op("an agent's state", agent_ok, 401, 403, 404, params=a)
        },
        "/v1/agents/{agent_id}/login": {
            "post": _op(
                "log in with the phone's extension (-> idle)",
                agent_ok,
                400,
                401,
                403,
                404,
                409,
                body="LoginRequest",
                params=a,
            )
        },
        "/v1/agents/{agent_id}/state": {
            "put": _op(
                "change to available, idle (with a reason) or logged_out",
                agent_ok,
                400,
                401,
                403,
                404,
                409,
                body="StateRequest",
                params=a,
            )
        },
        "/v1/interactions/{ix_id}": {"get": _op("an interaction", ix_ok, 401, 403, 404, params=i)},
        "/v1/interactions/{ix_id}/end": {
            "post": _op(
                "end the call (END-1; refused while held)", ix_ok, 401, 403, 404, 409, 502, params=i
            )
        },
        "/v1/interactions/{ix_id}/hold": {
            "post": _op(
                "put the customer on music on hold (HOLD-1)",
                ix_ok,
                401,
                403,
                404,
                409,
                503,
                params=i,
            )
        },
        "/v1/interactions/{ix_id}/resume": {
            "post": _op(
                "take the customer off hold (HOLD-2)", ix_ok, 401, 403, 404, 409, 503, params=i
            )
        },
        "/v1/interactions/{ix_id}/recording/pause": {
            "post": _op(
                "privacy shield: pause the recording for the tenant's privacy_shield_seconds "
                "(REC-2)",
                ix_ok,
                401,
                403,
                404,
                409,
                503,
                params=i,
            )
        },
        "/v1/interactions/{ix_id}/recording/resume": {
            "post": _op(
                "resume a paused recording before the shield ends (REC-2)",
                ix_ok,
                401,
                403,
                404,
                409,
                503,
                params=i,
            )
        },
        "/v1/interactions/{ix_id}/wrap-up": {
            "post": _op(
                "apply a wrap-up reason (END-2)",
                agent_ok,
                400,
                401,
                403,
                404,
                409,
                body="WrapUpRequest",
                params=i,
            )
        },
        "/v1/events": {
            "get": {
                "summary": "WebSocket of the caller's events (agent: own; supervisor: tenant)",
                "description": (
                    "Upgrade to a WebSocket. Authenticate with the Authorization header or, "
                    "for browsers, `?token=`. Each message is JSON: "
                    "`{type, tenant, agent, at, data}`. Types: agent.state, "
                    "interaction.queued, interaction.offered, interaction.offer_withdrawn, "
                    "interaction.connected, interaction.held, interaction.resumed, "
                    "interaction.recording_paused, interaction.recording_resumed, "
                    "interaction.variables_updated (private: the interaction's agent), "
                    "interaction.dialing, interaction.callback_failed (CB-3), "
                    "interaction.transferred, interaction.transfer_failed (TR), "
                    "interaction.consult_requested, interaction.consult_offered (private: "
                    "the consulted agent), interaction.consult_connected, "
                    "interaction.consult_held, interaction.consult_resumed, "
                    "interaction.consult_ended (CO), interaction.conference_started "
                    "(private, CF-2), "
                    "interaction.ended, interaction.wrapped_up."
                ),
                "responses": {"101": {"description": "switching protocols"}, **_errors(401)},
            }
        },
    }
    from controlplane.api import variables  # noqa: PLC0415 (it imports this module)

    variables.document(paths, schemas)
    from controlplane.api import callbacks  # noqa: PLC0415 (it imports this module)

    callbacks.document(paths, schemas)
    from controlplane.api import outbound  # noqa: PLC0415 (it imports this module)

    outbound.document(paths, schemas)
    from controlplane.api import campaigns  # noqa: PLC0415 (it imports this module)

    campaigns.document(paths, schemas)
    from controlplane.api import transfers  # noqa: PLC0415 (it imports this module)

    transfers.document(paths, schemas)  # TR, CO, CF
    from controlplane.api import supervisor  # noqa: PLC0415 (it imports this module)

    supervisor.document(paths, schemas)  # SUP-1..SUP-6
    from controlplane.api import ops  # noqa: PLC0415 (it imports this module)

    ops.document(paths, schemas)
    from controlplane.api import session, webui  # noqa: PLC0415 (they import this module)

    session.document(paths, schemas)  # DSK-1, DSK-13
    from controlplane.api import phone  # noqa: PLC0415 (it imports this module)

    phone.document(paths)  # PH-1, PH-4
    webui.document(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "controlplane",
            "version": __version__,
            "description": "Contact-center voice control plane for Asterisk.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "cp_session",
                    "description": "the desktop's session (POST /v1/session); every state "
                    "change also needs the header X-CSRF-Token",
                },
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
