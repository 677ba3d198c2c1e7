"""Wrap-up (END-2, OD-7, TR-6): the reasons an agent may apply, the state the
agent goes to afterwards, and the auto wrap-up the tenant may configure.

An agent is in wrap-up after every call they handled (END-2) and after
transferring one (TR-6): per agent and interaction, one wrap-up, applied by
the agent (one of the tenant's reasons) or, when the tenant sets
`auto_wrap_up_seconds`, by the system with the reserved reason `auto` once
that time is over. The auto wrap-up is one durable timer per agent and
interaction (`TIMER`, key `timer_key()`).

Pure rules: no I/O.
"""

from __future__ import annotations

from controlplane.config import Tenant
from controlplane.domain import agent as agent_rules
from controlplane.domain.agent import AgentState, Transition, Trigger
from controlplane.domain.errors import InvalidInput, InvalidTransition
from controlplane.domain.interaction import Interaction

# END-2: the wrap-up reason the system applies when the agent did not choose
# one within the tenant's `auto_wrap_up_seconds`. A reserved code rather than
# one of the tenant's reasons, so reports tell the agent's choice from the
# timer's.
AUTO_REASON = "auto"

# The one timer of the auto wrap-up (key: "<interaction>:<agent>", or an
# interaction alone for its own agent).
TIMER = "auto_wrap_up"
# Earlier releases kept a second kind for the agent who transferred a call
# (key "<interaction>:<agent>"); such timers still pending after an upgrade
# run the same auto wrap-up.
EARLIER_TIMERS = ("transfer.auto_wrap_up",)


def require_reason(reason: str, reasons: dict[str, str]) -> None:
    """END-2: only one of the tenant's wrap-up reasons may be applied."""
    if reason not in reasons:
        raise InvalidInput(
            f"unknown wrap-up reason {reason!r}",
            rule="END-2",
            field="reason",
            allowed=sorted(reasons),
        )


def auto_seconds(tenant: Tenant) -> int | None:
    """END-2: after how many seconds of wrap-up the system applies a reason;
    None when the tenant leaves wrap-up to the agent alone."""
    return tenant.auto_wrap_up_seconds or None


def timer_key(ix_id: str, agent: str) -> str:
    return f"{ix_id}:{agent}"


def timer_target(key: str) -> tuple[str, str | None]:
    """(interaction, agent) of an auto wrap-up timer; agent None names the
    interaction's own agent."""
    ix_id, _, agent = key.partition(":")
    return ix_id, agent or None


def still_open(ix: Interaction, agent: str) -> bool:
    """Whether `agent` has not wrapped the interaction up yet (the auto
    wrap-up re-checks this when it fires: the agent may have been quicker)."""
    if agent in ix.wrap_ups:
        return False
    return not (agent == ix.agent and ix.wrap_up_reason is not None)


def after_state(after: str) -> AgentState:
    """END-2: the state an agent takes after wrap-up, as the tenant configures it."""
    return AgentState.IDLE if after == "idle" else AgentState.AVAILABLE


def finish(current: AgentState, after: str) -> Transition:
    """END-2: the agent applied a wrap-up reason; next is `available` or `idle`."""
    return agent_rules.transition(current, Trigger.WRAP_UP_DONE, after_state(after), "wrap_up")


def finish_outdial(
    current: AgentState,
    before: AgentState,
    before_reason: str | None,
    *,
    available_after_outdial: bool,
) -> Transition:
    """OD-7: after an outdial's wrap-up the agent is `available` where the tenant
    sets "available after outdial" (even if it started from `idle`), else in
    the state from before the outdial (an idle agent keeps the idle reason)."""
    if current is not AgentState.WRAP_UP:
        raise InvalidTransition(
            f"the agent is not in wrap-up (state {current.value})",
            rule="END-2",
            state=current.value,
        )
    done = Trigger.WRAP_UP_DONE
    if available_after_outdial or before is not AgentState.IDLE:
        return agent_rules.transition(current, done, AgentState.AVAILABLE, "wrap_up")
    return agent_rules.transition(current, done, AgentState.IDLE, before_reason or "wrap_up")
