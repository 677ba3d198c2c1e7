"""Concurrent-call limits (LIM-1..LIM-3): reason codes and their texts."""

from __future__ import annotations

from enum import IntEnum

from controlplane.domain.errors import RuleViolation

# A slot is a lease: renewed while its call lives, reclaimed this long after
# its owner stopped renewing it.
SLOT_LEASE_MS = 30_000


class LimitCode(IntEnum):
    DATACENTER = 26
    TENANT = 27


TEXTS = {
    LimitCode.DATACENTER: "The datacenter has reached its maximum of concurrent calls.",
    LimitCode.TENANT: "The tenant has reached its maximum of concurrent calls.",
}


class LimitReached(RuleViolation):
    """LIM-2: a call over the datacenter (26) or tenant (27) limit is refused."""

    status = 409
    error_id = "concurrent-call-limit"

    def __init__(self, code: LimitCode) -> None:
        super().__init__(TEXTS[code], rule="LIM-2", code=int(code), text=TEXTS[code])
        self.code = code
