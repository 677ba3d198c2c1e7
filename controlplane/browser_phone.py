"""The browser phone (PH-1, PH-4, SUP-5): which endpoint a signed-in agent or
supervisor who chose the browser phone registers, and with which SIP
credentials.

This is the one place that names them: the session routes log the agent in
on the extension returned here and hand ``sip`` (when there is one) only to
that agent's own session.

Every agent seat has a WebRTC endpoint in Asterisk named by the agent's
``browser_extension`` (pjsip.conf). Its SIP password is new at every
sign-in and never stored: it is derived from the session's server-side key
(an HMAC), so every replica computes the same one and nothing else can.
Asterisk learns it just in time: ``/v1/phone/ws`` (``controlplane/api/phone.py``)
creates the endpoint's auth object through ARI's dynamic configuration
before it connects the session's browser to Asterisk's SIP WebSocket, and
the object is deleted when the agent signs out. A password of an ended
session is therefore useless, and so is one that leaked out of the page:
Asterisk's WebSocket is reachable only through that proxy, which checks the
session cookie and lets a session speak only as its own endpoint.

Supervisors have no endpoint of their own in the configuration: the
datacenter's ``supervisor_browser_extensions`` (2101..2110 in pjsip.conf)
are seats that a supervisor's sign-in with the browser phone takes for that
session (``domain.seats``; kept in Redis by ``adapters.seat_store``) and
that sign-out gives back; a seat whose session
ended (timed out, replaced) is free again for the next sign-in. Credentials,
the proxy and revocation are the agents'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from controlplane.adapters.ari import AriClient, AriError
from controlplane.config import Config
from controlplane.domain.errors import InvalidInput

SIP_WS_PATH = "/v1/phone/ws"
"""Where the page connects its SIP WebSocket (same origin as the page)."""
REALM = "asterisk"
"""Asterisk's default digest realm (pjsip.conf sets no other)."""


def browser_extension(config: Config, tenant: str, agent: str) -> str:
    """The agent's browser phone endpoint; an agent without one is refused
    naming PH-1."""
    cfg = config.tenants[tenant].agents[agent]
    if cfg.browser_extension is None:
        raise InvalidInput(
            "the agent has no browser phone; choose the extension", rule="PH-1", field="phone"
        )
    return cfg.browser_extension


def browser_phone_for(
    config: Config, tenant: str, agent: str, session_key: str | None = None
) -> tuple[str, dict[str, Any] | None]:
    """(extension, SIP credentials) of the agent's browser phone.

    ``session_key`` is the signed-in session's server-side key: the SIP
    password is derived from it (a new one at every sign-in). Without it
    there are no credentials (None)."""
    extension = browser_extension(config, tenant, agent)
    if session_key is None:
        return extension, None
    cfg = config.tenants[tenant].agents[agent]
    return extension, sip_credentials(config, extension, session_key, cfg.name)


def sip_credentials(
    config: Config, extension: str, session_key: str, display_name: str
) -> dict[str, Any]:
    """The page's SIP settings for a browser endpoint in one session."""
    return {
        "ws_url": SIP_WS_PATH,
        "uri": f"sip:{extension}@{sip_domain(config)}",
        "username": extension,
        "password": sip_password(session_key, extension),
        "display_name": display_name,
        "realm": REALM,
    }


def sip_password(session_key: str, extension: str) -> str:
    """The browser phone's SIP password for one session: 32 URL-safe
    characters, an HMAC of the endpoint keyed with the session's key."""
    mac = hmac.new(session_key.encode(), f"browser-phone:{extension}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def sip_domain(config: Config) -> str:
    """The domain of the browser phones' SIP URIs: Asterisk's host."""
    return urlsplit(config.datacenter.asterisk[0].sip_ws_url).hostname or "127.0.0.1"


def agent_by_browser_extension(config: Config, extension: str) -> tuple[str, str] | None:
    """(tenant, agent) whose browser phone is the endpoint ``extension``."""
    for tid, tenant in config.tenants.items():
        for aid, agent in tenant.agents.items():
            if agent.browser_extension == extension:
                return tid, aid
    return None


def is_browser_endpoint(config: Config, extension: str) -> bool:
    """Whether the extension is a WebRTC endpoint: an agent's browser phone
    or a supervisors' seat (neither can be named as a hard phone)."""
    return (
        agent_by_browser_extension(config, extension) is not None
        or extension in config.datacenter.supervisor_browser_extensions
    )


UNREACHABLE_DEVICE_STATES = frozenset({"UNAVAILABLE", "INVALID"})


def unreachable(device_state: str) -> bool:
    """PH-1: a browser phone that is not registered gets no offers (a hard
    phone that is not registered still does, and its agent goes to RONA)."""
    return device_state.upper() in UNREACHABLE_DEVICE_STATES


def _auth_path(extension: str) -> str:
    return f"/asterisk/config/dynamic/res_pjsip/auth/{extension}"


async def admit(ari: AriClient, extension: str, password: str) -> None:
    """Create (or replace) the endpoint's auth object in Asterisk (PH-4)."""
    fields = [
        {"attribute": "auth_type", "value": "digest"},
        {"attribute": "username", "value": extension},
        {"attribute": "password", "value": password},
    ]
    await ari.request("PUT", _auth_path(extension), body={"fields": fields}, idempotent=True)


async def revoke(ari: AriClient, extension: str) -> None:
    """Delete the endpoint's auth object: the endpoint can no longer
    register, whoever knows an old password (PH-4)."""
    try:
        await ari.request("DELETE", _auth_path(extension))
    except AriError as exc:
        if exc.status != 404:
            raise
