"""REST + WebSocket API for agent desktops and supervisors: the application,
its middlewares, and the features' route tables (api/features.py)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.http_exceptions import HttpProcessingError

from controlplane import metrics
from controlplane.adapters.ari import AriError
from controlplane.adapters.store import StoreError
from controlplane.api import openapi, ops
from controlplane.api.auth import SESSIONS, authenticate_request, needs_auth
from controlplane.api.common import (
    PRINCIPAL,
    SERVICES,
    SOCKETS,
    Handler,
    Services,
    add_feature,
    error_response,
)
from controlplane.api.features import FEATURES
from controlplane.api.hub import EventHub
from controlplane.domain.errors import RuleViolation
from controlplane.sessions import Sessions

__all__ = ["EventHub", "Services", "build_app"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """The HTTP server's log. A request the HTTP parser refuses (a NUL or
    another control character in a header, a malformed request line) is
    answered 400 by aiohttp; it is the client's mistake, logged as one line
    without the traceback (and without the refused bytes)."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError) and exc.code == 400:
            self.warning("refused a malformed HTTP request (%s)", type(exc).__name__)
            return
        super().exception(msg, *args, **kwargs)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RuleViolation as exc:
        return error_response(exc.status, exc.error_id, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status >= 400:
            # RFC 9110: a 405 names the allowed methods (aiohttp's exception carries them)
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return error_response(exc.status, "http-error", exc.reason, {}, headers=allow)
        raise
    except StoreError as exc:
        log.warning("Redis is unavailable: %s", exc)
        return error_response(
            503, "unavailable", "the control plane's state store is unavailable; try again", {}
        )
    except AriError as exc:
        log.warning("Asterisk refused an action: %s", exc)
        return error_response(502, "asterisk-error", "Asterisk could not carry out the action", {})
    except Exception:
        error = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", error, request.method, request.path)
        return error_response(500, "internal-error", "internal error", {"reference": error})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if needs_auth(request.method, request.path):
        request[PRINCIPAL] = await authenticate_request(
            request, request.app[SERVICES].config, request.app[SESSIONS]
        )
    return await handler(request)


async def _close_sockets(app: web.Application) -> None:
    """On shutdown, close the event WebSockets so that clients reconnect to
    another replica at once and the process stops without waiting on them."""
    open_sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(open_sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def build_app(services: Services) -> web.Application:
    # metrics outermost (it times every request and sees its final status);
    # audit innermost (it knows the principal and sees a refusal's rule)
    app = web.Application(
        middlewares=[
            metrics.metrics_middleware,
            errors_middleware,
            auth_middleware,
            ops.audit_middleware,
        ],
        client_max_size=MAX_BODY,
        handler_args={"logger": ServerLog(logging.getLogger("aiohttp.server"))},
    )
    app[SERVICES] = services
    app[SESSIONS] = Sessions(services.config, services.store, services.cc)  # DSK-1
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app.on_shutdown.append(_close_sockets)
    add_feature(app, openapi.FEATURE)
    for feature in FEATURES:
        add_feature(app, feature)
    return app
