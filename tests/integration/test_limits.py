"""Concurrent-call limits (LIM-1..LIM-3) against the real Redis."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.store import Store
from controlplane.domain.interaction import now_ms
from tests.integration.conftest import Stack
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


def _attempts(url: str, worker: int, count: int, limits: tuple[int, int]) -> list[int]:
    """One process firing `count` simultaneous admissions; their outcomes."""

    async def run() -> list[int]:
        store = Store(aioredis.Redis.from_url(url, decode_responses=True), "dc1")
        try:
            return list(
                await asyncio.gather(
                    *(
                        store.admit(
                            f"call-{worker}-{i}",
                            "acme" if i % 2 else "beta",
                            dc_limit=limits[0],
                            tenant_limit=limits[1],
                            now=now_ms(),
                            lease_ms=30_000,
                        )
                        for i in range(count)
                    )
                )
            )
        finally:
            await store.close()

    return asyncio.run(run())


@pytest.mark.spec("LIM-3", "LIM-1", "LIM-2")
@pytest.mark.parametrize(
    ("dc_limit", "tenant_limit", "admitted", "refused_with"),
    [(12, 1000, 12, 26), (1000, 5, 10, 27)],
    ids=["datacenter-bound", "tenant-bound"],
)
def test_given_simultaneous_attempts_from_three_processes_then_exactly_the_limit_is_admitted(
    stack: Stack, dc_limit: int, tenant_limit: int, admitted: int, refused_with: int
) -> None:
    # 120 attempts, half for tenant 'acme' and half for 'beta'
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(
            _attempts, [(stack.redis.url, w, 40, (dc_limit, tenant_limit)) for w in range(3)]
        )
    outcomes = Counter(code for result in results for code in result)
    assert outcomes == {0: admitted, refused_with: 120 - admitted}


@pytest.mark.spec("LIM-3")
async def test_given_a_slot_whose_owner_stopped_renewing_then_it_is_reclaimed(
    stack: Stack,
) -> None:
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    try:
        now = now_ms()
        assert (
            await store.admit("dead", "acme", dc_limit=1, tenant_limit=1, now=now, lease_ms=200)
            == 0
        )
        assert (
            await store.admit("next", "acme", dc_limit=1, tenant_limit=1, now=now, lease_ms=200)
            == 26
        )
        # the owner died: nobody renews; once the lease has run out the slot is free
        later = now + 201
        assert (
            await store.admit("next", "acme", dc_limit=1, tenant_limit=1, now=later, lease_ms=200)
            == 0
        )
        assert await store.slots_used(None, later) == 1
        await store.release("next", "acme")
        assert await store.slots_used("acme", later) == 0
    finally:
        await store.close()


async def _fill(stack: Stack, tenant: str, count: int) -> Store:
    """Slots held by calls elsewhere (another replica's, another tenant's)."""
    store = Store(aioredis.Redis.from_url(stack.redis.url, decode_responses=True), "dc1")
    for i in range(count):
        code = await store.admit(
            f"elsewhere-{tenant}-{i}",
            tenant,
            dc_limit=10_000,
            tenant_limit=10_000,
            now=now_ms(),
            lease_ms=60_000,
        )
        assert code == 0
    return store


@pytest.mark.spec("LIM-2", "LIM-1")
@pytest.mark.parametrize(
    ("tenant", "count", "code"),
    [("acme", 20, 27), ("other", 50, 26)],
    ids=["tenant-full", "datacenter-full"],
)
async def test_given_a_full_limit_when_a_customer_calls_then_refused_at_the_entry_point(
    stack: Stack, phones: PhoneFactory, tenant: str, count: int, code: int
) -> None:
    # demo limits: tenant acme 20, datacenter dc1 50
    store = await _fill(stack, tenant, count)
    try:
        async with Desktop(stack.url, "demo-supervisor-token") as supervisor:
            customer = await phones.customer("+15550000501")
            await customer.dial("8005550100")
            refused = (await supervisor.event("interaction.refused"))["data"]
            assert refused["code"] == code and refused["rule"] == "LIM-2"
            assert refused["text"]
            closed = await customer.wait_for("closed")
            assert closed.status_code is not None and closed.status_code >= 500
            with pytest.raises(AssertionError):
                await supervisor.event("interaction.queued", timeout=0.5)

            # a slot frees: the next call is admitted and queued
            await store.release(f"elsewhere-{tenant}-0", tenant)
            again = await phones.customer("+15550000502")
            await again.dial("8005550100")
            queued = (await supervisor.event("interaction.queued"))["data"]
            assert queued["ani"] == "+15550000502"
            assert await store.slots_used("acme", now_ms()) == (20 if tenant == "acme" else 1)
            await again.hangup()
            ended = (await supervisor.event("interaction.ended"))["data"]
            assert ended["id"] == queued["id"]
            await _wait_slots(store, "acme", 19 if tenant == "acme" else 0)
    finally:
        await store.close()


async def _wait_slots(store: Store, tenant: str, expected: int) -> None:
    for _ in range(50):
        if await store.slots_used(tenant, now_ms()) == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{tenant} holds {await store.slots_used(tenant, now_ms())} slots")
