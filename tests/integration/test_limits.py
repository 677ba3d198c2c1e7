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
