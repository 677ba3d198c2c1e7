"""API of callbacks (CB-1).

- ``POST /v1/callbacks``: the flow (an admin token) registers a callback
  request: the customer's number, the queue, optionally the entry point it
  stands for (its flow's variables and DNIS), a label, the DNIS and the
  flow's variables. Answers 201 with the callback's interaction, queued.
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


class CallbackRequest(Body):
    # number, dnis and label are checked by the callback rules, so that a
    # refusal names its rule (CB-1); here only their size is bounded.
    number: str = Field(
        max_length=32, description="the customer's number: digits, optional leading '+', 3..15"
    )
    queue: str = Field(max_length=63, description="the queue the callback waits in")
    entry_point: str | None = Field(
        default=None,
        max_length=63,
        description="the entry point it stands for (default: the first that feeds the queue)",
    )
    label: str | None = Field(
        default=None, max_length=256, description="shown as 'Callback: <label>'"
    )
    dnis: str | None = Field(
        default=None,
        max_length=32,
        description="the number the customer called (default: the entry point's)",
    )
    variables: dict[VariableName, Value] = Field(
        default_factory=dict, max_length=64, description="the flow's variables (CAD)"
    )


async def request_callback(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    if p.role is not Role.ADMIN:
        raise Forbidden("only the flow (an admin token) registers callbacks", rule="CB-1")
    req = await body(request, CallbackRequest)
    ix = await s.cc.callbacks.request(
        p.tenant,
        number=req.number,
        queue=req.queue,
        entry_point=req.entry_point,
        label=req.label,
        dnis=req.dnis,
        variables=dict(req.variables),
    )
    return web.json_response(ix.public(), status=201)


# OpenAPI --------------------------------------------------------------------------


FEATURE = Feature(
    name="callbacks",
    schemas=docs.model_schemas(CallbackRequest),
    routes=(
        Route(
            "POST",
            "/v1/callbacks",
            request_callback,
            {
                "summary": (
                    "the flow (admin token) registers a callback (CB-1); it waits in its queue "
                    "like a call, scored by the time of the request (CB-2)"
                ),
                "requestBody": docs.json_body("CallbackRequest"),
                "responses": {
                    "201": docs.content(
                        docs.ref("Interaction"), "the callback's interaction (kind callback)"
                    ),
                    **docs.errors(400, 401, 403, 404, 409),
                },
            },
        ),
    ),
)
