"""What every part of the API shares: the services, the request helpers,
the error body, and the route table through which a feature registers each
route together with its OpenAPI operation (one place per route).

A feature module (``api/media.py``, ``api/variables.py``, ...) imports this
module and ``api/docs.py`` and declares ``FEATURE``; ``api/features.py``
lists the features; ``api/http.py`` builds the application from that list
and ``api/openapi.py`` the document. No feature imports either of them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import hdrs, web
from pydantic import ValidationError

from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.api.auth import Principal
from controlplane.api.hub import EventHub
from controlplane.api.schemas import Body
from controlplane.config import Config
from controlplane.contact_center import ContactCenter
from controlplane.domain.errors import InvalidInput

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
B = TypeVar("B", bound=Body)


@dataclass(frozen=True)
class Services:
    config: Config
    cc: ContactCenter
    store: Store
    ari: AriClient
    ami: AmiClient
    hub: EventHub


SERVICES = web.AppKey("services", Services)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


# Route tables ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One route: the router serves it and the OpenAPI document describes it
    with `operation` (None: not part of the document, such as the desktop's
    catch-all page route)."""

    method: str
    path: str
    handler: Handler
    operation: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Feature:
    """A feature's part of the API: its routes, the component schemas their
    operations refer to, and what the application needs before serving them."""

    name: str
    routes: tuple[Route, ...]
    schemas: Mapping[str, Any] = field(default_factory=dict)
    setup: Callable[[web.Application], None] | None = None


_PATTERN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")


def document_path(path: str) -> str:
    """The OpenAPI template of an aiohttp path: ``{name:.+}`` -> ``{name}``."""
    return _PATTERN.sub(r"{\1}", path)


def add_feature(app: web.Application, feature: Feature) -> None:
    if feature.setup is not None:
        feature.setup(app)
    for route in feature.routes:
        if route.method == "GET":  # (with HEAD, as aiohttp's add_get)
            app.router.add_get(route.path, route.handler)
        else:
            app.router.add_route(route.method, route.path, route.handler)


# Request helpers ------------------------------------------------------------------


def error_response(
    status: int,
    error_id: str,
    message: str,
    details: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"status": status, "error_id": error_id, "message": message, "details": details}
    return web.json_response(body, status=status, headers=headers)


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def is_json(request: web.Request) -> bool:
    """Whether the request says its body is JSON: the media type of its
    Content-Type (before any parameter), case-insensitive. Read from the
    header itself: aiohttp's own parser raises on some parameters (e.g.
    `0*`: IndexError, then AssertionError on every later access)."""
    media_type = request.headers.get(hdrs.CONTENT_TYPE, "").split(";", 1)[0]
    return media_type.strip().lower() == "application/json"


async def body(request: web.Request, model: type[B]) -> B:
    if not is_json(request):
        raise InvalidInput("the body must be JSON (Content-Type: application/json)")
    raw = await request.read()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput("the request body is not valid", problems=problems) from None
