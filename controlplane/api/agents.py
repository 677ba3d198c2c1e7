"""API of agents and their interactions: state (ST), log-in, ending a call
(END-1) and wrap-up (END-2)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from controlplane.adapters.store import AgentRecord
from controlplane.api import docs
from controlplane.api.auth import Forbidden
from controlplane.api.common import SERVICES, Feature, Route, body, principal
from controlplane.api.schemas import LoginRequest, StateRequest, WrapUpRequest
from controlplane.config import Role
from controlplane.domain.agent import AgentState
from controlplane.domain.consult import Action as ConsultAction
from controlplane.domain.interaction import Interaction


async def get_agent(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    record = await s.cc.agent(p.tenant, agent_id)
    return web.json_response(record.public())


async def list_agents(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    tenant = s.cc.tenant(p.tenant)
    ids = sorted(tenant.agents) if p.role.value != "agent" else [p.agent or ""]
    records = [await s.cc.agent(p.tenant, a) for a in ids]
    return web.json_response({"agents": [r.public() for r in records]})


async def login(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    req = await body(request, LoginRequest)
    record = await s.cc.login(p.tenant, agent_id, req.extension)
    return web.json_response(record.public())


async def put_state(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    req = await body(request, StateRequest)
    record = await s.cc.change_state(p.tenant, agent_id, AgentState(req.state), req.reason)
    return web.json_response(record.public())


async def get_interaction(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    if ix.agent is not None:
        p.require_agent_access(ix.agent)
    elif p.role.value == "agent":
        p.require_agent_access("")
    return web.json_response(ix.public())


async def end_interaction(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix_id = request.match_info["ix_id"]
    ix = await s.cc.interaction(p.tenant, ix_id)
    s.cc.consults.refuse_consulted(ix, p.agent, ConsultAction.END_CALL)  # CO-5
    p.require_self(ix.agent or "")
    ix = await s.cc.end(p.tenant, ix.agent or "", ix_id)
    return web.json_response(ix.public())


async def wrap_up(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix_id = request.match_info["ix_id"]
    if p.role is not Role.AGENT or p.agent is None:
        raise Forbidden("only the agent themself may do this")
    agent = p.agent
    req = await body(request, WrapUpRequest)

    def check(ix: Interaction, mine: AgentRecord) -> None:  # in the job's own reads
        # TR-6: an agent wraps up their own part of a call, also one that goes
        # on with another agent after a transfer
        if agent != ix.agent and mine.interaction != ix.id:
            p.require_self(ix.agent or "")
        s.cc.consults.refuse_consulted(ix, agent, ConsultAction.WRAP_UP)  # CO-5

    record = await s.cc.wrap_up(p.tenant, agent, ix_id, req.reason, check=check)
    return web.json_response(record.public())


_AGENT = docs.content(docs.ref("Agent"), "the agent")
_IX = docs.content(docs.ref("Interaction"), "the interaction")
_AGENTS: dict[str, Any] = {
    "type": "object",
    "properties": {"agents": {"type": "array", "items": docs.ref("Agent")}},
    "required": ["agents"],
}
_A, _I = ["agent_id"], ["ix_id"]

FEATURE = Feature(
    name="agents",
    schemas=docs.model_schemas(LoginRequest, StateRequest, WrapUpRequest),
    routes=(
        Route(
            "GET",
            "/v1/agents",
            list_agents,
            docs.op(
                "agents of the caller's tenant (an agent sees only themself)",
                docs.content(_AGENTS, "agents"),
                401,
            ),
        ),
        Route(
            "GET",
            "/v1/agents/{agent_id}",
            get_agent,
            docs.op("an agent's state", _AGENT, 401, 403, 404, params=_A),
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/login",
            login,
            docs.op(
                "log in with the phone's extension (-> idle)",
                _AGENT,
                400,
                401,
                403,
                404,
                409,
                body="LoginRequest",
                params=_A,
            ),
        ),
        Route(
            "PUT",
            "/v1/agents/{agent_id}/state",
            put_state,
            docs.op(
                "change to available, idle (with a reason) or logged_out",
                _AGENT,
                400,
                401,
                403,
                404,
                409,
                body="StateRequest",
                params=_A,
            ),
        ),
        Route(
            "GET",
            "/v1/interactions/{ix_id}",
            get_interaction,
            docs.op("an interaction", _IX, 401, 403, 404, params=_I),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/end",
            end_interaction,
            docs.op(
                "end the call (END-1; refused while held)", _IX, 401, 403, 404, 409, 502, params=_I
            ),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/wrap-up",
            wrap_up,
            docs.op(
                "apply a wrap-up reason (END-2)",
                _AGENT,
                400,
                401,
                403,
                404,
                409,
                body="WrapUpRequest",
                params=_I,
            ),
        ),
    ),
)
