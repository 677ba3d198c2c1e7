"""Scenes the in-process tests start from, set through the API and the fake
Asterisk's far ends only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.inprocess.conftest import Service
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import Desktop


@dataclass
class Call:
    """A customer connected to an agent."""

    ix_id: str
    customer: str  # the customer's channel
    agent_leg: str  # the agent's channel: <interaction>-a<n>


async def available(desktop: Desktop, extension: str) -> None:
    await desktop.login(extension)
    await desktop.available()
    await desktop.state_event("available")


async def connected_call(
    service: Service,
    desktop: Desktop,
    extension: str,
    *,
    caller: str = CUSTOMER,
    number: str = SUPPORT,
) -> Call:
    """The desktop's agent is available and answers a customer's call (to
    support, unless `number` says otherwise)."""
    await available(desktop, extension)
    customer = service.ari.customer_calls(number, caller)
    offer = (await desktop.event("interaction.offered"))["data"]
    leg = await service.ari.ringing(service.agent_endpoint(extension))
    service.ari.far_answer(leg.id)
    await desktop.event("interaction.connected")
    await desktop.state_event("connected")
    return Call(offer["interaction_id"], customer, leg.id)


def of(ix_id: str) -> Any:
    """Events of that interaction."""
    return lambda e: e["data"].get("id", e["data"].get("interaction_id")) == ix_id
