"""The API's routes as the running service has them, read from the
application's router (so that tests cover endpoints as they are added)."""

from __future__ import annotations

from pathlib import Path

from controlplane.app import build
from controlplane.config import load_config

# Served without a token: operations, signing in to the desktop (DSK-1) and
# the desktop's page and assets.
PUBLIC = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),
        ("POST", "/v1/session"),
        ("GET", "/"),
        ("GET", "/{path}"),
        ("GET", "/assets/{name}"),
    }
)


def api_routes(config_file: Path) -> list[tuple[str, str]]:
    """Every (method, route template) of the application built from this
    configuration (built, not started: nothing connects)."""
    app = build(load_config(config_file))
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method not in ("HEAD", "*")
    }
    return sorted(routes)


def params(template: str) -> list[str]:
    """The path parameters of a route template, in order."""
    out: list[str] = []
    rest = template
    while "{" in rest:
        start, end = rest.index("{"), rest.index("}")
        out.append(rest[start + 1 : end].split(":")[0])
        rest = rest[end + 1 :]
    return out


def concrete(template: str, values: dict[str, str], default: str) -> str:
    """The template with each parameter replaced (unknown ones by `default`)."""
    path = template
    for name in params(template):
        start, end = path.index("{"), path.index("}")
        path = path[:start] + values.get(name, default) + path[end + 1 :]
    return path
