"""Resilience (REL-1): the replica that owns Asterisk's event stream dies
(SIGKILL); another replica takes over, reconciles from Redis and ARI, and the
calls go on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from controlplane import devstack
from controlplane.adapters.ari import AriClient
from tests.integration.conftest import RUN_DIR, SERVICE_PORT, Stack
from tests.support.asterisk import audio_flows, channels_of_bridge, wait_until
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration

SUPPORT = "8005550100"


@pytest.fixture
async def standby(stack: Stack) -> AsyncIterator[devstack.ServiceRunner]:
    """A second replica on the same Redis and Asterisk; afterwards the first
    replica is running again (restarted if a test killed it)."""
    port = SERVICE_PORT - 2
    config = RUN_DIR / "standby.toml"
    config.write_text((RUN_DIR / "test.toml").read_text().replace(f"{SERVICE_PORT}", f"{port}", 1))
    runner = devstack.ServiceRunner(config, RUN_DIR, port=port, stasis_app=None)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
        if not stack.service.is_running():
            stack.service.start()


async def _app_owned_again(ari: AriClient) -> bool:
    try:
        await ari.request("GET", "/applications/controlplane")
    except Exception:
        return False
    return True


@pytest.mark.spec("REL-1")
async def test_given_connected_call_when_owner_replica_is_killed_then_call_goes_on(
    stack: Stack, standby: devstack.ServiceRunner, ari: AriClient, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=100)
    async with Desktop(standby.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer("+15550000601")
        await customer.dial(SUPPORT)
        ix_id = (await alice.event("interaction.connected"))["data"]["id"]
        legs = sorted(await channels_of_bridge(ari, ix_id))

        stack.service.kill()  # the owner of the event stream dies
        await wait_until(lambda: _app_owned_again(ari), timeout=10, what="a new owner")

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
