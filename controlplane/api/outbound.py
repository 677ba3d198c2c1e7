"""API of outbound calls (OD-1..OD-8) and of the interaction history (HI-1, HI-2).

- ``GET /v1/address-book?search=``: the tenant's address book, filtered (OD-2).
- ``GET /v1/agents/{id}/outdial-anis``: the agent's outdial ANIs, alphabetically,
  and the tenant's default (OD-3).
- ``POST /v1/agents/{id}/outdial`` ``{"number"|"address_book", "ani"}``: the
  agent dials out (201 with the interaction, `ringing`: the agent's phone
  rings first). Refusals name their rule (OD-1, OD-2, OD-3, DN-1..DN-4,
  LIM-2 with `code` 26/27 and its `text`, OD-8).
- ``POST /v1/interactions/{id}/cancel``: the agent cancels an outbound call
  while it rings, where the tenant enables it (OD-4).
- ``GET /v1/agents/{id}/history?type=all|calls&limit=``: the agent's
  wrapped-up voice interactions, newest first (HI-1).
- ``POST /v1/agents/{id}/history/{ix_id}/call`` ``{"number", "ani"}``:
  click-to-call an entry's number, optionally edited (HI-2).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from controlplane.api import docs
from controlplane.api.common import SERVICES, Feature, Route, body, principal
from controlplane.api.schemas import Body
from controlplane.domain.errors import InvalidInput
from controlplane.domain.interaction import Interaction
from controlplane.features.outbound import history


class OutdialRequest(Body):
    # The number is checked by the dial-number rules (DN-1..DN-4), so that a
    # refusal names its rule; here only its size is bounded.
    number: str | None = Field(
        default=None, max_length=64, description="typed on the keypad (needs `keypad`)"
    )
    address_book: str | None = Field(
        default=None, max_length=80, description="the name of an address-book entry"
    )
    ani: str | None = Field(
        default=None,
        max_length=32,
        description="one of the profile's outdial ANIs; default: the tenant's default ANI",
    )


class HistoryCallRequest(Body):
    number: str | None = Field(
        default=None,
        max_length=64,
        description="the entry's number edited on the keypad (needs `keypad`); default: as is",
    )
    ani: str | None = Field(default=None, max_length=32, description="as for an outdial")


def _dialling(ix: Interaction) -> dict[str, Any]:
    """The interaction, and the number the customer is dialled with: the
    typed number as the dial-number rules cleaned it (DN-1)."""
    return {**ix.public(), "dialled": ix.dnis}


async def address_book(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    search = request.query.get("search")
    if search is not None and len(search) > 80:
        raise InvalidInput("the search text has at most 80 characters", rule="OD-2")
    return web.json_response({"entries": s.cc.outbound.address_book(p.tenant, search)})


async def outdial_anis(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    await s.cc.agent(p.tenant, agent_id)
    return web.json_response(s.cc.outbound.anis(p.tenant, agent_id))


async def outdial(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    req = await body(request, OutdialRequest)
    ix = await s.cc.outbound.outdial(
        p.tenant, agent_id, number=req.number, address_book=req.address_book, ani=req.ani
    )
    return web.json_response(_dialling(ix), status=201)


async def cancel(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix_id = request.match_info["ix_id"]
    ix = await s.cc.interaction(p.tenant, ix_id)
    p.require_self(ix.agent or "")
    ix = await s.cc.outbound.cancel(p.tenant, ix.agent or "", ix_id)
    return web.json_response(ix.public())


def _history_query(request: web.Request) -> tuple[history.HistoryType, int]:
    kind = request.query.get("type", "all")
    if kind not in ("all", "calls"):
        raise InvalidInput(
            "type is 'all' or 'calls'", rule="HI-1", field="type", allowed=["all", "calls"]
        )
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise InvalidInput("limit is 1 to 500", rule="HI-1", field="limit")
    return ("calls" if kind == "calls" else "all"), int(raw)


async def get_history(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    kind, limit = _history_query(request)
    items = await history.entries(s.cc, p.tenant, agent_id, kind=kind, limit=limit)
    return web.json_response({"agent": agent_id, "type": kind, "entries": items})


async def history_call(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    req = await body(request, HistoryCallRequest)
    ix = await s.cc.outbound.call_from_history(
        p.tenant,
        agent_id,
        request.match_info["ix_id"],
        number=req.number,
        ani=req.ani,
        history=await history.ids(s.cc, p.tenant, agent_id),
    )
    return web.json_response(_dialling(ix), status=201)


# OpenAPI --------------------------------------------------------------------------


HISTORY_ENTRY = {
    "type": "object",
    "properties": {
        "interaction_id": {"type": "string"},
        "type": {"enum": ["call"]},
        "kind": {"enum": ["call", "callback", "outdial", "campaign"]},
        "direction": {"enum": ["inbound", "outbound"]},
        "label": {"type": "string"},
        "number": {"type": "string", "description": "the customer's number"},
        "queue": {"type": ["string", "null"]},
        "queue_name": {"type": ["string", "null"]},
        "started_at": {"type": "string", "format": "date-time"},
        "connected_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_seconds": {"type": ["integer", "null"]},
        "wrap_up_reason": {"type": ["string", "null"]},
        "wrap_up_label": {"type": ["string", "null"]},
    },
}

DIALLING = {
    "allOf": [
        docs.ref("Interaction"),
        {
            "type": "object",
            "properties": {
                "dialled": {
                    "type": "string",
                    "pattern": "^\\+?[0-9]{3,14}$",
                    "description": "the number the customer is dialled with: as typed, "
                    "cleaned by the dial-number rules (DN-1)",
                }
            },
            "required": ["dialled"],
        },
    ]
}

_CREATED = docs.content(docs.ref("Dialling"), "the interaction, ringing on the agent's phone")


def _dial(summary: str, req: str, params: list[str]) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": docs.path_params(*params),
        "requestBody": docs.json_body(req),
        "responses": {"201": _CREATED, **docs.errors(400, 401, 403, 404, 409, 503)},
    }


FEATURE = Feature(
    name="outbound",
    schemas={
        **docs.model_schemas(OutdialRequest, HistoryCallRequest),
        "HistoryEntry": HISTORY_ENTRY,
        "Dialling": DIALLING,
    },
    routes=(
        Route(
            "GET",
            "/v1/address-book",
            address_book,
            {
                "summary": "the tenant's address book, filtered by `search` (name or digits) "
                "(OD-2)",
                "parameters": [
                    {
                        "name": "search",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 80},
                    }
                ],
                "responses": {
                    "200": docs.content(
                        {"type": "object", "properties": {"entries": {"type": "array"}}},
                        "entries sorted by name: {name, number}",
                    ),
                    **docs.errors(400, 401),
                },
            },
        ),
        Route(
            "GET",
            "/v1/agents/{agent_id}/outdial-anis",
            outdial_anis,
            {
                "summary": "the agent's outdial ANIs, alphabetically, and the tenant's default "
                "(OD-3)",
                "parameters": docs.path_params("agent_id"),
                "responses": {
                    "200": docs.content(
                        {
                            "type": "object",
                            "properties": {
                                "anis": {"type": "array", "items": {"type": "string"}},
                                "default": {"type": ["string", "null"]},
                            },
                        },
                        "ANIs",
                    ),
                    **docs.errors(401, 403, 404),
                },
            },
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/outdial",
            outdial,
            _dial(
                "dial out from available or idle (OD-1..OD-4): the agent's phone rings first, "
                "then the customer is dialled with the chosen ANI; 409 with `code` 26/27 over a "
                "limit (LIM-2), 409 OD-8 when an inbound offer reached the agent first",
                "OutdialRequest",
                ["agent_id"],
            ),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/cancel",
            cancel,
            {
                "summary": "cancel an outbound call while it rings, where the tenant enables it "
                "(OD-4)",
                "parameters": docs.path_params("ix_id"),
                "responses": {
                    "200": docs.content(docs.ref("Interaction"), "the ended interaction"),
                    **docs.errors(401, 403, 404, 409),
                },
            },
        ),
        Route(
            "GET",
            "/v1/agents/{agent_id}/history",
            get_history,
            {
                "summary": "the agent's wrapped-up voice interactions, newest first (HI-1)",
                "parameters": [
                    *docs.path_params("agent_id"),
                    {
                        "name": "type",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["all", "calls"]},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                ],
                "responses": {
                    "200": docs.content(
                        {
                            "type": "object",
                            "properties": {
                                "entries": {"type": "array", "items": docs.ref("HistoryEntry")}
                            },
                        },
                        "the history",
                    ),
                    **docs.errors(400, 401, 403, 404),
                },
            },
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/history/{ix_id}/call",
            history_call,
            _dial(
                "click-to-call a history entry's number, optionally edited (HI-2): an outdial "
                "with all its rules; refused during an active call",
                "HistoryCallRequest",
                ["agent_id", "ix_id"],
            ),
        ),
    ),
)
