"""The named hooks through which features join the core's call path.

The core calls them at fixed points; each feature's `plugin.py` registers
its handlers. Claimants are asked in the order they registered; the first
that returns True handles the case, and the core's own handling is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from controlplane.adapters.ari import Event
from controlplane.adapters.store import Batch
from controlplane.domain.agent import AgentState, Transition
from controlplane.domain.interaction import Interaction, Status

# (interaction id, channel id) of a leg that entered the Stasis app
Answered = Callable[[str, str], Awaitable[None]]
# (interaction, channel id, hang-up cause) -> handled
LegGone = Callable[[Interaction, str, int], Awaitable[bool]]
# (interaction, agent's answered channel) -> handled
AgentAnswered = Callable[[Interaction, str], Awaitable[bool]]
# (interaction, status before it ended) -> an agent was freed
Ending = Callable[[Interaction, Status], Awaitable[bool]]
# (interaction, status before it ended) -> the unconnected agent's release was handled
AgentReleased = Callable[[Interaction, Status], Awaitable[bool]]
# (interaction) -> the withdrawn offer was handled
OfferWithdrawn = Callable[[Interaction], Awaitable[bool]]
# (interaction, state of every live channel) after the event stream (re)connected
ReconcileInteraction = Callable[[Interaction, dict[str, str]], Awaitable[None]]
# (live channel ids, state of every live channel)
Reconcile = Callable[[set[str], dict[str, str]], Awaitable[None]]
# (interaction, agent) -> raises a RuleViolation to refuse
Check = Callable[[Interaction, str | None], None]
# (interaction, agent, agent's state) -> the agent's state after wrap-up, or None
AfterWrapUp = Callable[[Interaction, str, AgentState], Awaitable[Transition | None]]
# (tenant, queue request member, reserved agent)
RequestReserved = Callable[[str, str, str], Awaitable[None]]
# (interaction) -> the offer's variables
OfferVariables = Callable[[Interaction], Awaitable[list[dict[str, object]]]]
# REC-1: whether a call of (tenant, queue, agent) is recorded
Records = Callable[[str, str, str], bool]
Observer = Callable[[Event], None]

# The Asterisk events the core's call path reads itself (`Calls.on_ari_event`):
# a leg entered or left the Stasis app, a channel is gone.
CORE_EVENTS = frozenset({"StasisStart", "StasisEnd", "ChannelDestroyed"})


@dataclass
class Hooks:
    # StasisStart of a leg the control plane placed, by the purpose its
    # arguments name ("agent", "consult", "transfer", ...)
    answered: dict[str, Answered] = field(default_factory=dict)
    # Asterisk events by type, seen in Asterisk's order before the core's own handling
    observers: dict[str, list[Observer]] = field(default_factory=dict)
    # the offered agent answered: a feature that dials a customer first takes over
    agent_answered: list[AgentAnswered] = field(default_factory=list)
    # customer and agent are about to join the interaction's bridge (e.g. REC-1)
    connecting: list[Callable[[Interaction], Awaitable[None]]] = field(default_factory=list)
    # a leg of the interaction is gone: a feature whose leg it is takes it
    leg_gone: list[LegGone] = field(default_factory=list)
    # the agent asks to end the call / to wrap up: a feature may refuse
    before_end: list[Check] = field(default_factory=list)
    before_wrap_up: list[Check] = field(default_factory=list)
    # which state the agent goes to after wrap-up (else the tenant's setting)
    after_wrap_up: list[AfterWrapUp] = field(default_factory=list)
    # the interaction is ending (its record not saved yet)
    ending: list[Ending] = field(default_factory=list)
    # an agent who was offered the call but never connected is released
    agent_released: list[AgentReleased] = field(default_factory=list)
    # an offer still ringing after a reconnection is withdrawn
    offer_withdrawn: list[OfferWithdrawn] = field(default_factory=list)
    # after every (re)connection of the event stream
    reconcile_interaction: list[ReconcileInteraction] = field(default_factory=list)
    reconcile: list[Reconcile] = field(default_factory=list)
    # routing reserved an agent for a queue request that is no interaction (CO-1)
    request_reserved: RequestReserved | None = None
    # the variables an offer shows (CAD)
    offer_variables: OfferVariables | None = None
    # IN-2, REC-1: a call to be recorded talks in a shared bridge from the start
    records: Records | None = None
    # a new interaction was created by the core (IN-1): what it writes goes on
    # the batch of the interaction's first save (one round trip, one transaction)
    created: list[Callable[[Interaction, Batch], None]] = field(default_factory=list)
    # an agent became available (routing tries to offer them a call)
    agent_available: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)

    def recorded(self, tenant: str, queue: str, agent: str) -> bool:
        """REC-1: whether a call of that queue is recorded when that agent
        takes it (never without a feature that records)."""
        return self.records is not None and self.records(tenant, queue, agent)

    def observe(self, kinds: frozenset[str] | set[str], observer: Observer) -> None:
        for kind in kinds:
            self.observers.setdefault(kind, []).append(observer)

    def event_types(self) -> frozenset[str]:
        """Every Asterisk event type the service reads: the core's own and
        those observed. Asterisk sends the Stasis app only these (its event
        filter), so an observer registered here is all a feature needs."""
        return CORE_EVENTS | frozenset(self.observers)

    def on_answered(self, purpose: str, handler: Answered) -> None:
        if purpose in self.answered:
            raise ValueError(f"a handler for legs of purpose {purpose!r} is registered already")
        self.answered[purpose] = handler
