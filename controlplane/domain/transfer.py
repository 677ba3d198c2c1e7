"""Blind transfer (TR-1..TR-7) and the targets of transfers and consults.

Pure rules: no I/O. What may be chosen as a target, in which lists and for
which calls; whether a target agent can take a transfer; which call
variables an entry-point transfer carries into the target flow; and the
number a dial-number or address-book target dials (DN-1..DN-3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from controlplane.config import Config, Flow, Tenant
from controlplane.domain import dialnumber
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation
from controlplane.domain.interaction import Direction, Interaction, LegRole, Status
from controlplane.domain.values import Raw
from controlplane.domain.variables import Stored

MAX_SEARCH = 64  # characters of search text


class TargetKind(StrEnum):
    AGENT = "agent"
    QUEUE = "queue"
    ENTRY_POINT = "entry_point"
    DIAL_NUMBER = "dial_number"
    ADDRESS_BOOK = "address_book"


# TR-1: a blind transfer goes to any of these; CO-1: a consult to an agent,
# a queue or a number (typed, or from the address book).
TRANSFER_KINDS = (
    TargetKind.AGENT,
    TargetKind.QUEUE,
    TargetKind.ENTRY_POINT,
    TargetKind.DIAL_NUMBER,
    TargetKind.ADDRESS_BOOK,
)
CONSULT_KINDS = (
    TargetKind.AGENT,
    TargetKind.QUEUE,
    TargetKind.DIAL_NUMBER,
    TargetKind.ADDRESS_BOOK,
)
# TR-7: on an outdial these exist only where the tenant enables transfer to queue.
_QUEUE_LIKE = frozenset({TargetKind.QUEUE, TargetKind.ENTRY_POINT})


def transfer_kinds(ix: Interaction | None, tenant: Tenant) -> tuple[TargetKind, ...]:
    """TR-1, TR-7: the kinds of target a blind transfer of this call may go
    to. An outdial (direction outbound) offers queues and entry points only
    where the tenant enables transfer to queue for outdial; otherwise only
    agents and numbers."""
    if (
        ix is not None
        and ix.direction is Direction.OUTBOUND
        and not (tenant.outdial_transfer_to_queue)
    ):
        return tuple(k for k in TRANSFER_KINDS if k not in _QUEUE_LIKE)
    return TRANSFER_KINDS


def require_transfer_kind(kind: TargetKind, ix: Interaction, tenant: Tenant) -> None:
    """TR-7: refuses a queue or entry-point target for an outdial unless the
    tenant enables transfer to queue for outdial."""
    allowed = transfer_kinds(ix, tenant)
    if kind not in allowed:
        raise RuleViolation(
            f"an outdial cannot be transferred to a {kind.value.replace('_', ' ')}: the "
            "tenant does not enable transfer to queue for outdial calls",
            rule="TR-7",
            kind=kind.value,
            allowed=[k.value for k in allowed],
        )


def require_consult_kind(kind: TargetKind) -> None:
    """CO-1: a consult goes to an agent, a queue or a dial number."""
    if kind not in CONSULT_KINDS:
        raise InvalidInput(
            f"a consult cannot go to a {kind.value.replace('_', ' ')}",
            rule="CO-1",
            field="kind",
            allowed=[k.value for k in CONSULT_KINDS],
        )


def require_handling_agent(ix: Interaction, agent: str, rule: str, action: str) -> None:
    """Only the agent connected to the customer (not a consulted agent, not
    one who transferred the call away) starts a transfer or a consult."""
    if ix.agent != agent:
        raise RuleViolation(
            f"only the agent connected to the call can {action}", rule=rule, agent=agent
        )
    if ix.status is not Status.CONNECTED:
        raise InvalidTransition(
            f"the call is {ix.status.value}: the agent can {action} a connected call only",
            rule=rule,
            status=ix.status.value,
        )


def require_no_other_leg(ix: Interaction, rule: str) -> None:
    """One consult or transfer at a time: a blind transfer or a new consult
    waits until the consult ends (or goes to the consulted party: CO-4)."""
    for leg in ix.legs:
        if leg.role in (LegRole.CONSULT, LegRole.TRANSFER):
            raise InvalidTransition(
                "a consult is in progress: transfer to the consulted party, or end the "
                "consult first"
                if leg.role is LegRole.CONSULT
                else "a transfer of this call is in progress",
                rule=rule,
                leg=leg.state.value,
            )


# Agent targets -------------------------------------------------------------------


def require_transfer_target_state(agent: str, state: AgentState, device_busy: bool) -> None:
    """TR-2: never to an agent in wrap-up; a blind transfer needs the target
    `available` (ST-2), with an idle phone (ST-4)."""
    if state is AgentState.WRAP_UP:
        raise RuleViolation(
            f"agent {agent!r} is in wrap-up: a call cannot be transferred to them",
            rule="TR-2",
            agent=agent,
            state=state.value,
        )
    if state is not AgentState.AVAILABLE:
        raise RuleViolation(
            f"agent {agent!r} is {state.value}: a blind transfer needs the agent available",
            rule="TR-2",
            agent=agent,
            state=state.value,
        )
    if device_busy:
        raise RuleViolation(
            f"the phone of agent {agent!r} is still in use", rule="ST-4", agent=agent
        )


def require_consult_target_state(agent: str, state: AgentState, device_busy: bool) -> None:
    """CO-1, ST-2: an agent is consulted while `available` or `idle` (only
    queue consults need them available); never while reserved, connected, in
    wrap-up or in RONA; and not while the phone is in use (ST-4)."""
    if state not in (AgentState.AVAILABLE, AgentState.IDLE):
        raise RuleViolation(
            f"agent {agent!r} is {state.value}: an agent is consulted while available or idle",
            rule="CO-1",
            agent=agent,
            state=state.value,
        )
    if device_busy:
        raise RuleViolation(
            f"the phone of agent {agent!r} is still in use", rule="ST-4", agent=agent
        )


def require_other_agent(target: str, agent: str, rule: str) -> None:
    if target == agent:
        raise InvalidInput("an agent cannot choose themself", rule=rule, field="target")


def find_agent(tenant: Tenant, target: str, rule: str) -> None:
    if target not in tenant.agents:
        raise NotFound(f"unknown agent {target!r}", rule=rule, field="target")


def find_queue(tenant: Tenant, target: str, rule: str) -> None:
    if target not in tenant.queues:
        raise NotFound(f"unknown queue {target!r}", rule=rule, field="target")


def find_entry_point(tenant: Tenant, target: str) -> None:
    if target not in tenant.entry_points:
        raise NotFound(f"unknown entry point {target!r}", rule="TR-4", field="target")


# Dial numbers (TR-5, CO-1, DN-1..DN-3) ---------------------------------------------


def resolve_number(
    config: Config, tenant: Tenant, kind: TargetKind, target: str, rule: str
) -> dialnumber.DialNumber:
    """TR-5, CO-1: a number typed (DN-1..DN-3 apply: an internal extension or
    an entry-point number is refused) or an address-book entry by name."""
    raw = target
    if kind is TargetKind.ADDRESS_BOOK:
        for entry in tenant.address_book:
            if entry.name.casefold() == target.strip().casefold():
                raw = entry.number
                break
        else:
            raise NotFound(f"no address-book entry named {target!r}", rule=rule, field="target")
    extensions = [a.extension for t in config.tenants.values() for a in t.agents.values()]
    entry_points = [e.number for t in config.tenants.values() for e in t.entry_points.values()]
    return dialnumber.validate(raw, extensions=extensions, entry_points=entry_points, plan=None)


# TR-4: variables carried into the target flow --------------------------------------


def carried_variables(source: Flow, target: Flow, current: Mapping[str, Stored]) -> dict[str, Raw]:
    """TR-4: a variable of the target flow with the same name and the same
    type as one of the source flow takes that variable's current value (also
    one the flow or an agent set during the call, or cleared); same name with
    another type is not carried; the target's others start from its defaults."""
    types = {v.name: v.type for v in source.variables}
    carried: dict[str, Raw] = {}
    for var in target.variables:
        if types.get(var.name) is var.type and var.name in current:
            carried[var.name] = current[var.name].value
    return carried


# TR-1: target lists ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentView:
    id: str
    state: AgentState


def _matches(search: str, *texts: str | None) -> bool:
    needle = search.strip().casefold()
    return not needle or any(needle in (t or "").casefold() for t in texts)


def require_search(search: str) -> str:
    if len(search) > MAX_SEARCH or not search.isprintable():
        raise InvalidInput(
            f"search text is printable and at most {MAX_SEARCH} characters",
            rule="TR-1",
            field="search",
        )
    return search


def agent_targets(
    tenant: Tenant, states: Iterable[AgentView], search: str, *, exclude: str | None
) -> list[dict[str, object]]:
    """TR-1: the tenant's agents with their current state (an agent in
    wrap-up is listed, and refused when chosen: TR-2)."""
    out: list[dict[str, object]] = []
    for view in states:
        cfg = tenant.agents[view.id]
        if view.id == exclude or not _matches(search, view.id, cfg.name, cfg.extension):
            continue
        team = tenant.teams.get(cfg.team)
        out.append(
            {
                "kind": TargetKind.AGENT.value,
                "id": view.id,
                "name": cfg.name,
                "extension": cfg.extension,
                "team": cfg.team,
                "team_name": team.name if team else cfg.team,
                "state": view.state.value,
                "selectable": view.state is AgentState.AVAILABLE,
            }
        )
    return sorted(out, key=lambda t: (str(t["name"]).casefold(), str(t["id"])))


def queue_targets(
    tenant: Tenant, waiting: Mapping[str, int], search: str
) -> list[dict[str, object]]:
    return [
        {
            "kind": TargetKind.QUEUE.value,
            "id": qid,
            "name": queue.name,
            "waiting": waiting.get(qid, 0),
        }
        for qid, queue in sorted(tenant.queues.items(), key=lambda q: q[1].name.casefold())
        if _matches(search, qid, queue.name)
    ]


def entry_point_targets(tenant: Tenant, search: str) -> list[dict[str, object]]:
    return [
        {
            "kind": TargetKind.ENTRY_POINT.value,
            "id": eid,
            "name": entry.label,
            "number": entry.number,
            "queue": entry.queue,
        }
        for eid, entry in sorted(tenant.entry_points.items(), key=lambda e: e[1].label.casefold())
        if _matches(search, eid, entry.label, entry.number)
    ]


def address_book_targets(tenant: Tenant, search: str) -> list[dict[str, object]]:
    return [
        {"kind": TargetKind.ADDRESS_BOOK.value, "name": entry.name, "number": entry.number}
        for entry in sorted(tenant.address_book, key=lambda e: e.name.casefold())
        if _matches(search, entry.name, entry.number)
    ]
