"""Interactions as tests build them: an inbound call to tenant acme's support
queue, with whatever fields a test sets."""

from __future__ import annotations

import uuid
from typing import Any

from controlplane.domain.interaction import Direction, Interaction


def support_call(**fields: Any) -> Interaction:
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "tenant": "acme",
        "direction": Direction.INBOUND,
        "label": "Support",
        "ani": "+15551230000",
        "dnis": "+15559870000",
        "entry_point": "support",
        "flow": "main",
        "queue": "support",
        "queue_name": "Support",
        "node": "ast1",
        "customer_channel": "c1",
    }
    return Interaction(**{**values, **fields})
