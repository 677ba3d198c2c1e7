"""The OpenAPI 3.1 document served at /openapi.json, built from the
features' route tables (api/features.py): each route's operation is
declared next to the route itself."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from aiohttp import web

from controlplane import __version__
from controlplane.api import docs
from controlplane.api.common import Feature, Route, document_path
from controlplane.api.features import FEATURES


async def serve(request: web.Request) -> web.Response:
    return web.json_response(build_openapi())


FEATURE = Feature(
    name="openapi",
    routes=(
        Route(
            "GET",
            "/openapi.json",
            serve,
            {
                "summary": "this document",
                "security": [],
                "responses": {
                    "200": docs.content({"type": "object"}, "OpenAPI 3.1"),
                },
            },
        ),
    ),
)


def _operation(route: Route) -> dict[str, Any]:
    assert route.operation is not None
    operation = dict(route.operation)
    responses = dict(operation["responses"])
    if route.path.startswith("/v1/"):  # the middlewares' answers
        responses.setdefault("401", docs.errors(401)["401"])  # authentication
        responses.setdefault("503", docs.errors(503)["503"])  # the state store is away
    operation["responses"] = responses
    return operation


def build_document(features: Sequence[Feature]) -> dict[str, Any]:
    schemas: dict[str, Any] = dict(docs.COMMON_SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    for feature in features:
        schemas.update(feature.schemas)
        for route in feature.routes:
            if route.operation is None:
                continue
            path = paths.setdefault(document_path(route.path), {})
            method = route.method.lower()
            if method in path:
                raise ValueError(f"{route.method} {route.path} is declared twice")
            path[method] = _operation(route)
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


@cache
def build_openapi() -> dict[str, Any]:
    """The document of the service's API (every feature and this route)."""
    return build_document((*FEATURES, FEATURE))
