"""Monitor, whisper and barge (SUP-5) with real phones and real audio.

Three phones: the customer (a 620 Hz tone), the agent (440 Hz) and the
supervisor (on extension 1009, 880 Hz). Audio paths are proven one talker
at a time: everybody else muted, each listener either hears the talker's
tone or hears nothing (every level report for two seconds below -50 dBov).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import devstack
from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack, app_owned
from tests.support.asterisk import wait_until
from tests.support.constants import CUSTOMER, SUPERVISOR_EXTENSION, SUPPORT, VIP
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration

HEARD = -40.0  # dBov: the tones are about -10 dBov
SILENT = -50.0  # a muted phone gives about -84 dBov


async def given_connected_call(
    phones: PhoneFactory, alice: Desktop, extension: str = "1001", number: str = SUPPORT
) -> tuple[Phone, Phone, str]:
    agent = await phones.agent(extension, answer_after_ms=0, tone_hz=440)
    await alice.login(extension)
    await alice.available()
    customer = await phones.customer(CUSTOMER, tone_hz=620)
    await customer.dial(number)
    ix_id = (await alice.event("interaction.connected"))["data"]["id"]
    await customer.wait_for("established")
    await agent.wait_for("established")
    return agent, customer, ix_id


async def hears_nothing(phone: Phone, seconds: float = 2.0) -> None:
    """Every level the phone reports for `seconds` is below SILENT (or it
    gets no RTP at all)."""
    await asyncio.sleep(1.0)  # levels of before the change are not counted
    call = phone.current_call
    assert call is not None
    start = time.monotonic()
    seen: list[float | None] = []
    last_at = call.rx_level_at
    while time.monotonic() - start < seconds:
        await asyncio.sleep(0.1)
        if call.rx_level_at != last_at:
            last_at = call.rx_level_at
            seen.append(call.rx_level_dbov)
    loud = [lvl for lvl in seen if lvl is not None and lvl > SILENT]
    assert not loud, f"{phone.name} heard {loud} (levels {seen})"


async def talk(talker: Phone, everyone: list[Phone]) -> None:
    """Only `talker` sends its tone; everybody else is muted."""
    for phone in everyone:
        await phone.set_muted(phone is not talker)


async def check(
    talker: Phone, everyone: list[Phone], hear: list[Phone], not_hear: list[Phone]
) -> None:
    await talk(talker, everyone)
    await asyncio.sleep(1.0)  # levels reported from now on are of this talker only
    for phone in hear:
        level = await phone.wait_for_audio(HEARD, timeout=6.0)
        assert level >= HEARD, (talker.name, phone.name, level)
    for phone in not_hear:
        await hears_nothing(phone)


def not_stopped(desktop: Desktop) -> Callable[[dict[str, Any]], bool]:
    """Fails at once, naming the reason, when the supervision stopped instead."""

    def check(_event: dict[str, Any]) -> bool:
        for e in desktop.events:
            if e["type"] == "interaction.supervision_stopped":
                raise AssertionError(f"the supervision stopped: {e['data']}")
        return True

    return check


async def supervision_gone(ari: AriClient, ix_id: str) -> bool:
    channels = {c["id"] for c in await ari.channels()}
    bridges = {b["id"] for b in await ari.bridges()}
    ours = {c for c in channels if c.startswith(f"{ix_id}-s") or c.startswith(f"{ix_id}-p")}
    return not ours and not {b for b in bridges if b.endswith("-bridge")}


async def audit(sup: Desktop, action: str) -> list[dict[str, Any]]:
    records = (await sup.call("GET", "/v1/audit?limit=200"))["records"]
    return [r for r in records if r["action"] == action]


@pytest.mark.spec("SUP-5", "IN-2")
@pytest.mark.parametrize(
    "agent1",
    [
        # alice's profile records: the recorder is in the bridge from the start
        pytest.param(("alice", "1001", SUPPORT), id="recorded"),
        # carol's records nothing: the two phones' bridge relays natively until
        # the supervisor's snoop, before which both move to a shared bridge
        pytest.param(("carol", "1003", VIP), id="not-recorded"),
    ],
)
async def test_given_connected_call_when_supervisor_monitors_whispers_and_barges_then_audio_follows_the_mode(  # noqa: E501
    stack: Stack, ari: AriClient, phones: PhoneFactory, agent1: tuple[str, str, str]
) -> None:
    name, extension, number = agent1
    async with (
        Desktop(stack.url, f"demo-{name}-token", name) as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
    ):
        agent, customer, ix_id = await given_connected_call(phones, alice, extension, number)
        supervisor = await phones.agent(
            SUPERVISOR_EXTENSION, answer_after_ms=0, tone_hz=880, name="supervisor"
        )
        everyone = [customer, agent, supervisor]
        path = f"/v1/interactions/{ix_id}/supervision"

        started = await sup.call(
            "POST", path, {"mode": "monitor", "extension": SUPERVISOR_EXTENSION}, expect=201
        )
        assert started["mode"] == "monitor" and started["state"] == "ringing"
        await supervisor.wait_for("established")
        event = (await sup.event("interaction.supervision_started", where=not_stopped(sup)))["data"]
        assert event["interaction"] == ix_id and event["mode"] == "monitor"
        assert (await sup.call("GET", path))["state"] == "active"
        leg_call = supervisor.current_call
        assert leg_call is not None

        # monitor: the supervisor hears both; nobody hears the supervisor
        await check(customer, everyone, hear=[supervisor, agent], not_hear=[])
        await check(agent, everyone, hear=[supervisor, customer], not_hear=[])
        await check(supervisor, everyone, hear=[], not_hear=[agent, customer])

        # whisper: the agent hears the supervisor, the customer does not
        switched = await sup.call("PUT", path, {"mode": "whisper"})
        assert switched["mode"] == "whisper"
        await sup.event("interaction.supervision_switched")
        await check(supervisor, everyone, hear=[agent], not_hear=[customer])
        await check(customer, everyone, hear=[supervisor, agent], not_hear=[])
        await check(agent, everyone, hear=[supervisor, customer], not_hear=[])

        # barge: everybody hears everybody
        await sup.call("PUT", path, {"mode": "barge"})
        await check(supervisor, everyone, hear=[agent, customer], not_hear=[])
        await check(customer, everyone, hear=[supervisor, agent], not_hear=[])
        await check(agent, everyone, hear=[supervisor, customer], not_hear=[])

        # and back to monitor: silent again
        await sup.call("PUT", path, {"mode": "monitor"})
        await check(supervisor, everyone, hear=[], not_hear=[agent, customer])

        # the supervisor's leg stayed up through every switch
        assert supervisor.current_call is leg_call and leg_call.active
        # switching to the mode it is in is refused by the rule
        with pytest.raises(ApiError) as same:
            await sup.call("PUT", path, {"mode": "monitor"})
        assert same.value.status == 409 and same.value.body["details"]["rule"] == "SUP-5"

        # stop: the supervisor's leg, the snoop and their bridge go; the call goes on
        stopped = await sup.call("DELETE", path)
        assert stopped["state"] == "stopped"
        await supervisor.wait_for("closed")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        stop_event = (await sup.event("interaction.supervision_stopped"))["data"]
        assert stop_event["reason"] == "stopped"
        await check(customer, [customer, agent], hear=[agent], not_hear=[])
        await check(agent, [customer, agent], hear=[customer], not_hear=[])
        with pytest.raises(ApiError) as none:
            await sup.call("GET", path)
        assert none.value.status == 404

        # every start, switch and stop is audited, naming the supervisor
        for action, count in (
            ("interaction.supervision_requested", 1),
            ("interaction.supervision_started", 1),
            ("interaction.supervision_switched", 3),
            ("interaction.supervision_stopped", 1),
            ("POST /v1/interactions/{ix_id}/supervision", 1),
        ):
            found = await audit(sup, action)
            assert len(found) == count, (action, found)
            assert all(r["actor"].startswith("supervisor:") for r in found), found
        modes = [r["details"]["mode"] for r in await audit(sup, "interaction.supervision_switched")]
        assert modes == ["monitor", "barge", "whisper"]  # (newest first)

        await customer.hangup()
        await alice.event("interaction.ended")
        await agent.wait_for("closed")


@pytest.mark.spec("SUP-5")
async def test_given_supervision_when_supervisor_hangs_up_or_call_ends_then_nothing_is_left(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
    ):
        agent, customer, ix_id = await given_connected_call(phones, alice)
        supervisor = await phones.agent(SUPERVISOR_EXTENSION, answer_after_ms=0, name="supervisor")
        path = f"/v1/interactions/{ix_id}/supervision"
        body = {"mode": "whisper", "extension": SUPERVISOR_EXTENSION}

        # the supervisor hangs up: the session ends, the call goes on
        await sup.call("POST", path, body, expect=201)
        await sup.event("interaction.supervision_started")
        await supervisor.wait_for("established")
        await supervisor.hangup()
        await supervisor.wait_for("closed")
        gone = (await sup.event("interaction.supervision_stopped"))["data"]
        assert gone["reason"] == "supervisor_hangup"
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        assert (await alice.call("GET", f"/v1/interactions/{ix_id}"))["status"] == "connected"
        await check(customer, [customer, agent], hear=[agent], not_hear=[])

        # a second supervision; then the call ends: everything of it goes
        await sup.call("POST", path, {**body, "mode": "barge"}, expect=201)
        await sup.event("interaction.supervision_started")
        await supervisor.wait_for("established")
        await customer.set_muted(False)
        await customer.hangup()
        ended = (await sup.event("interaction.supervision_stopped"))["data"]
        assert ended["reason"] == "interaction_ended"
        await supervisor.wait_for("closed")
        await agent.wait_for("closed")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("SUP-5")
async def test_given_a_call_when_supervision_is_not_allowed_then_refused_and_nothing_rings(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
        Desktop(stack.url, "demo-globex-supervisor-token") as globex,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        agent, customer, ix_id = await given_connected_call(phones, alice)
        path = f"/v1/interactions/{ix_id}/supervision"
        body = {"mode": "monitor", "extension": SUPERVISOR_EXTENSION}
        # another tenant's supervisor: the call is unknown
        with pytest.raises(ApiError) as other:
            await globex.call("POST", path, body, expect=201)
        assert other.value.status == 404
        # an agent or an admin: not a supervisor
        for who in (alice, admin):
            with pytest.raises(ApiError) as refused:
                await who.call("POST", path, body, expect=201)
            assert refused.value.status == 403
        # the supervisor's phone is not registered: refused, nothing rings
        with pytest.raises(ApiError) as offline:
            await sup.call("POST", path, body, expect=201)
        assert offline.value.status == 409 and offline.value.body["details"]["rule"] == "SUP-5"
        # the agent's own phone, and bad input
        for bad in ({**body, "extension": "1001"}, {**body, "mode": "spy"}, {"mode": "monitor"}):
            with pytest.raises(ApiError) as wrong:
                await sup.call("POST", path, bad, expect=201)
            assert wrong.value.status == 400, wrong.value.body
        assert not [c for c in await ari.channels() if c["id"].startswith(f"{ix_id}-s")]
        await customer.hangup()
        await alice.event("interaction.ended")
        await agent.wait_for("closed")
        # an ended call cannot be supervised
        with pytest.raises(ApiError) as ended:
            await sup.call("POST", path, body, expect=201)
        assert ended.value.status == 409 and ended.value.body["details"]["rule"] == "SUP-5"
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("SUP-5")
async def test_given_supervision_when_the_owner_replica_dies_and_the_supervisor_hangs_up_unseen_then_reconciliation_cleans_up(  # noqa: E501
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(standby.url, "demo-alice-token", "alice") as alice,
        Desktop(standby.url, "demo-supervisor-token") as sup,
    ):
        agent, customer, ix_id = await given_connected_call(phones, alice)
        supervisor = await phones.agent(SUPERVISOR_EXTENSION, answer_after_ms=0, name="supervisor")
        path = f"/v1/interactions/{ix_id}/supervision"
        await sup.call(
            "POST", path, {"mode": "monitor", "extension": SUPERVISOR_EXTENSION}, expect=201
        )
        await supervisor.wait_for("established")
        await sup.event("interaction.supervision_started", where=not_stopped(sup))
        assert any(c["id"].startswith(f"{ix_id}-p") for c in await ari.channels())

        stack.service.kill()  # the owner of the event stream dies ...
        await supervisor.hangup()  # ... and misses the supervisor's hang-up
        await supervisor.wait_for("closed")
        await wait_until(lambda: app_owned(ari), timeout=10, what="a new owner")

        # the new owner's reconciliation ends the session: snoop and bridge go
        stopped = (await sup.event("interaction.supervision_stopped", timeout=15))["data"]
        assert stopped["reason"] == "lost"
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        with pytest.raises(ApiError) as none:
            await sup.call("GET", path)
        assert none.value.status == 404
        # the call goes on, and is still under control
        await check(customer, [customer, agent], hear=[agent], not_hear=[])
        await alice.end(ix_id)
        await customer.wait_for("closed")
        await agent.wait_for("closed")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
