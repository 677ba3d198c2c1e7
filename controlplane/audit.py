"""The audit trail: who did what, when, and with what outcome.

One capped Redis stream per tenant (`cp:{dc}:audit:<tenant>`, `XADD MAXLEN ~`)
receives a record for

- every API action (anything but GET), from the API's audit middleware:
  who (the principal), the route, its target IDs, the outcome (`ok`,
  `refused` with the status, error and rule, or `error`);
- every agent state change and every interaction event, from the notifier
  (the one place that publishes them).

"Who" is the principal whose API call made the change, else `system`
(Asterisk events, timers, routing). Records carry IDs, states, reasons and
rule names only: request bodies are reduced to a list of harmless fields,
and of call variables only the names are kept, never a value (CAD-6).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from controlplane.adapters.audit_store import AuditStore
from controlplane.adapters.store import Batch, Store
from controlplane.domain.agent import Transition, Trigger
from controlplane.domain.interaction import iso, now_ms

log = logging.getLogger(__name__)

MAX_LIMIT = 1000  # records one GET may ask for
SYSTEM = "system"

# The principal on whose behalf the current task works ("agent:alice",
# "supervisor:<token id>"); unset in background work.
ACTOR: ContextVar[str | None] = ContextVar("controlplane_actor", default=None)

# Triggers an agent (or a supervisor for them) chooses; the rest are the system's.
_CHOSEN = frozenset(
    {Trigger.LOGIN, Trigger.LOGOUT, Trigger.GO_AVAILABLE, Trigger.GO_IDLE, Trigger.WRAP_UP_DONE}
)

# Body fields that may go into a record: codes and IDs, never free text,
# numbers or values.
SAFE_BODY_FIELDS = ("state", "reason", "extension", "queue", "entry_point")
# Event data that may go into a record.
SAFE_EVENT_FIELDS = (
    "status",
    "kind",
    "queue",
    "end_cause",
    "wrap_up_reason",
    "held",
    "recording",
    "reason",
    "by",
    "source",
    "updated_by",
    "attempt",
    "outcome",
    "code",
    "rule",
)
_SCALARS = (str, int, float, bool)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = ACTOR.set(actor)
    try:
        yield
    finally:
        ACTOR.reset(token)


def safe_fields(
    data: Mapping[str, Any], allowed: tuple[str, ...], *, variable_names: bool = True
) -> dict[str, Any]:
    """The allowed scalar fields of `data` (strings cut to 64 characters);
    with `variable_names`, the names of the call variables, never a value."""
    out: dict[str, Any] = {}
    for k in allowed:
        value = data.get(k)
        if isinstance(value, str):
            out[k] = value[:64]
        elif isinstance(value, _SCALARS):
            out[k] = value
    variables = data.get("variables") if variable_names else None
    if isinstance(variables, Mapping):
        out["variables"] = sorted(str(k)[:64] for k in variables)
    elif isinstance(variables, list):
        out["variables"] = sorted(
            str(v["name"])[:64] for v in variables if isinstance(v, Mapping) and "name" in v
        )
    return out


class AuditLog:
    def __init__(self, store: Store) -> None:
        self._db = AuditStore(store)

    def key(self, tenant: str) -> str:
        return self._db.key(tenant)

    async def write(
        self,
        tenant: str,
        *,
        actor: str,
        action: str,
        target: Mapping[str, str],
        outcome: str = "ok",
        details: Mapping[str, Any] | None = None,
        pipe: Batch | None = None,
    ) -> None:
        """Append one record (or queue it on `pipe`, whose owner checks the
        result); an audit failure is logged, never fails the action."""
        record = {
            "at": iso(now_ms()) or "",
            "actor": actor,
            "action": action,
            "target": json.dumps(dict(target), separators=(",", ":"), sort_keys=True),
            "outcome": outcome,
            "details": json.dumps(dict(details or {}), separators=(",", ":"), sort_keys=True),
        }
        if pipe is not None:
            self._db.append_on(pipe, tenant, record)
            return
        try:
            await self._db.append(tenant, record)
        except Exception as exc:
            log.warning("audit record %s for %s not written: %s", action, tenant, exc)

    async def api_action(
        self,
        tenant: str,
        actor: str,
        *,
        method: str,
        route: str,
        target: Mapping[str, str],
        status: int,
        error: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        details: dict[str, Any] = {"status": status}
        if body:
            details.update(safe_fields(body, SAFE_BODY_FIELDS))
        if status < 400:
            outcome = "ok"
        elif status < 500:
            outcome = "refused"
        else:
            outcome = "error"
        if error:
            details["error_id"] = error.get("error_id")
            rule = (error.get("details") or {}).get("rule")
            if rule:
                details["rule"] = rule
        await self.write(
            tenant,
            actor=actor,
            action=f"{method} {route}",
            target=target,
            outcome=outcome,
            details=details,
        )

    async def agent_state(
        self,
        tenant: str,
        agent: str,
        change: Transition,
        at: int,
        seq: int,
        *,
        pipe: Batch | None = None,
    ) -> None:
        actor = ACTOR.get() if change.trigger in _CHOSEN else None
        await self.write(
            tenant,
            actor=actor or SYSTEM,
            action="agent.state",
            target={"agent": agent},
            details={
                "previous": change.previous.value,
                "state": change.state.value,
                "reason": change.reason,
                "trigger": change.trigger.value,
                "seq": seq,
                "timestamp": iso(at),
            },
            pipe=pipe,
        )

    async def event(
        self,
        kind: str,
        tenant: str,
        agent: str | None,
        data: Mapping[str, Any],
        *,
        pipe: Batch | None = None,
    ) -> None:
        """An interaction event as the notifier publishes it, reduced to safe fields."""
        ix_id = data.get("interaction_id") or data.get("id")
        target = {"interaction": str(ix_id)} if ix_id else {}
        if agent:
            target["agent"] = agent
        await self.write(
            tenant,
            actor=ACTOR.get() or SYSTEM,
            action=kind,
            target=target,
            details=safe_fields(
                data, SAFE_EVENT_FIELDS, variable_names=kind.endswith("variables_updated")
            ),
            pipe=pipe,
        )

    async def read(self, tenant: str, limit: int) -> list[dict[str, Any]]:
        """The tenant's newest records first."""
        out: list[dict[str, Any]] = []
        for record_id, fields in await self._db.newest(tenant, limit):
            out.append(
                {
                    "id": record_id,
                    "at": fields.get("at"),
                    "actor": fields.get("actor"),
                    "action": fields.get("action"),
                    "target": json.loads(fields.get("target") or "{}"),
                    "outcome": fields.get("outcome"),
                    "details": json.loads(fields.get("details") or "{}"),
                }
            )
        return out
