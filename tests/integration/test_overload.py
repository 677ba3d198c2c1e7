"""Overload, on the real stack: while the service lags, new customer calls
are refused cleanly at the entry point, and calls taken before go on.

The lag is real: the test configuration (and only it) names
`overload.debug_lag_file`; while that file holds a number of seconds, the
service blocks its own event loop that long four times a second, and its
loop-lag sampler measures it like any other lag. With the default thresholds
(refuse above 0.2 s of mean loop lag, admit again below 0.05 s):

- a call connected before keeps its bridge and its audio both ways;
- a new call hears the busy path of the entry-point dialplan and ends with
  SIP 503 on the customer's phone, is counted in
  `cp_calls_refused_overload_total`, and leaves nothing behind: no
  interaction, no queue entry, no slot (LIM-2: refused at the entry point
  without reaching a queue), no channel, no agent reserved (REL-2);
- a lag between the two thresholds keeps refusing (hysteresis), and once it
  is gone new calls are admitted, queued and offered again.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.domain.interaction import now_ms
from tests.integration.conftest import OVERLOAD_LAG_FILE, Stack
from tests.integration.test_ops import scrape, value
from tests.support.asterisk import audio_flows, channels_of_bridge, wait_until
from tests.support.constants import SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration

LAG_SECONDS = 0.4  # well above the default 0.2 s
IN_BAND_LAG_SECONDS = 0.1  # between admit_below (0.05 s) and refuse_above (0.2 s)


async def _refusing() -> float:
    return value(await scrape(), "cp_overload_refusing")


async def _refusing_is(expected: float) -> bool:
    return await _refusing() == expected


async def _refused(tenant: str) -> float:
    return value(await scrape(), "cp_calls_refused_overload_total", tenant=tenant)


def _lag(seconds: float) -> None:
    OVERLOAD_LAG_FILE.write_text(f"{seconds}\n")


async def _refused_call(phones: PhoneFactory, ani: str) -> Phone:
    """A customer calls while the service is overloaded: the busy path, then 503."""
    customer = await phones.customer(ani)
    await customer.dial(SUPPORT)
    closed = await customer.wait_for("closed", timeout=20)
    assert closed.ended_by_peer and closed.status_code == 503, closed.reason
    return customer


@pytest.mark.spec("LIM-2", "LIM-3", "REL-2")
async def test_given_overload_then_new_calls_refused_cleanly_and_admitted_calls_go_on(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    alice_phone = await phones.agent("1001", answer_after_ms=200)
    try:
        async with (
            Desktop(stack.url, "demo-supervisor-token") as supervisor,
            Desktop(stack.url, "demo-alice-token", "alice") as alice,
        ):
            await alice.login("1001")
            await alice.available()
            await alice.state_event("available")

            # A call taken before the overload: connected, audio both ways.
            first = await phones.customer("+15550000601")
            await first.dial(SUPPORT)
            offer = (await alice.event("interaction.offered"))["data"]
            ix_id = offer["interaction_id"]
            await alice.event("interaction.connected")
            await first.wait_for("established")
            bridged = sorted(await channels_of_bridge(ari, ix_id))
            assert len(bridged) == 2
            refused_before = await _refused("acme")

            # The service lags: admission stops.
            _lag(LAG_SECONDS)
            await wait_until(
                lambda: _refusing_is(1.0), timeout=10, what="the service refusing new calls"
            )
            started = time.monotonic()
            await _refused_call(phones, "+15550000602")
            # the busy announcement played as early media before the 503
            assert time.monotonic() - started > 1.0

            # Counted, and nothing written or left for the refused call.
            assert await _refused("acme") == refused_before + 1
            assert sorted(c["id"] for c in await ari.channels()) == bridged
            assert await store.slots_used("acme", now_ms()) == 1
            with pytest.raises(AssertionError):
                await supervisor.event(
                    "interaction.queued",
                    lambda e: e["data"]["ani"] == "+15550000602",
                    timeout=0.5,
                )
            assert await store.active_interactions() == [ix_id]

            # The call taken before goes on, bridged, audio both ways.
            assert sorted(await channels_of_bridge(ari, ix_id)) == bridged
            assert await audio_flows(ari, bridged)
            call = await alice.call("GET", f"/v1/interactions/{ix_id}")
            assert call["status"] == "connected"

            # Hysteresis: a lag between the thresholds keeps refusing ...
            _lag(IN_BAND_LAG_SECONDS)
            await asyncio.sleep(2.5)  # more than two windows of in-band samples
            assert await _refusing() == 1.0
            await _refused_call(phones, "+15550000603")
            assert await _refused("acme") == refused_before + 2

            # ... and once the lag is gone, new calls are admitted again.
            _lag(0)
            await wait_until(
                lambda: _refusing_is(0.0), timeout=10, what="the service admitting again"
            )
            again = await phones.customer("+15550000604")
            await again.dial(SUPPORT)
            queued = (
                await supervisor.event(
                    "interaction.queued", lambda e: e["data"]["ani"] == "+15550000604"
                )
            )["data"]
            assert await store.slots_used("acme", now_ms()) == 2
            await again.hangup()
            await supervisor.event("interaction.ended", lambda e: e["data"]["id"] == queued["id"])

            # The first call ends as usual and the agent wraps up.
            await first.hangup()
            await alice.event("interaction.ended")
            await alice_phone.wait_for("closed")
            await alice.state_event("wrap_up")
            await alice.wrap_up(ix_id, "resolved")
            await wait_until(lambda: _slots(store, 0), timeout=5, what="every slot released")
    finally:
        OVERLOAD_LAG_FILE.unlink(missing_ok=True)
        await store.close()


async def _slots(store: Store, expected: int) -> bool:
    return await store.slots_used("acme", now_ms()) == expected
