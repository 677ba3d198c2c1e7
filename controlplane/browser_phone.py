"""The agent's browser phone (PH-1, PH-4): which endpoint a signed-in agent
who chose the browser phone registers, and with which SIP credentials.

This is the one place that names them: the session routes log the agent in
on the extension returned here and hand ``sip`` (when there is one) only to
that agent's own session.
"""

from __future__ import annotations

from typing import Any

from controlplane.config import Config
from controlplane.domain.errors import InvalidInput


def browser_phone_for(
    config: Config, tenant: str, agent: str, session_key: str | None = None
) -> tuple[str, dict[str, Any] | None]:
    """(extension, SIP credentials or None) of the agent's browser phone:
    the agent's configured ``browser_extension``; no SIP credentials yet.
    An agent without a browser phone is refused naming PH-1."""
    cfg = config.tenants[tenant].agents[agent]
    if cfg.browser_extension is None:
        raise InvalidInput(
            "the agent has no browser phone; choose the extension", rule="PH-1", field="phone"
        )
    return cfg.browser_extension, None
