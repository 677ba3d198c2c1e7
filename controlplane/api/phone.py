"""The browser phone's SIP WebSocket (PH-1, PH-4): ``GET /v1/phone/ws``.

The page's SIP stack (JsSIP) connects here, on the page's own origin, with
the session cookie and subprotocol ``sip``. The service creates the
session's SIP credentials in Asterisk (controlplane/browser_phone.py),
connects to Asterisk's SIP WebSocket (loopback, from the source address
that pjsip.conf lets speak only as browser endpoints) and relays the SIP
messages both ways (RFC 7118: one message per WebSocket message).

What the browser sends is checked first: a request outside a dialog must
come from the session's own browser endpoint (From, and To on a REGISTER);
a request within a dialog (To with a tag: BYE, re-INVITE, INFO...) must
belong to a call Asterisk offered over this connection (its Call-ID); the
user name of any Authorization must be the endpoint. So one agent's (or
supervisor's) session can neither register nor call as another endpoint,
nor as a hard phone. A supervisor's session speaks as the seat it took at
sign-in. A message that fails the check closes the connection (1008). When the session ends
(sign-out, replaced by a new sign-in, timed out) the connection closes, and
when the last connection of an endpoint closes its credentials are deleted
from Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Collection

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from controlplane import browser_phone
from controlplane.adapters.ari import AriError
from controlplane.adapters.session_store import StoredSession
from controlplane.api import docs
from controlplane.api.auth import SESSIONS, Forbidden, request_session
from controlplane.api.common import SERVICES, SOCKETS, Feature, Route, principal
from controlplane.config import Config
from controlplane.domain.errors import RuleViolation

log = logging.getLogger(__name__)

SESSION_CHECK_SECONDS = 2.0
"""How soon a connection notices that its session ended."""
MAX_MESSAGE = 64 * 1024
UPSTREAM_CLOSE_SECONDS = 1.0
"""How long closing Asterisk's side of a connection may wait for its answer."""

_HEADER_NAMES = {
    "f": "from",
    "t": "to",
    "i": "call-id",
    "from": "from",
    "to": "to",
    "call-id": "call-id",
    "authorization": "authorization",
    "proxy-authorization": "authorization",
}
MAX_DIALOGS = 64
"""Call-IDs of Asterisk's requests remembered per connection."""
_TAG = re.compile(r";\s*tag=", re.IGNORECASE)
_SIP_USER = re.compile(r"<?sips?:([^@;>:]+)@", re.IGNORECASE)
_AUTH_USER = re.compile(r'username="([^"]*)"', re.IGNORECASE)


class PolicyViolation(Exception):
    """A SIP message from the browser that its session may not send."""


def _headers(message: str) -> tuple[str, dict[str, list[str]]]:
    """(first line, the headers this module looks at) of a SIP message."""
    head, _, _ = message.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        key = _HEADER_NAMES.get(name.strip().lower())
        if sep and key:
            headers.setdefault(key, []).append(value.strip())
    return (lines[0] if lines else ""), headers


def call_id_of_request(message: str) -> str | None:
    """The Call-ID of a request (None for a response or a keep-alive)."""
    first, headers = _headers(message)
    if not first.strip() or first.startswith("SIP/2.0 "):
        return None
    ids = headers.get("call-id", [])
    return ids[0] if len(ids) == 1 else None


def check_from_browser(message: str, extension: str, dialogs: Collection[str]) -> None:
    """PH-4: a request from the browser speaks as its own endpoint, or
    within a call Asterisk offered it (Call-ID in `dialogs`); raise
    PolicyViolation otherwise. Responses pass (they answer Asterisk)."""
    first, headers = _headers(message)
    if not first.strip():
        return  # a keep-alive (CRLF)
    if first.startswith("SIP/2.0 "):
        return
    method = first.split(" ", 1)[0].upper()
    for value in headers.get("authorization", []):
        if _user(_AUTH_USER, value) != extension:
            raise PolicyViolation(f"{method} authorized as another user than {extension}")
    froms, tos = headers.get("from", []), headers.get("to", [])
    if len(froms) != 1 or len(tos) != 1:
        raise PolicyViolation(f"{method} without one From and one To")
    if _TAG.search(tos[0]) and method != "REGISTER":
        ids = headers.get("call-id", [])
        if len(ids) != 1 or ids[0] not in dialogs:
            raise PolicyViolation(f"{method} within a dialog this connection was not offered")
        return
    if _user(_SIP_USER, froms[0]) != extension:
        raise PolicyViolation(f"{method} from another user than {extension}")
    if method == "REGISTER" and _user(_SIP_USER, tos[0]) != extension:
        raise PolicyViolation(f"REGISTER of another user than {extension}")


def _user(pattern: re.Pattern[str], value: str) -> str | None:
    found = pattern.search(value)
    return found.group(1) if found else None


class _Endpoints:
    """The proxied connections of this replica, per endpoint: the
    credentials are deleted when the last one closes."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()


ENDPOINTS = web.AppKey("phone_endpoints", _Endpoints)


def own_endpoint(config: Config, session: StoredSession) -> str:
    """The one endpoint a browser-phone session may speak as: an agent's
    configured browser phone, or the supervisors' seat the session took at
    sign-in (SUP-5)."""
    if session.role == "agent":
        return browser_phone.browser_extension(config, session.tenant, session.agent)
    if session.role == "supervisor" and (
        session.extension in config.datacenter.supervisor_browser_extensions
    ):
        return session.extension
    raise Forbidden("the session has no browser phone", rule="PH-1")


async def phone_ws(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    session = request_session(request)
    if session is None:
        raise Forbidden("the browser phone needs a signed-in desktop session", rule="PH-4")
    if session.phone != "browser":
        raise Forbidden("the session did not choose the browser phone", rule="PH-1")
    extension = own_endpoint(services.config, session)
    node = services.config.datacenter.asterisk[0]
    password = browser_phone.sip_password(session.key, extension)
    endpoints = request.app[ENDPOINTS]
    endpoints.open[extension] += 1
    try:
        await browser_phone.admit(services.ari, extension, password)
        local = (node.sip_ws_source, 0) if node.sip_ws_source else None
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=local),
                timeout=aiohttp.ClientTimeout(total=None, connect=5),
            ) as http,
            http.ws_connect(
                node.sip_ws_url,
                protocols=("sip",),
                max_msg_size=MAX_MESSAGE,
                autoping=True,
                # (a closing browser revokes its endpoint's password at once:
                # no waiting 10 s for Asterisk to answer the close)
                timeout=aiohttp.ClientWSTimeout(ws_close=UPSTREAM_CLOSE_SECONDS),
            ) as upstream,
        ):
            ws = web.WebSocketResponse(protocols=("sip",), heartbeat=15, max_msg_size=MAX_MESSAGE)
            await ws.prepare(request)
            sockets = request.app[SOCKETS]
            sockets.add(ws)
            log.info(
                "browser phone %s of %s/%s connected", extension, session.tenant, session.agent
            )
            try:
                await _relay(request, session, extension, ws, upstream)
            finally:
                sockets.discard(ws)
                log.info("browser phone %s disconnected", extension)
            return ws
    finally:
        endpoints.open[extension] -= 1
        if endpoints.open[extension] <= 0:
            del endpoints.open[extension]
            with contextlib.suppress(Exception):
                await browser_phone.revoke(services.ari, extension)


async def _relay(
    request: web.Request,
    session: StoredSession,
    extension: str,
    ws: web.WebSocketResponse,
    upstream: aiohttp.ClientWebSocketResponse,
) -> None:
    sessions = request.app[SESSIONS]
    dialogs: OrderedDict[str, None] = OrderedDict()  # Call-IDs of Asterisk's requests

    async def browser_to_asterisk() -> None:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text only")
                break
            try:
                check_from_browser(msg.data, extension, dialogs)
            except PolicyViolation as exc:
                log.warning("browser phone %s: refused %s", extension, exc)
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"not your endpoint")
                break
            await upstream.send_str(msg.data)

    async def asterisk_to_browser() -> None:
        async for msg in upstream:
            if msg.type is not WSMsgType.TEXT:
                break
            call_id = call_id_of_request(msg.data)
            if call_id is not None:
                dialogs[call_id] = None
                dialogs.move_to_end(call_id)
                while len(dialogs) > MAX_DIALOGS:
                    dialogs.popitem(last=False)
            await ws.send_str(msg.data)

    async def session_lasts() -> None:
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            if await sessions.touch(session.key) is None:
                log.info("browser phone %s: the session ended", extension)
                return

    tasks = [
        asyncio.create_task(browser_to_asterisk(), name="phone-up"),
        asyncio.create_task(asterisk_to_browser(), name="phone-down"),
        asyncio.create_task(session_lasts(), name="phone-session"),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuleViolation):
                await task
        await upstream.close()
        if not ws.closed:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"phone connection over")


async def get_device(request: web.Request) -> web.Response:
    """PH-1, ST-4: the agent's phone as Asterisk sees it (the service's view:
    a browser phone that is not registered, or a phone in use, gets no
    offers)."""
    services = request.app[SERVICES]
    p = principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    record = await services.cc.agent(p.tenant, agent_id)
    if not record.extension:
        return web.json_response({"extension": None, "kind": None, "registered": False})
    cfg = services.config.tenants[p.tenant].agents[agent_id]
    kind = "browser" if record.extension == cfg.browser_extension else "extension"
    try:
        found = await services.ari.request("GET", f"/endpoints/PJSIP/{record.extension}")
    except AriError as exc:
        if exc.status != 404:
            raise
        found = {}
    return web.json_response(
        {
            "extension": record.extension,
            "kind": kind,
            "registered": found.get("state") == "online",
            "in_use": bool(found.get("channel_ids")),
            "offerable": not await services.store.device_busy(record.extension),
        }
    )


def _setup(app: web.Application) -> None:
    app[ENDPOINTS] = _Endpoints()


FEATURE = Feature(
    name="phone",
    setup=_setup,
    routes=(
        Route(
            "GET",
            "/v1/agents/{agent_id}/device",
            get_device,
            {
                "summary": "the agent's phone as Asterisk sees it (PH-1, ST-4)",
                "description": (
                    "The phone the agent is logged in on: `kind` browser or extension, "
                    "`registered` (a contact in Asterisk), `in_use` (a call on it), and "
                    "`offerable`: false while the phone is busy, or while a browser phone "
                    "is not registered (such an agent gets no offers)."
                ),
                "parameters": docs.path_params("agent_id"),
                "responses": {
                    "200": {
                        "description": "the device",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "extension": {"type": ["string", "null"]},
                                        "kind": {"enum": ["browser", "extension", None]},
                                        "registered": {"type": "boolean"},
                                        "in_use": {"type": "boolean"},
                                        "offerable": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "401": docs.content(docs.ref("Error"), "no or unknown token"),
                    "403": docs.content(docs.ref("Error"), "another agent's device"),
                    "404": docs.content(docs.ref("Error"), "unknown agent"),
                },
            },
        ),
        Route(
            "GET",
            browser_phone.SIP_WS_PATH,
            phone_ws,
            {
                "summary": "the browser phone's SIP WebSocket (subprotocol sip, RFC 7118)",
                "description": (
                    "PH-1, PH-4: for a desktop or console session (cookie) that chose the browser "
                    "phone; "
                    "relays SIP to Asterisk, allowing only the session's own endpoint "
                    "(phone.sip.username) to register and call. Closes with 1008 on a message "
                    "for another endpoint, and when the session ends."
                ),
                "responses": {
                    "101": {"description": "switching to the SIP WebSocket"},
                    "400": {"description": "not a WebSocket upgrade request"},
                    "401": docs.content(docs.ref("Error"), "not signed in"),
                    "403": docs.content(
                        docs.ref("Error"), "not a browser-phone session, or another site (Origin)"
                    ),
                },
            },
        ),
    ),
)
