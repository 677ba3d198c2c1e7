"""The API's shape: one OpenAPI document built from the features' route
tables, valid and complete; no import cycle among the API's modules; the
error answers of the HTTP layer (405 with Allow); `doctor` names why Redis
failed; the demo's dial plan takes the three number forms."""

from __future__ import annotations

import ast
import asyncio
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from controlplane.api import openapi
from controlplane.api.common import document_path
from controlplane.api.features import FEATURES
from controlplane.api.http import errors_middleware
from controlplane.cli import check_redis
from controlplane.config import DialPlan
from controlplane.domain import dialnumber
from controlplane.domain.errors import InvalidInput

API = Path(openapi.__file__).resolve().parent
REPO = API.parent.parent


def test_the_document_is_valid_openapi_and_every_reference_resolves() -> None:
    validate(openapi.build_openapi())  # (it resolves every $ref)


def test_each_route_is_declared_once_with_its_operation() -> None:
    doc = openapi.build_openapi()
    declared = [
        (route.method.lower(), document_path(route.path))
        for feature in (*FEATURES, openapi.FEATURE)
        for route in feature.routes
        if route.operation is not None
    ]
    assert len(declared) == len(set(declared))
    documented = [(m, p) for p, ops in doc["paths"].items() for m in ops]
    assert sorted(documented) == sorted(declared)
    # only the desktop's catch-all page route is left out of the document
    hidden = [r.path for f in FEATURES for r in f.routes if r.operation is None]
    assert len(hidden) == 1 and hidden[0].startswith("/{path:")


def test_every_operation_documents_its_answers() -> None:
    for path, ops in openapi.build_openapi()["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert any(c.startswith(("1", "2")) for c in codes), (method, path)
            if path.startswith("/v1/"):
                assert {"401", "503"} <= codes, (method, path)  # the middlewares' answers
    events = openapi.build_openapi()["paths"]["/v1/events"]["get"]["responses"]
    assert {"101", "400", "401"} <= set(events)  # a plain GET is no upgrade: 400


def _api_imports(path: Path) -> tuple[set[str], list[str]]:
    """The API modules a module imports, and those it imports inside a function."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    deferred: list[str] = []
    module_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "controlplane.api":
                names = [a.name for a in node.names]
            elif node.module.startswith("controlplane.api."):
                names = [node.module.split(".")[2]]
        elif isinstance(node, ast.Import):
            names = [
                a.name.split(".")[2] for a in node.names if a.name.startswith("controlplane.api.")
            ]
        if names:
            found.update(names)
            if id(node) not in module_level:
                deferred.extend(names)
    return found, deferred


def test_the_api_modules_import_each_other_without_a_cycle_or_a_deferred_import() -> None:
    graph: dict[str, set[str]] = {}
    for path in sorted(API.glob("*.py")):
        imports, deferred = _api_imports(path)
        assert deferred == [], f"{path.name} imports {deferred} inside a function"
        graph[path.stem] = imports - {path.stem}
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, "import cycle: " + " -> ".join((*trail, module))
        if module in done:
            return
        for target in graph.get(module, set()):
            visit(target, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    # the features know neither the application nor the document
    for feature in ("agents", "media", "variables", "callbacks", "outbound", "campaigns"):
        assert not graph[feature] & {"http", "openapi", "features"}, feature
    for feature in ("transfers", "supervisor", "ops", "session", "phone", "events", "webui"):
        assert not graph[feature] & {"http", "openapi", "features"}, feature


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/v1/things", ok)
    app.router.add_put("/v1/things", ok)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_a_405_names_the_allowed_methods_in_an_allow_header(
    client: TestClient[web.Request, web.Application],
) -> None:
    resp = await client.post("/v1/things")
    assert resp.status == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == {"GET", "HEAD", "PUT"}
    body = await resp.json()
    assert body["status"] == 405 and body["error_id"] == "http-error"


async def test_doctor_names_why_redis_did_not_answer() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # takes the PING and never answers
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        name, ok, detail = await check_redis(f"redis://127.0.0.1:{port}/0", "dc1", timeout=0.3)
    finally:
        server.close()
    assert (name, ok) == ("Redis", False)
    assert detail == f"redis://127.0.0.1:{port}/0: no answer within 0.3 s"


async def test_doctor_names_why_redis_refused() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on the port any more
    _, ok, detail = await check_redis(f"redis://127.0.0.1:{port}/0", "dc1", timeout=2)
    assert not ok
    reason = detail.removeprefix(f"redis://127.0.0.1:{port}/0: ")
    assert reason and "Error" in reason.split(":")[0], detail


def _demo_plan() -> DialPlan:
    data: dict[str, Any] = tomllib.loads((REPO / "config" / "demo.toml").read_text())
    return DialPlan.model_validate(data["tenants"]["acme"]["profiles"]["standard"]["dial_plan"])


@pytest.mark.spec("DN-2", "DN-4")
@pytest.mark.parametrize(
    ("typed", "dialled"),
    [
        ("+1 (555) 100-0000", "+15551000000"),  # US
        ("+49 89 1234567", "+49891234567"),  # E.164
        ("011 61 1 2345 6789", "01161123456789"),  # IDD (the product text's example)
        ("0049 89 1234567", "0049891234567"),  # IDD with 00
    ],
)
def test_the_demo_dial_plan_takes_the_three_forms_of_the_product_text(
    typed: str, dialled: str
) -> None:
    number = dialnumber.validate(typed, extensions=[], entry_points=[], plan=_demo_plan())
    assert number.number == dialled


@pytest.mark.spec("DN-4")
def test_the_demo_dial_plan_still_refuses_premium_numbers() -> None:
    with pytest.raises(InvalidInput) as err:
        dialnumber.validate("+1 900 555 0100", extensions=[], entry_points=[], plan=_demo_plan())
    assert err.value.details["rule"] == "DN-4"
