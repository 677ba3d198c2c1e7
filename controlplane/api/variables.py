"""API of call-associated data (CAD-1..CAD-7).

- ``GET /v1/interactions/{id}/variables``: the shown variables with their last
  saved values and versions (the desktop's "restore"). The agent on the
  interaction sees every value; supervisors and admins see secure ones masked;
  other agents are refused.
- ``PATCH /v1/interactions/{id}/variables``: the connected agent saves values,
  each based on the version it read; all or nothing; the first save wins.
- ``PUT /v1/interactions/{id}/flow-variables``: the flow (admin token) sets
  variables while the call is in progress.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, StringConstraints

from controlplane.api import docs
from controlplane.api.auth import Forbidden
from controlplane.api.common import SERVICES, Feature, Route, body, principal
from controlplane.api.schemas import Body
from controlplane.config import Role

VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
Value = StrictStr | StrictBool | StrictInt | StrictFloat | None


class VariableEdit(Body):
    value: Value = Field(
        description=(
            "the new value: a string, or a JSON boolean/number for those types; "
            "null (or an empty string for a non-string type) clears it"
        )
    )
    version: int = Field(ge=0, le=2**53, description="the version the edit is based on")


class SaveVariablesRequest(Body):
    variables: dict[VariableName, VariableEdit] = Field(min_length=1, max_length=64)


class FlowVariablesRequest(Body):
    variables: dict[VariableName, Value] = Field(min_length=1, max_length=64)


async def get_variables(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    viewer = p.agent if p.role is Role.AGENT else None
    return web.json_response(await s.cc.variables.read(ix, viewer=viewer))


async def save_variables(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    if p.role is not Role.AGENT or p.agent is None:
        raise Forbidden(
            "only the agent connected to the interaction may edit its variables", rule="CAD-3"
        )
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    s.cc.variables.check_editor(ix, p.agent)
    req = await body(request, SaveVariablesRequest)
    edits = {name: (edit.value, edit.version) for name, edit in req.variables.items()}
    return web.json_response(await s.cc.variables.save(ix, p.agent, edits))


async def set_flow_variables(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    if p.role is not Role.ADMIN:
        raise Forbidden("only the flow (an admin token) sets flow variables", rule="CAD-7")
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    req = await body(request, FlowVariablesRequest)
    return web.json_response(await s.cc.variables.set_by_flow(ix, dict(req.variables)))


# OpenAPI --------------------------------------------------------------------------

VARIABLE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "type": {"enum": ["string", "integer", "decimal", "boolean", "datetime"]},
        "editable": {"type": "boolean"},
        "secure": {"type": "boolean"},
        "value": {
            "type": ["string", "null"],
            "description": (
                "normalised value; null = no value, or masked (a secure value shown to "
                "somebody who is not a party of the interaction)"
            ),
        },
        "masked": {"type": "boolean"},
        "version": {"type": "integer", "description": "0 at the start; each save adds 1"},
        "source": {"enum": ["agent", "flow", None], "description": "who saved it last"},
        "updated_by": {"type": ["string", "null"], "description": "the agent who saved it"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
    "required": ["name", "label", "type", "editable", "secure", "value", "version"],
}

VARIABLES = {
    "type": "object",
    "properties": {
        "interaction_id": {"type": "string"},
        "status": {"type": "string"},
        "can_edit": {"type": "boolean", "description": "the caller may save now (CAD-3)"},
        "variables": {"type": "array", "items": docs.ref("Variable"), "maxItems": 30},
    },
    "required": ["interaction_id", "status", "can_edit", "variables"],
}

FLOW_SAVED = {
    "type": "object",
    "properties": {
        "interaction_id": {"type": "string"},
        "versions": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


_SHOWN = docs.content(
    docs.ref("Variables"), "the shown variables (at most 30, in configured order)"
)
_I = ["ix_id"]

FEATURE = Feature(
    name="variables",
    schemas={
        "Variable": VARIABLE,
        "Variables": VARIABLES,
        **docs.model_schemas(SaveVariablesRequest, FlowVariablesRequest),
    },
    routes=(
        Route(
            "GET",
            "/v1/interactions/{ix_id}/variables",
            get_variables,
            docs.op(
                "the last saved values with their versions (CAD-2, CAD-5); secure values "
                "masked for anybody but the interaction's agent (CAD-6)",
                _SHOWN,
                401,
                403,
                404,
                params=_I,
            ),
        ),
        Route(
            "PATCH",
            "/v1/interactions/{ix_id}/variables",
            save_variables,
            docs.op(
                "the connected agent saves values, each based on the version read (CAD-3, "
                "CAD-4). All or nothing. 409 `variable-conflict` names the variable, its "
                "current value and version (details.variable, current_value, current_version, "
                "conflicts); the interaction's agents get interaction.variables_updated",
                _SHOWN,
                400,
                401,
                403,
                404,
                409,
                body="SaveVariablesRequest",
                params=_I,
            ),
        ),
        Route(
            "PUT",
            "/v1/interactions/{ix_id}/flow-variables",
            set_flow_variables,
            docs.op(
                "the flow (admin token) sets variables while the call is in progress (CAD-7); "
                "the agent on it gets interaction.variables_updated",
                docs.content(FLOW_SAVED, "the new versions"),
                400,
                401,
                403,
                404,
                409,
                body="FlowVariablesRequest",
                params=_I,
            ),
        ),
    ),
)
