"""API of hold and resume (HOLD-1, HOLD-2) and of the privacy shield (REC-2).

Only the agent connected to the interaction may act; each action answers
with the interaction as it is afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from controlplane.api import docs
from controlplane.api.common import SERVICES, Feature, Route, principal
from controlplane.domain.consult import Action as ConsultAction
from controlplane.domain.interaction import Interaction
from controlplane.features.media.service import Check, MediaService


class Action(Protocol):
    def __call__(
        self, media: MediaService, tenant: str, agent: str, ix_id: str, /, *, check: Check | None
    ) -> Awaitable[Interaction]: ...


def _handler(
    action: Action, consult: ConsultAction | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        s, p = request.app[SERVICES], principal(request)
        ix_id = request.match_info["ix_id"]

        def check(ix: Interaction) -> None:  # in the action's own read of the interaction
            if consult is not None:  # CO-5: the consulted agent holds nothing
                s.cc.consults.refuse_consulted(ix, p.agent, consult)
            p.require_self(ix.agent or "")

        ix = await action(s.cc.media, p.tenant, p.agent or "", ix_id, check=check)
        return web.json_response(ix.public())

    return handle


_IX = docs.content(docs.ref("Interaction"), "the interaction")
_CODES = (401, 403, 404, 409, 503)
_I = ["ix_id"]

FEATURE = Feature(
    name="media",
    routes=(
        Route(
            "POST",
            "/v1/interactions/{ix_id}/hold",
            _handler(MediaService.hold, ConsultAction.HOLD_CUSTOMER),
            docs.op("put the customer on music on hold (HOLD-1)", _IX, *_CODES, params=_I),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/resume",
            _handler(MediaService.resume, ConsultAction.RESUME_CUSTOMER),
            docs.op("take the customer off hold (HOLD-2)", _IX, *_CODES, params=_I),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/recording/pause",
            _handler(MediaService.pause_recording),
            docs.op(
                "privacy shield: pause the recording for the tenant's privacy_shield_seconds "
                "(REC-2)",
                _IX,
                *_CODES,
                params=_I,
            ),
        ),
        Route(
            "POST",
            "/v1/interactions/{ix_id}/recording/resume",
            _handler(MediaService.resume_recording),
            docs.op(
                "resume a paused recording before the shield ends (REC-2)", _IX, *_CODES, params=_I
            ),
        ),
    ),
)
