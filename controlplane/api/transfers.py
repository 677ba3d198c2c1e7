"""API of blind transfer (TR-1..TR-7), consult (CO-1..CO-6) and conference
(CF-1..CF-7).

- ``GET /v1/targets?kind=&search=&interaction=&purpose=``: transfer and consult
  targets of one kind (agents with their current state, queues, entry
  points, address book), filtered by search text; with an interaction, only
  the kinds its transfer may go to (TR-7).
- ``POST /v1/interactions/{id}/transfer`` ``{"kind", "target"}``: blind transfer.
- ``POST /v1/interactions/{id}/consult`` ``{"kind", "target"}``: start a consult;
  ``GET`` shows it, ``DELETE`` cancels, ends or (the consulted agent) leaves it.
- ``POST .../consult/hold`` and ``.../consult/resume``: switch between the
  consulted party and the customer (CO-3); ``POST .../consult/transfer``:
  the call goes to the consulted party (CO-4, CF-4).
- ``POST /v1/interactions/{id}/conference`` (CF-1); ``DELETE`` ends it for
  everyone (the consulting agent, CF-6) or leaves it (the consulted agent, CF-5).

Only the agents on the call act; each action answers with the interaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web
from pydantic import Field

from controlplane.api import docs
from controlplane.api.auth import Forbidden, Principal
from controlplane.api.common import SERVICES, Feature, Route, Services, body, principal
from controlplane.api.schemas import Body
from controlplane.config import Role
from controlplane.domain import legs as leg_rules
from controlplane.domain.errors import InvalidInput
from controlplane.domain.interaction import Interaction
from controlplane.domain.transfer import MAX_SEARCH, TargetKind
from controlplane.features.consult.service import ConsultService

KINDS = [k.value for k in TargetKind]
PURPOSES = ("transfer", "consult")
NUMBER_KINDS = ("dial_number", "address_book")  # targets that are dialled as a number


class TargetRequest(Body):
    kind: Literal["agent", "queue", "entry_point", "dial_number", "address_book"] = Field(
        description="what `target` names"
    )
    target: str = Field(
        min_length=1,
        max_length=64,
        description="an agent, queue or entry point ID; a number (DN-1..DN-3); an "
        "address-book entry's name",
    )


def _agent(p: Principal, rule: str) -> str:
    if p.role is not Role.AGENT or p.agent is None:
        raise Forbidden("only the agents on the call can do this", rule=rule)
    return p.agent


def _require_party(ix: Interaction, agent: str) -> None:
    """SEC-1: the interaction's agent, or the consulted agent; nobody else."""
    leg = leg_rules.consult_leg(ix)
    if agent != ix.agent and (leg is None or leg.agent != agent):
        raise Forbidden("only the agents on the call can do this")


async def _party(request: web.Request, rule: str) -> tuple[Services, str, str, str]:
    """The calling agent, a party to the interaction in the path (SEC-1):
    the services, the tenant, the agent and the interaction's ID."""
    s, p = request.app[SERVICES], principal(request)
    agent = _agent(p, rule)
    ix_id = request.match_info["ix_id"]
    _require_party(await s.cc.interaction(p.tenant, ix_id), agent)
    return s, p.tenant, agent, ix_id


async def targets(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    kind = request.query.get("kind")
    if kind not in KINDS:
        raise InvalidInput("kind is one of " + ", ".join(KINDS), rule="TR-1", field="kind")
    unknown = set(request.query) - {"kind", "search", "interaction", "purpose"}
    if unknown:
        raise InvalidInput(
            "unknown query parameter", rule="TR-1", field=sorted(unknown)[0][:MAX_SEARCH]
        )
    purpose = request.query.get("purpose", "transfer")
    if purpose not in PURPOSES:
        raise InvalidInput("purpose is transfer or consult", rule="TR-1", field="purpose")
    ix_id = request.query.get("interaction")
    if ix_id is not None:
        ix = await s.cc.interaction(p.tenant, ix_id)
        if p.role is Role.AGENT:
            _require_party(ix, p.agent or "")
    viewer = p.agent if p.role is Role.AGENT else None
    result = await s.cc.transfers.targets(
        p.tenant,
        viewer,
        TargetKind(kind),
        request.query.get("search", ""),
        ix_id,
        consult=purpose == "consult",
    )
    return web.json_response(result)


async def transfer(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent = _agent(p, "TR-6")
    req = await body(request, TargetRequest)
    ix = await s.cc.transfers.blind(
        p.tenant,
        agent,
        request.match_info["ix_id"],
        TargetKind(req.kind),
        req.target,
        check=lambda ix: _require_party(ix, agent),  # in the action's own read
    )
    answer = ix.public()
    if req.kind in NUMBER_KINDS:  # DN-1: the number as the rules cleaned it
        answer["dialled"] = next((leg.number for leg in reversed(ix.legs) if leg.number), None)
    return web.json_response(answer)


async def start_consult(request: web.Request) -> web.Response:
    s, tenant, agent, ix_id = await _party(request, "CO-1")
    req = await body(request, TargetRequest)
    ix = await s.cc.consults.start(tenant, agent, ix_id, TargetKind(req.kind), req.target)
    view = await s.cc.consults.view(tenant, agent, ix.id)
    if req.kind in NUMBER_KINDS:  # DN-1: the number as the rules cleaned it
        leg = leg_rules.consult_leg(ix)
        view["dialled"] = leg.number if leg is not None else None
    return web.json_response(view)


async def get_consult(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    if p.role is Role.AGENT:
        _require_party(ix, p.agent or "")
    viewer = p.agent if p.role is Role.AGENT else None
    return web.json_response(await s.cc.consults.view(p.tenant, viewer, ix.id))


Action = Callable[[ConsultService, str, str, str], Awaitable[Interaction]]


def _consult_action(action: Action, rule: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        s, tenant, agent, ix_id = await _party(request, rule)
        ix = await action(s.cc.consults, tenant, agent, ix_id)
        return web.json_response(s.cc.consults.describe(ix, leg_rules.consult_leg(ix), agent))

    return handle


# OpenAPI --------------------------------------------------------------------------

LEG = {
    "type": "object",
    "properties": {
        "channel": {"type": "string"},
        "role": {"enum": ["consult", "transfer", "party"]},
        "state": {
            "enum": ["queued", "ringing", "consulting", "consult_held", "conference", "connected"]
        },
        "target": {"enum": ["agent", "queue", "dial_number"]},
        "agent": {"type": ["string", "null"]},
        "number": {"type": ["string", "null"]},
        "queue": {"type": ["string", "null"]},
        "by": {"type": ["string", "null"], "description": "who started it"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "connected_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

_DIALLED = {
    "type": ["string", "null"],
    "description": "when the target was a number (dial_number, address_book): the number "
    "dialled, as the dial-number rules cleaned it (DN-1)",
}

CONSULT_VIEW = {
    "type": "object",
    "properties": {
        "interaction_id": {"type": "string"},
        "status": {"type": "string"},
        "agent": {"type": ["string", "null"], "description": "the interaction's agent"},
        "role": {"enum": ["consulting_agent", "consulted_agent", None]},
        "customer": {
            "type": "object",
            "properties": {
                "ani": {"type": "string"},
                "state": {"enum": ["held", "connected", "conference"]},
            },
        },
        "consult": {"oneOf": [docs.ref("Leg"), {"type": "null"}]},
        "dialled": _DIALLED,
    },
}


_VIEW = docs.content(docs.ref("ConsultView"), "the interaction's customer and consult legs")
_TRANSFERRED = docs.content(
    {
        "allOf": [
            docs.ref("Interaction"),
            {"type": "object", "properties": {"dialled": _DIALLED}},
        ]
    },
    "the interaction",
)
_I = ["ix_id"]
_TARGETS = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "transfer_kinds": {"type": "array", "items": {"type": "string"}},
        "consult_kinds": {"type": "array", "items": {"type": "string"}},
        "targets": {"type": "array", "items": {"type": "object"}},
    },
}


def _consult_route(
    method: str, path: str, action: Action, rule: str, summary: str, *codes: int
) -> Route:
    return Route(
        method, path, _consult_action(action, rule), docs.op(summary, _VIEW, *codes, params=_I)
    )


FEATURE = Feature(
    name="transfers",
    schemas={**docs.model_schemas(TargetRequest), "Leg": LEG, "ConsultView": CONSULT_VIEW},
    routes=(
        Route(
            "GET",
            "/v1/targets",
            targets,
            {
                "summary": "transfer and consult targets of one kind, filtered by search text "
                "(TR-1)",
                "parameters": [
                    {"name": "kind", "in": "query", "required": True, "schema": {"enum": KINDS}},
                    {
                        "name": "search",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": MAX_SEARCH},
                    },
                    {
                        "name": "interaction",
                        "in": "query",
                        "description": "only the kinds this call may go to: a blind transfer's "
                        "(TR-7) or, with `purpose=consult`, a consult's (CO-1)",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "purpose",
                        "in": "query",
                        "description": "what the list is for (default `transfer`)",
                        "schema": {"enum": list(PURPOSES)},
                    },
                ],
                "responses": {
                    "200": docs.content(_TARGETS, "targets (agents with `state`)"),
                    **docs.errors(400, 401, 403, 404),
                },
            },
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/transfer",
            transfer,
            docs.op(
                "blind transfer to an agent, queue, entry point or number (TR-2..TR-7); the "
                "agent is in wrap-up at once (TR-6)",
                _TRANSFERRED,
                400,
                401,
                403,
                404,
                409,
                503,
                body="TargetRequest",
                params=_I,
            ),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/consult",
            start_consult,
            docs.op(
                "consult an agent, a queue or a number; the customer is held (CO-1, HOLD-3)",
                _VIEW,
                400,
                401,
                403,
                404,
                409,
                503,
                body="TargetRequest",
                params=_I,
            ),
        ),
        Route(
            "GET",
            "/v1/interactions/{ix_id}/consult",
            get_consult,
            docs.op("the consult as a party sees it (CO-3)", _VIEW, 401, 403, 404, params=_I),
        ),
        _consult_route(
            "DELETE",
            "/v1/interactions/{ix_id}/consult",
            ConsultService.end,
            "CO-4",
            "cancel a consult that waits or rings (CO-1: back with the customer), end an "
            "answered one (CO-4: the customer and the consulted party are removed, the "
            "consulting agent wraps up), or leave it (the consulted agent, CO-5)",
            401,
            403,
            404,
            409,
        ),
        _consult_route(
            "POST",
            "/v1/interactions/{ix_id}/consult/hold",
            ConsultService.hold_consulted,
            "CO-3",
            "hold the consulted party and go back to the customer (CO-3)",
            401,
            403,
            404,
            409,
            503,
        ),
        _consult_route(
            "POST",
            "/v1/interactions/{ix_id}/consult/resume",
            ConsultService.resume_consulted,
            "CO-3",
            "go back to the consulted party; the customer is held (CO-3)",
            401,
            403,
            404,
            409,
            503,
        ),
        _consult_route(
            "POST",
            "/v1/interactions/{ix_id}/consult/transfer",
            ConsultService.transfer,
            "CO-4",
            "transfer the call to the consulted party (CO-4, CF-4); the agent is in wrap-up",
            401,
            403,
            404,
            409,
            503,
        ),
        _consult_route(
            "POST",
            "/v1/interactions/{ix_id}/conference",
            ConsultService.conference,
            "CF-1",
            "start a conference from the consult: all three hear each other (CF-1)",
            401,
            403,
            404,
            409,
            503,
        ),
        _consult_route(
            "DELETE",
            "/v1/interactions/{ix_id}/conference",
            ConsultService.end_conference,
            "CF-6",
            "end the conference for everyone (the consulting agent, CF-6) or leave it (the "
            "consulted agent, CF-5)",
            401,
            403,
            404,
            409,
        ),
    ),
)
