"""The agent desktop's built web app (``controlplane/webui``, from ``web/``).

- ``GET /`` and any other top-level path that is not the API's (``/v1``,
  ``/health``, ``/metrics``, ``/openapi.json``): a file of the build's top
  level (favicon...), else ``index.html`` (the app's own paths, such as
  ``/supervisor``). Deeper unknown paths are 404.
- ``GET /assets/<file>``: the build's hashed assets, cached for a year.

Public: the page holds no data; the API behind it needs the session. When
the app is not built, a plain 503 page says so. The HTML carries a strict
Content-Security-Policy (no inline scripts, nothing from elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from controlplane.api.common import Feature, Route, add_feature

WEBUI = Path(__file__).resolve().parent.parent / "webui"
INDEX = "index.html"
ASSETS_CACHE = "public, max-age=31536000, immutable"
NOT_BUILT = (
    "The agent desktop is not built. Build it with ./scripts/bootstrap "
    "(or: cd web && npm ci && npm run build).\n"
)
# Paths the app never answers: the API's.
_NOT_APP = r"(?!(?:v1|health|metrics|openapi\.json|assets)$)"


def csp(host: str) -> str:
    """Only this origin: scripts and styles from files (no inline script),
    the API and its WebSocket, media from the page itself (blob: for the
    browser phone's streams)."""
    sockets = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(host: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp(host),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def _inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under root, if it is one (no way out of root)."""
    if not relative or "\x00" in relative:
        return None
    try:
        path = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    if any(part.startswith(".") for part in path.relative_to(root.resolve()).parts):
        return None
    return path


async def page(request: web.Request) -> web.StreamResponse:
    root = request.app[WEBUI_DIR]
    headers = security_headers(request.host)
    index = root / INDEX
    if not index.is_file():
        return web.Response(status=503, text=NOT_BUILT, content_type="text/plain", headers=headers)
    top = request.match_info.get("path", "")
    found = _inside(root, top) if top else None
    if found is not None and found.name != INDEX:
        return web.FileResponse(found, headers={**headers, "Cache-Control": "no-cache"})
    return web.FileResponse(index, headers={**headers, "Cache-Control": "no-cache"})


async def asset(request: web.Request) -> web.StreamResponse:
    found = _inside(request.app[WEBUI_DIR] / "assets", request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        found, headers={"Cache-Control": ASSETS_CACHE, "X-Content-Type-Options": "nosniff"}
    )


WEBUI_DIR = web.AppKey("webui_dir", Path)


ROUTES = (
    Route(
        "GET",
        "/assets/{name:.+}",
        asset,
        {
            "summary": "the desktop's built assets (cached for a year)",
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "the asset"},
                "404": {"description": "no such asset"},
            },
        },
    ),
    Route(
        "GET",
        "/",
        page,
        {
            "summary": "the agent desktop (index.html; also for the app's own paths)",
            "security": [],
            "responses": {
                "200": {"description": "text/html", "content": {"text/html": {}}},
                "503": {"description": "the desktop is not built", "content": {"text/plain": {}}},
            },
        },
    ),
    Route("GET", "/{path:" + _NOT_APP + "[^/]+}", page, None),  # the app's own paths
)


def add_routes(app: web.Application, root: Path = WEBUI) -> None:
    """Add last: the app's path pattern takes what no other route took."""
    add_feature(app, Feature(name="webui", routes=ROUTES, setup=lambda a: _set_root(a, root)))


def _set_root(app: web.Application, root: Path) -> None:
    app[WEBUI_DIR] = root


FEATURE = Feature(name="webui", routes=ROUTES, setup=lambda app: _set_root(app, WEBUI))
