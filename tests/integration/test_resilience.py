"""Resilience (REL-1): the replica that owns Asterisk's event stream dies
(SIGKILL); another replica takes over, reconciles from Redis and ARI, and the
calls go on."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp
import pytest
import redis.asyncio as aioredis

import devstack
from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.domain.interaction import now_ms
from tests.integration.conftest import Stack, app_owned
from tests.integration.test_ops import scrape, value
from tests.support.asterisk import AmiEvents, audio_flows, channels_of_bridge, wait_until
from tests.support.constants import SUPPORT
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call

pytestmark = pytest.mark.integration


@pytest.mark.spec("REL-1")
async def test_given_connected_call_when_owner_replica_is_killed_then_call_goes_on(
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(standby.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15550000601", answer_after_ms=100
        )
        ix_id, phone, customer = call.ix_id, call.phone, call.customer
        legs = sorted(await channels_of_bridge(ari, ix_id))

        stack.service.kill()  # the owner of the event stream dies
        await wait_until(lambda: app_owned(ari), timeout=10, what="a new owner")

        # The call's audio never depended on the control plane ...
        assert await audio_flows(ari, legs)
        # ... and the surviving replica still controls it.
        held = await alice.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert held["held"] is True
        await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert await audio_flows(ari, legs)
        await alice.end(ix_id)
        await customer.wait_for("closed")
        await phone.wait_for("closed")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")


@pytest.mark.spec("REL-1")
async def test_given_held_call_when_owner_replica_is_killed_then_it_can_be_resumed(
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(standby.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15550000606", answer_after_ms=100
        )
        ix_id, customer = call.ix_id, call.customer
        legs = sorted(await channels_of_bridge(ari, ix_id))
        await alice.call("POST", f"/v1/interactions/{ix_id}/hold")

        stack.service.kill()
        await wait_until(lambda: app_owned(ari), timeout=10, what="a new owner")

        assert await customer.wait_for_audio()  # still hears the music
        held = await alice.call("GET", f"/v1/interactions/{ix_id}")
        assert held["held"] is True
        await alice.call("POST", f"/v1/interactions/{ix_id}/resume")
        assert sorted(await channels_of_bridge(ari, ix_id)) == legs
        assert await audio_flows(ari, legs)
        await alice.end(ix_id)
        await alice.state_event("wrap_up")


@pytest.mark.spec("REL-1")
async def test_given_ringing_offer_when_owner_replica_is_killed_then_offer_withdrawn_and_requeued(
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    async with Desktop(standby.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer("+15550000602")
        await customer.dial(SUPPORT)
        first = (await alice.event("interaction.offered"))["data"]
        await phone.wait_for("incoming")

        stack.service.kill()
        withdrawn = (await alice.event("interaction.offer_withdrawn", timeout=10))["data"]
        assert withdrawn["interaction_id"] == first["interaction_id"]
        assert withdrawn["reason"] == "service_takeover"
        await phone.wait_for("closed")
        back = await alice.event(
            "agent.state",
            lambda e: e["data"]["state"] == "available" and e["data"]["previous"] == "reserved",
        )
        assert back["data"]["reason"] == "offer_withdrawn"

        # requeued and offered again by the surviving replica; now answered
        phone.answer_after_ms = 100
        again = (await alice.event("interaction.offered"))["data"]
        assert again["interaction_id"] == first["interaction_id"]
        await alice.event("interaction.connected")
        await customer.hangup()
        await alice.event("interaction.ended")


async def _health(stack: Stack) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.url}/health") as resp:
        body = await resp.json()
        return dict(body["checks"])


async def _healthy(stack: Stack) -> bool:
    try:
        checks = await _health(stack)
    except aiohttp.ClientError:
        return False
    return set(checks.values()) == {"ok"}


@pytest.mark.spec("REL-2")
async def test_given_connected_call_when_asterisk_crashes_and_restarts_then_state_cleaned(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15550000603", answer_after_ms=100
        )
        ix_id = call.ix_id

        stack.asterisk.kill()  # a crash: no hang-up events for anyone
        stack.asterisk.start()  # every call that was on it is gone

        ended = (await alice.event("interaction.ended", timeout=20))["data"]
        assert ended["id"] == ix_id and ended["end_cause"] == "lost"
        await alice.state_event("wrap_up")  # the agent is freed, to wrap up
        await wait_until(lambda: _healthy(stack), timeout=20, what="ARI and AMI reconnected")
        assert await _slots(stack) == 0
        await alice.wrap_up(ix_id, "resolved")
        await alice.state_event("available")


@pytest.mark.spec("REL-2")
async def test_given_redis_restart_then_admissions_refused_meanwhile_and_calls_survive(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15550000604", answer_after_ms=100
        )
        ix_id = call.ix_id
        legs = sorted(await channels_of_bridge(ari, ix_id))

        stack.redis.stop()
        try:
            assert (await _health(stack))["redis"] != "ok"
            with pytest.raises(ApiError) as refused:
                await alice.me()
            assert refused.value.status == 503
            # a new customer is refused rather than admitted without a count
            late = await phones.customer("+15550000605")
            await late.dial(SUPPORT)
            closed = await late.wait_for("closed", timeout=20)
            assert closed.ended_by_peer or (closed.status_code or 0) >= 500
        finally:
            devstack.RedisRunner(stack.redis.run_dir, port=stack.redis.port).start()

        await wait_until(lambda: _healthy(stack), timeout=20, what="Redis reconnected")
        # the state came back with Redis, and the call went on throughout
        assert (await alice.me())["state"] == "connected"
        assert await audio_flows(ari, legs)
        await alice.end(ix_id)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        assert await _slots(stack) == 0


async def _slots(stack: Stack) -> int:
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        return await store.slots_used(None, now_ms())
    finally:
        await store.close()


def _cut_connections(pid: int, port: int) -> int:
    """Abort the process's TCP connections to `port` on loopback, as a network
    failure would (the kernel resets them; the process sees an error)."""
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established", "dport", "=", f":{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cut = 0
    for line in listing.splitlines():
        if f"pid={pid}," not in line:
            continue
        local_port = line.split()[2].rsplit(":", 1)[1]
        subprocess.run(
            ["ss", "-K", "state", "established", "sport", "=", f":{local_port}"],
            capture_output=True,
            check=True,
        )
        cut += 1
    return cut


async def _losses(stack: Stack, connection: str) -> float:
    return value(await scrape(stack.url), "cp_connection_losses_total", connection=connection)


@pytest.mark.spec("REL-2")
async def test_given_connected_call_when_ari_and_ami_connections_drop_then_state_cleaned(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15550000606", answer_after_ms=100
        )
        ix_id = call.ix_id
        customer_leg = next(
            c for c in await channels_of_bridge(ari, ix_id) if not c.startswith(f"{ix_id}-a")
        )
        before = {c: await _losses(stack, c) for c in ("ari", "ami")}
        pid = stack.service.pid
        assert pid is not None

        assert _cut_connections(pid, devstack.ARI_PORT) >= 1  # the event stream (and the pool)
        assert _cut_connections(pid, devstack.AMI_PORT) == 1
        # While the service is away, the customer's leg goes: nobody hears of it.
        await ari.request("DELETE", f"/channels/{customer_leg}")

        # Reconnected, the service finds the call gone and frees the agent.
        ended = (await alice.event("interaction.ended", timeout=10))["data"]
        assert ended["id"] == ix_id
        assert ended["end_cause"] == "lost"  # found on reconnection, not seen as a hang-up
        await alice.state_event("wrap_up")
        await wait_until(lambda: _healthy(stack), timeout=10, what="ARI and AMI reconnected")
        for connection, count in before.items():
            assert await _losses(stack, connection) == count + 1, connection
        assert await _slots(stack) == 0
        await alice.wrap_up(ix_id, "resolved")
        await alice.state_event("available")


async def _device_state_settled(
    events: AmiEvents, device: str, state: str, quiet: float = 0.5, timeout: float = 10.0
) -> None:
    """Waits until ``device`` is in ``state`` and no change of it has come for ``quiet`` s."""

    def changes() -> list[dict[str, str]]:
        return [
            e
            for e in events.events
            if e.get("Event") == "DeviceStateChange" and e.get("Device") == device
        ]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen, since = len(changes()), loop.time()
    while True:
        now = loop.time()
        current = changes()
        if len(current) != seen:
            seen, since = len(current), now
        if (not current or current[-1].get("State") == state) and now - since >= quiet:
            return
        if now > deadline:
            raise AssertionError(f"{device} did not settle in {state}: {current[-3:]}")
        await asyncio.sleep(0.05)


@pytest.mark.spec("REL-2", "ST-4")
async def test_given_phone_state_missed_when_ami_reconnects_then_device_states_resynced(
    stack: Stack, ari: AriClient, phones: PhoneFactory, ami_events: AmiEvents
) -> None:
    await phones.agent("1002", answer_after_ms=None)
    async with (
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        await bob.login("1002")
        await bob.available()
        await bob.state_event("available")
        # The phone's own state changes (registration) reach the service first:
        # a late one would undo the missed event faked below.
        await _device_state_settled(ami_events, "PJSIP/1002", "NOT_INUSE")
        # As if the AMI event that bob's phone went on-hook had been missed.
        store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
        try:
            await store.set_device_busy("1002", True)
        finally:
            await store.close()
        customer = await phones.customer("+15550000607")
        await customer.dial(SUPPORT)
        await supervisor.event("interaction.queued")
        with pytest.raises(AssertionError):
            await bob.event("interaction.offered", timeout=1.0)  # ST-4: "busy" phone

        before = await _losses(stack, "ami")
        pid = stack.service.pid
        assert pid is not None
        assert _cut_connections(pid, devstack.AMI_PORT) == 1
        # Logged in again, the service reads every phone's state afresh.
        offer = (await bob.event("interaction.offered", timeout=10))["data"]
        await customer.hangup()
        await bob.event("interaction.ended", lambda e: e["data"]["id"] == offer["interaction_id"])
        assert await _losses(stack, "ami") == before + 1
