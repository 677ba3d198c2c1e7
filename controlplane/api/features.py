"""The API's features, in the order the router tries them: each feature
module declares its routes with their OpenAPI operations once (``FEATURE``);
the application (api/http.py) and the document (api/openapi.py) are built
from this list."""

from __future__ import annotations

from controlplane.api import (
    agents,
    callbacks,
    campaigns,
    events,
    media,
    ops,
    outbound,
    phone,
    session,
    supervisor,
    transfers,
    variables,
    webui,
)
from controlplane.api.common import Feature

FEATURES: tuple[Feature, ...] = (
    ops.FEATURE,  # /health, /metrics, /v1/audit
    agents.FEATURE,  # ST, END
    events.FEATURE,  # /v1/events
    media.FEATURE,  # HOLD, REC
    variables.FEATURE,  # CAD
    callbacks.FEATURE,  # CB
    outbound.FEATURE,  # OD, HI
    campaigns.FEATURE,  # PC
    transfers.FEATURE,  # TR, CO, CF
    supervisor.FEATURE,  # SUP-1..SUP-6: the supervisor console
    session.FEATURE,  # DSK-1, DSK-13
    phone.FEATURE,  # PH-1, PH-4: the browser phone's SIP WebSocket
    webui.FEATURE,  # the desktop; last: its pattern takes what no other route took
)
