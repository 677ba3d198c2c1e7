"""The state a refused request must not change: everything the control plane
keeps in Redis, and the channels and bridges Asterisk has."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import aiohttp
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient

# Not state: the audit trail records refusals too; the event-stream lease and
# the slot leases' expiry times are renewed as time passes.
_SKIP = (":audit:", ":owner:")


async def redis_state(url: str, prefix: str) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    out: dict[str, Any] = {}
    try:
        async for key in client.scan_iter(f"{prefix}*"):
            if any(s in key for s in _SKIP):
                continue
            kind = await client.type(key)
            value: Any
            if kind == "hash":
                value = await client.hgetall(key)
            elif kind == "zset":
                raw = await client.zrange(key, 0, -1, withscores=True)
                pairs = cast(list[tuple[str, float]], raw)
                slots = ":slots:" in key
                value = sorted(str(m) if slots else (str(m), s) for m, s in pairs)
            elif kind == "set":
                value = sorted(await client.smembers(key))
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            elif kind == "stream":
                value = await client.xrange(key)
            else:
                value = await client.get(key)
            out[key] = value
    finally:
        await client.aclose()
    return out


async def asterisk_state(ari: AriClient) -> dict[str, Any]:
    channels = sorted(c["id"] for c in await ari.channels())
    bridges = sorted((b["id"], tuple(sorted(b.get("channels", [])))) for b in await ari.bridges())
    return {"channels": channels, "bridges": bridges}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Keys whose values differ (for an assertion message)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


async def warm_up_reads(
    base_url: str,
    routes: Iterable[tuple[str, str]],
    tokens: Iterable[str],
    path: Callable[[str], str],
) -> None:
    """Send every GET route once with each token, before a 'before' snapshot:
    what a read may load lazily (configuration cached in Redis on first use)
    is then there already, and anything that changes afterwards is a change."""
    async with aiohttp.ClientSession() as http:
        for method, template in routes:
            if method != "GET":
                continue
            for token in tokens:
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{base_url}{path(template)}", headers=headers) as resp:
                    await resp.read()
