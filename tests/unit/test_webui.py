"""The desktop's page and assets as the service serves them (aiohttp's test
server on a build directory made here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from controlplane.api import webui

INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b.js"></script>'


async def client_for(root: Path) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    webui.add_routes(app, root)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def build(root: Path) -> None:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1a2b.js").write_text("console.log(1)")
    (root / "favicon.svg").write_text("<svg/>")


@pytest.mark.spec("SEC-1")
async def test_the_page_and_the_apps_paths_get_index_html_with_security_headers(
    tmp_path: Path,
) -> None:
    root = tmp_path / "webui"
    build(root)
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    client = await client_for(root)
    try:
        for path in ("/", "/desktop", "/supervisor?x=1"):
            resp = await client.get(path)
            assert resp.status == 200, path
            assert await resp.text() == INDEX
            assert resp.headers["Cache-Control"] == "no-cache"
            policy = resp.headers["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "media-src 'self' blob:" in policy
            assert f"ws://{resp.url.host}:{resp.url.port}" in policy
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        resp = await client.get("/favicon.svg")
        assert resp.status == 200 and await resp.text() == "<svg/>"
        resp = await client.get("/assets/app-1a2b.js")
        assert resp.status == 200 and await resp.text() == "console.log(1)"
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # never the page for the API's paths, deeper paths or missing assets
        for path in ("/v1", "/health", "/metrics", "/openapi.json", "/a/b", "/assets/x.js"):
            resp = await client.get(path)
            assert resp.status == 404, path
        # nothing outside the build, however the path is spelt
        for path in (
            "/assets/../../secret.txt",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "/..%2fsecret.txt",
            "/%2e%2e/secret.txt",
        ):
            resp = await client.get(path, allow_redirects=False)
            assert "TOPSECRET" not in await resp.text(), path
    finally:
        await client.close()


@pytest.mark.spec("SEC-1")
async def test_an_unbuilt_desktop_answers_503_saying_so(tmp_path: Path) -> None:
    client = await client_for(tmp_path / "missing")
    try:
        resp = await client.get("/")
        assert resp.status == 503
        assert "not built" in await resp.text()
        assert resp.content_type == "text/plain"
        assert "Content-Security-Policy" in resp.headers
    finally:
        await client.close()


@pytest.mark.spec("DSK-1", "DSK-13")
def test_the_openapi_document_describes_the_session_routes_and_the_page() -> None:
    from controlplane.api.openapi import build_openapi  # noqa: PLC0415

    doc = build_openapi()
    paths = doc["paths"]
    assert set(paths["/v1/session"]) == {"post", "get", "delete"}
    assert paths["/v1/session"]["post"]["security"] == []  # signing in needs nothing
    assert set(paths["/v1/session"]["post"]["responses"]) >= {"200", "401", "429"}
    assert "409" in paths["/v1/session"]["delete"]["responses"]
    assert paths["/v1/me"]["get"]["responses"]["200"]
    assert paths["/"]["get"]["security"] == [] and paths["/assets/{name}"]["get"]
    schemas = doc["components"]["schemas"]
    assert {"SignInRequest", "Session", "Snapshot"} <= set(schemas)
    assert set(schemas["Snapshot"]["required"]) >= {"agent", "interaction", "server_time"}
    cookie = doc["components"]["securitySchemes"]["session"]
    assert cookie == {**cookie, "type": "apiKey", "in": "cookie", "name": "cp_session"}
