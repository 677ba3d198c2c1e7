"""Background work: every task named, tracked and cancelled on shutdown, and
per-key serial execution so that everything about one interaction happens
in order while different interactions proceed concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class TaskGroup:
    """Named background tasks: the service's loops (`loop=True`: they run until
    cancelled) and the work they and the API start (jobs, hang-ups, ...).

    On close, the loops are cancelled first, so that no new work starts;
    the work in progress is then given time to finish, so that a step is
    not abandoned half-way (an agent reserved, a channel not hung up); what
    is still running after that is cancelled.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: set[asyncio.Task[Any]] = set()

    def spawn(
        self, name: str, coro: Coroutine[Any, Any, Any], *, loop: bool = False
    ) -> asyncio.Task[Any]:
        # A fresh context: background work acts on no API caller's behalf (audit).
        task = asyncio.create_task(coro, name=name, context=contextvars.Context())
        self._tasks.add(task)
        if loop:
            self._loops.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._loops.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def working(self) -> int:
        """Tasks of work (not loops) still running."""
        return len(self._tasks - self._loops)

    async def stop_loops(self, timeout: float = 5.0) -> None:
        """Cancel the loops and wait (up to `timeout`) until they have ended."""
        await _cancel(list(self._loops), timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Stop the loops, let the work in progress finish for up to
        `timeout` seconds (also work it starts meanwhile), then cancel the rest."""
        await self.stop_loops(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (work := self._tasks - self._loops) and loop.time() < deadline:
            await asyncio.wait(work, timeout=deadline - loop.time())
        if left := list(self._tasks):
            log.warning("%d tasks still running at shutdown; cancelling them", len(left))
            await _cancel(left, timeout)


async def _cancel(tasks: list[asyncio.Task[Any]], timeout: float) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=timeout)


class Beside:
    """Keyed work started beside a step, for a later step to wait for (the
    customer's answer, an interaction's bridge): each task returns whether
    its work succeeded. A task that succeeded is forgotten once done, since
    nothing need wait for it any more (the later step may come to another
    replica); one that failed is kept, so that whoever waits learns it."""

    def __init__(self, tasks: TaskGroup, name: str) -> None:
        self._tasks = tasks
        self._name = name
        self._running: dict[str, asyncio.Task[bool]] = {}

    def start(self, key: str, work: Coroutine[Any, Any, bool]) -> None:
        task: asyncio.Task[bool] = self._tasks.spawn(f"{self._name}:{key}", work)
        self._running[key] = task
        task.add_done_callback(lambda done: self._forget_succeeded(key, done))

    def _forget_succeeded(self, key: str, task: asyncio.Task[bool]) -> None:
        if (
            self._running.get(key) is task
            and not task.cancelled()
            and task.exception() is None
            and task.result() is True
        ):
            del self._running[key]

    async def outcome(self, key: str) -> bool | None:
        """Waits for the key's work: True when it succeeded, False when it
        failed or was cancelled, None when this replica started none (or it
        succeeded and was forgotten)."""
        task = self._running.pop(key, None)
        if task is None:
            return None
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                return False
            raise

    def forget(self, key: str) -> None:
        self._running.pop(key, None)


class KeyedSerializer:
    """Runs jobs one at a time per key, in submission order."""

    def __init__(self, tasks: TaskGroup) -> None:
        self._tasks = tasks
        # per key: the jobs not finished yet, each with its submission time
        self._queues: dict[str, deque[tuple[Job, float]]] = {}

    def submit(self, key: str, job: Job) -> None:
        entry = (job, time.monotonic())
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(entry)
            return
        self._queues[key] = deque([entry])
        self._tasks.spawn(f"serial:{key}", self._drain(key))

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue[0][0]
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job for %s failed", key)
                queue.popleft()
        finally:
            self._queues.pop(key, None)

    async def run(self, key: str, job: Callable[[], Awaitable[Any]]) -> Any:
        """Submit a job and wait for its result (for API actions)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        caller = contextvars.copy_context()  # the job acts for the caller (audit)

        async def wrapped() -> None:
            try:
                fut.set_result(await loop.create_task(_call(job), context=caller))
            except Exception as exc:
                fut.set_exception(exc)

        self.submit(key, wrapped)
        return await fut

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def oldest_age(self) -> float:
        """Seconds since the oldest job not finished yet was submitted (the
        age of the oldest unhandled event or action); 0 when there is none."""
        now = time.monotonic()
        return max((now - q[0][1] for q in self._queues.values() if q), default=0.0)


async def _call(job: Callable[[], Awaitable[Any]]) -> Any:
    return await job()
