"""API of operations and security: health, metrics (OPS-2) and the audit trail.

- ``GET /health``: Redis, ARI and AMI connectivity; no token.
- ``GET /metrics``: Prometheus text format; no token (like ``/health``), so
  it is only as reachable as the service's listen address.
- ``GET /v1/audit?limit=``: the caller's tenant's audit records, newest
  first; supervisors and admins only.

The application also takes the audit middleware from here: innermost (it
runs after authentication, knows the principal and sees a refusal's rule
as it is raised); the metrics middleware (controlplane/metrics.py) is the
outermost (it times every request and sees its final status).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from controlplane import metrics
from controlplane.api import docs
from controlplane.api.auth import Forbidden, Principal
from controlplane.api.common import PRINCIPAL, SERVICES, Feature, Route, is_json, principal
from controlplane.audit import MAX_LIMIT, acting_as
from controlplane.config import Role
from controlplane.domain.errors import InvalidInput, RuleViolation

DEFAULT_LIMIT = 100
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_TARGET = 64  # characters kept of a path parameter in a record

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def actor(p: Principal) -> str:
    """How a record names the principal: `agent:<id>`, `supervisor:<token id>`."""
    if p.role is Role.AGENT:
        return f"agent:{p.agent}"
    return f"{p.role.value}:{p.token_id}"


async def _safe_body(request: web.Request) -> dict[str, Any] | None:
    if not request.body_exists or not is_json(request):
        return None
    try:
        data = json.loads(await request.read())
    except Exception:  # too large, not JSON, not UTF-8: nothing to keep
        return None
    return data if isinstance(data, dict) else None


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Records every authenticated API action (anything but reads)."""
    if request.method in _READS or PRINCIPAL not in request:
        return await handler(request)
    p = principal(request)
    status, error = 500, None
    try:
        with acting_as(actor(p)):
            response = await handler(request)
        status = response.status
        return response
    except RuleViolation as exc:
        status, error = exc.status, {"error_id": exc.error_id, "details": exc.details}
        raise
    except web.HTTPException as exc:
        status, error = exc.status, {"error_id": "http-error", "details": {}}
        raise
    except Exception:
        error = {"error_id": "internal-error", "details": {}}
        raise
    finally:
        audit = request.app[SERVICES].cc.notifier.audit
        await audit.api_action(
            p.tenant,
            actor(p),
            method=request.method,
            route=metrics.route_label(request),
            target={k: v[:_MAX_TARGET] for k, v in request.match_info.items()},
            status=status,
            error=error,
            body=await _safe_body(request),
        )


async def health(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(s.store.ping(), timeout=1)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    try:
        await asyncio.wait_for(s.ari.ping(), timeout=1)
        checks["ari"] = "ok"
    except Exception as exc:
        checks["ari"] = f"down: {type(exc).__name__}"
    checks["ami"] = "ok" if s.ami.logged_in else "down: not logged in"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503
    )


async def get_metrics(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    await metrics.refresh(s.config, s.store, s.ari, s.ami)
    data, content_type = metrics.exposition()
    return web.Response(body=data, headers={"Content-Type": content_type})


def _limit(request: web.Request) -> int:
    unknown = sorted(set(request.query) - {"limit"})
    if unknown:
        raise InvalidInput(
            f"unknown query parameter {unknown[0]!r}", rule="SEC-2", field=unknown[0][:64]
        )
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput(
            f"limit is a whole number from 1 to {MAX_LIMIT}", rule="SEC-2", field="limit"
        )
    return int(raw)


async def get_audit(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    if p.role is Role.AGENT:
        raise Forbidden("only supervisors and admins read the audit trail", rule="SEC-1")
    records = await s.cc.notifier.audit.read(p.tenant, _limit(request))
    return web.json_response({"records": records})


# OpenAPI --------------------------------------------------------------------------

HEALTH = {
    "type": "object",
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "checks": {
            "type": "object",
            "properties": {
                "redis": {"type": "string"},
                "ari": {"type": "string"},
                "ami": {"type": "string"},
            },
            "description": "`ok` or `down: <why>` for each",
        },
    },
    "required": ["status", "checks"],
}

AUDIT_RECORD = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "stream ID (ordered)"},
        "at": {"type": "string", "format": "date-time"},
        "actor": {
            "type": "string",
            "description": "agent:<id>, supervisor:<token id>, admin:<token id> or system",
        },
        "action": {
            "type": "string",
            "description": "'<METHOD> <route>' for API actions; agent.state; interaction.<event>",
        },
        "target": {"type": "object", "description": "IDs: agent_id, ix_id, agent, interaction"},
        "outcome": {"enum": ["ok", "refused", "error"]},
        "details": {
            "type": "object",
            "description": (
                "API actions: status, error_id, rule and harmless body fields (state, reason, "
                "extension, queue, entry_point; variable names, never values); agent.state: "
                "previous, state, reason, trigger, seq; interaction events: status, end_cause, ..."
            ),
        },
    },
    "required": ["id", "at", "actor", "action", "target", "outcome", "details"],
}


FEATURE = Feature(
    name="ops",
    schemas={"AuditRecord": AUDIT_RECORD},
    routes=(
        Route(
            "GET",
            "/health",
            health,
            {
                "summary": "AMI, ARI and Redis connectivity",
                "security": [],
                "responses": {
                    "200": docs.content(HEALTH, "all ok"),
                    "503": docs.content(HEALTH, "degraded"),
                },
            },
        ),
        Route(
            "GET",
            "/metrics",
            get_metrics,
            {
                "summary": "Prometheus metrics (text format); no token: served on the listen "
                "address",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            },
        ),
        Route(
            "GET",
            "/v1/audit",
            get_audit,
            {
                "summary": "the tenant's audit trail, newest first (supervisors and admins)",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    }
                ],
                "responses": {
                    "200": docs.content(
                        {
                            "type": "object",
                            "properties": {
                                "records": {"type": "array", "items": docs.ref("AuditRecord")}
                            },
                            "required": ["records"],
                        },
                        "audit records",
                    ),
                    **docs.errors(400, 401, 403),
                },
            },
        ),
    ),
)
