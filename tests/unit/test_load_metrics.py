"""The load metrics: how late the event loop runs, and how much work waits."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import generate_latest

from controlplane import metrics


def _lag_count_over(seconds: float) -> float:
    total = 0.0
    for sample in metrics.REGISTRY.collect():
        if sample.name != "cp_event_loop_lag_seconds":
            continue
        for s in sample.samples:
            if s.name.endswith("_bucket") and s.labels["le"] == "+Inf":
                total += s.value
            elif s.name.endswith("_bucket") and float(s.labels["le"]) == seconds:
                total -= s.value
    return total


def _block(seconds: float) -> None:
    time.sleep(seconds)


async def test_a_blocked_event_loop_is_measured() -> None:
    before = _lag_count_over(0.25)
    watcher = asyncio.create_task(metrics.watch_loop_lag())
    try:
        await asyncio.sleep(0.05)
        _block(0.6)  # the loop is blocked, as a busy CPU or a sync call would
        await asyncio.sleep(metrics.LOOP_LAG_INTERVAL * 2)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert _lag_count_over(0.25) - before >= 1


def test_work_gauges_read_their_figures_at_scrape_time() -> None:
    figures = {"jobs": 3, "teardowns": 1}
    metrics.watch_work(lambda: figures["jobs"], lambda: figures["teardowns"])
    figures["jobs"] = 7
    text = generate_latest(metrics.REGISTRY).decode()
    assert "\ncp_jobs_pending 7.0\n" in text
    assert "\ncp_ari_teardowns_pending 1.0\n" in text
