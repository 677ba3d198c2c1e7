"""Round trips to Redis on the call path: a batch of event writes goes in one
round trip, without asking Redis first whether it knows the batch's Lua
scripts (a registered script on a pipeline makes redis-py send SCRIPT EXISTS
before every batch)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import connected_call, of
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess


async def _script_calls(client: aioredis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {
        name: int(value["calls"])
        for name, value in stats.items()
        if name.startswith("cmdstat_script") or name.startswith("cmdstat_eval")
    }


@pytest.mark.spec("SUP-6")
async def test_a_call_counted_and_kept_asks_redis_for_no_script(service: Service) -> None:
    client = aioredis.Redis.from_url(service.config.service.redis_url, decode_responses=True)
    try:
        await client.config_resetstat()
        async with Desktop(service.url, "demo-alice-token", "alice") as alice:
            call = await connected_call(service, alice, "1001")
            await alice.end(call.ix_id)
            await alice.event("interaction.ended", of(call.ix_id))
            await alice.wrap_up(call.ix_id, "resolved")
            await alice.state_event("available")
        calls = await _script_calls(client)
        # The events were counted and the record kept (SUP-6) ...
        assert calls.get("cmdstat_eval", 0) + calls.get("cmdstat_evalsha", 0) > 0, calls
        # ... without a round trip to ask Redis for its scripts.
        assert "cmdstat_script|exists" not in calls, calls
    finally:
        await client.aclose()
