"""Shutting the background work down: the loops stop first, so that no new
work starts; work in progress (a job half done) finishes; only what
outlasts the grace time is cancelled."""

from __future__ import annotations

import asyncio

from controlplane.tasks import KeyedSerializer, TaskGroup


async def test_work_in_progress_finishes_and_loops_stop_first() -> None:
    tasks = TaskGroup()
    serial = KeyedSerializer(tasks)
    done: list[str] = []
    loop_running = asyncio.Event()

    async def ticking() -> None:
        loop_running.set()
        while True:  # a loop that would submit more work
            await asyncio.sleep(0.01)
            serial.submit("ix-loop", lambda: _note(done, "from the loop"))

    async def step(name: str) -> None:
        await asyncio.sleep(0.2)  # e.g. a Redis write, then an ARI hang-up
        done.append(name)

    tasks.spawn("ticking", ticking(), loop=True)
    await loop_running.wait()
    serial.submit("ix1", lambda: step("ix1 first"))
    serial.submit("ix1", lambda: step("ix1 second"))  # queued behind the first
    serial.submit("ix2", lambda: step("ix2"))
    await asyncio.sleep(0.05)  # all three started or queued
    done.clear()
    await tasks.close(timeout=2.0)
    assert sorted(d for d in done if d != "from the loop") == ["ix1 first", "ix1 second", "ix2"]
    assert tasks.working == 0


async def _note(done: list[str], what: str) -> None:
    done.append(what)


async def test_work_that_outlasts_the_grace_time_is_cancelled() -> None:
    tasks = TaskGroup()
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tasks.spawn("stuck", stuck())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await tasks.close(timeout=0.3)
    assert cancelled.is_set()
    assert loop.time() - started < 2.0
    assert tasks.working == 0
