"""The scenes the integration tests start from, set up one way through the
real stack: a customer's phone dials an entry point and an available agent's
phone answers (a connected call), that agent consults a second agent (a
consult) and starts a conference of the three.

A test whose subject is a step of these scenes (the offer, the answer, the
consult request itself) takes that step in the open instead."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from controlplane.adapters.ari import AriClient
from tests.support.asterisk import bridges_gone, channels_of_bridge
from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.desktop import Desktop, Event
from tests.support.phones import Phone, PhoneFactory


@dataclass
class Call:
    """A customer connected to an agent (agent 1 of a consult)."""

    ix_id: str
    customer: Phone
    phone: Phone  # the agent's
    desktop: Desktop  # the agent's
    customer_leg: str
    agent_leg: str  # <interaction>-a<n>
    connected: dict[str, Any]  # the interaction.connected event's data
    connected_at: float  # time.monotonic() when the agent's desktop saw it

    @property
    def legs(self) -> list[str]:
        """The customer's and the agent's channel."""
        return [self.customer_leg, self.agent_leg]


@dataclass
class Consult:
    """A consult of agent 2 by agent 1 (answered: state `consulting`; or a
    conference of the three when built by `conference`)."""

    call: Call
    phone: Phone  # agent 2's
    desktop: Desktop  # agent 2's
    leg: str  # agent 2's channel: <interaction>-k<n>
    offer: Event  # interaction.consult_offered


async def connected_call(
    phones: PhoneFactory,
    ari: AriClient,
    desktop: Desktop,
    extension: str,
    *,
    number: str = SUPPORT,
    ani: str = CUSTOMER,
    answer_after_ms: int = 0,
) -> Call:
    """The desktop's agent logs in on `extension` and goes available; a
    customer (`ani`) dials `number`; the agent's phone answers and both
    phones are established."""
    phone = await phones.agent(extension, answer_after_ms=answer_after_ms)
    await desktop.login(extension)
    await desktop.available()
    customer = await phones.customer(ani)
    await customer.dial(number)
    connected = (await desktop.event("interaction.connected"))["data"]
    connected_at = time.monotonic()
    await customer.wait_for("established")
    await phone.wait_for("established")
    ix_id = str(connected["id"])
    members = await channels_of_bridge(ari, ix_id)
    agent_leg = next(c for c in members if c.startswith(f"{ix_id}-a"))
    customer_leg = ""
    for channel_id in members:
        if (await ari.channel(channel_id)).get("name", "").startswith("PJSIP/carrier-"):
            customer_leg = channel_id
    assert customer_leg, members
    return Call(ix_id, customer, phone, desktop, customer_leg, agent_leg, connected, connected_at)


async def call_gone(ari: AriClient, call: Call) -> bool:
    """True when Asterisk has neither the call's bridges nor its channels
    (a bridge can be gone while a channel's hang-up is still under way)."""
    if not await bridges_gone(ari, call.ix_id):
        return False
    return not {c["id"] for c in await ari.channels()} & set(call.legs)


async def available_agent(phones: PhoneFactory, desktop: Desktop, extension: str) -> Phone:
    """The desktop's agent logged in on `extension` and available, with a
    phone that rings until answered."""
    phone = await phones.agent(extension, answer_after_ms=None)
    await desktop.login(extension)
    await desktop.available()
    await desktop.state_event("available")
    return phone


async def request_consult(desktop: Desktop, ix_id: str, kind: str, target: str) -> Any:
    """POST the consult request; the answer's body."""
    return await desktop.call(
        "POST", f"/v1/interactions/{ix_id}/consult", {"kind": kind, "target": target}
    )


async def consulting(
    call: Call, phone2: Phone, desktop2: Desktop, agent2: str, *, answer: bool = True
) -> Consult:
    """Agent 1 consults agent 2, whose phone rings (and is answered)."""
    await request_consult(call.desktop, call.ix_id, "agent", agent2)
    offer = await desktop2.event("interaction.consult_offered")
    leg = str(offer["data"]["consult"]["channel"])
    await phone2.wait_for("incoming")
    if answer:
        await phone2.answer()
        await call.desktop.event("interaction.consult_connected")
        await phone2.wait_for("established")
    return Consult(call, phone2, desktop2, leg, offer)


async def three_parties(
    phones: PhoneFactory,
    ari: AriClient,
    agent1: Desktop,
    agent2: Desktop,
    *,
    extensions: tuple[str, str] = ("1001", "1002"),
    answer: bool = True,
) -> Consult:
    """The customer is connected to agent 1, who consults agent 2 (answered)."""
    call = await connected_call(phones, ari, agent1, extensions[0])
    phone2 = await available_agent(phones, agent2, extensions[1])
    assert agent2.agent is not None
    return await consulting(call, phone2, agent2, agent2.agent, answer=answer)


async def conference(
    phones: PhoneFactory,
    ari: AriClient,
    agent1: Desktop,
    agent2: Desktop,
    *,
    extensions: tuple[str, str] = ("1001", "1002"),
) -> Consult:
    """Three parties, and agent 1 has started the conference (agent 2's
    desktop has seen it start)."""
    c = await three_parties(phones, ari, agent1, agent2, extensions=extensions)
    await agent1.call("POST", f"/v1/interactions/{c.call.ix_id}/conference")
    await agent2.event("interaction.conference_started")
    return c
