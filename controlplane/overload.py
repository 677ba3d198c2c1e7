"""Admission under overload: a gate in front of the contact center that
refuses new customer calls at the entry point while the service lags.

It feeds the rule of `controlplane.domain.overload` with what the service
measures anyway: how late its event loop runs (the loop-lag sampler), how
old Asterisk's events are when they are read (their `timestamp`; Asterisk
and the service need synchronised clocks), how long ARI requests take
(waits and retries included), how many jobs wait or run in the
per-interaction serializers, and how long the oldest of them has (the age of
the oldest event or action not handled yet). Loop lag, event age and ARI
time are the mean over the configured window; the jobs are counted now.

A new customer call is a StasisStart of the entry-point dialplan
(`Stasis(<app>,inbound,<number>)`). While the rule refuses, that event does
not reach the contact center at all: nothing is written for the call (no
interaction, no slot, no queue entry, no agent reserved). The channel is sent
back to its dialplan at the label `overload` (dialplans/entrypoints.conf:
the busy announcement as early media, never answered, then cause 34, which
the caller sees as SIP 503); if that fails, it is hung up with cause 34
(tried until Asterisk confirms). Calls already taken, and every other event,
pass as always: admitted calls are never dropped by the gate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from controlplane import metrics
from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.config import Config, OverloadBand
from controlplane.domain.overload import ADMITTING, Admission, Band, Signal, Window, decide
from controlplane.tasks import TaskGroup

log = logging.getLogger(__name__)

OVERLOAD_LABEL = "overload"
# How often the test-only lag injection blocks the loop (as often as it is sampled).
DEBUG_LAG_INTERVAL = metrics.LOOP_LAG_INTERVAL


def _band(cfg: OverloadBand) -> Band:
    return Band(refuse_above=cfg.refuse_above, admit_below=cfg.admit_below)


def is_new_customer_call(event: Event) -> bool:
    """A customer called an entry point (the entry-point dialplan's StasisStart)."""
    if event.get("type") != "StasisStart":
        return False
    args = event.get("args") or []
    return len(args) >= 2 and str(args[0]) == "inbound"


def event_age(event: Event, now: float) -> float | None:
    """Seconds since Asterisk stamped the event (None without a readable stamp)."""
    stamp = event.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        at = datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None
    return max(0.0, now - at)


class AdmissionGate:
    def __init__(
        self,
        config: Config,
        ari: AriClient,
        tasks: TaskGroup,
        *,
        jobs: Callable[[], int],
        job_age: Callable[[], float],
        handler: Callable[[Event], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._cfg = config.overload
        self._ari = ari
        self._tasks = tasks
        self._jobs = jobs
        self._job_age = job_age
        self._handler = handler
        self._clock = clock
        self._wall_clock = wall_clock
        self._bands = {
            Signal.LOOP_LAG: _band(self._cfg.loop_lag),
            Signal.EVENT_AGE: _band(self._cfg.event_age),
            Signal.JOB_AGE: _band(self._cfg.job_age),
            Signal.ARI_LATENCY: _band(self._cfg.ari_latency),
            Signal.JOBS_PENDING: _band(self._cfg.jobs_pending),
        }
        span = self._cfg.window_seconds
        self._windows = {
            Signal.LOOP_LAG: Window(span),
            Signal.EVENT_AGE: Window(span),
            Signal.ARI_LATENCY: Window(span),
        }
        self.state: Admission = ADMITTING
        self.refused = 0

    # Signals -------------------------------------------------------------------------

    def observe_loop_lag(self, lag: float) -> None:
        self._windows[Signal.LOOP_LAG].add(self._clock(), lag)
        self.judge()  # four times a second: the decision follows also without calls

    def observe_ari(self, _method: str, seconds: float) -> None:
        self._windows[Signal.ARI_LATENCY].add(self._clock(), seconds)

    def signals(self) -> dict[Signal, float]:
        now = self._clock()
        found = {signal: window.mean(now) for signal, window in self._windows.items()}
        found[Signal.JOBS_PENDING] = float(self._jobs())
        found[Signal.JOB_AGE] = self._job_age()
        return found

    def judge(self) -> Admission:
        """The rule applied to the signals now (and remembered: hysteresis)."""
        if not self._cfg.enabled:
            return self.state
        signals = self.signals()
        new = decide(self.state, signals, self._bands)
        if new.refusing != self.state.refusing:
            figures = ", ".join(f"{s.value} {v:.3g}" for s, v in sorted(signals.items()))
            if new.refusing:
                log.warning(
                    "overloaded (%s): refusing new calls; %s",
                    ", ".join(sorted(new.over)),
                    figures,
                )
            else:
                log.warning("no longer overloaded: admitting new calls again; %s", figures)
        self.state = new
        return new

    # Events --------------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """The event stream's handler: measures, refuses a new call while
        overloaded, and hands everything else to the contact center."""
        age = event_age(event, self._wall_clock())
        if age is not None:
            self._windows[Signal.EVENT_AGE].add(self._clock(), age)
            metrics.event_read(age)
        if self._cfg.enabled and is_new_customer_call(event) and self.judge().refusing:
            channel = event.get("channel") or {}
            channel_id = str(channel.get("id") or "")
            if channel_id:
                args = event.get("args") or []
                self.refused += 1
                self._tasks.spawn(f"refuse:{channel_id}", self._refuse(channel_id, str(args[1])))
                return
        await self._handler(event)

    def _tenant_of(self, dnis: str) -> str:
        found = self._config.entry_point_by_number(dnis)
        return found[0] if found is not None else ""

    async def _refuse(self, channel_id: str, dnis: str) -> None:
        """Back to the dialplan's busy path; hung up with cause 34 if that fails."""
        metrics.overload_refused(self._tenant_of(dnis))
        log.debug("call to %s refused as overloaded (channel %s)", dnis, channel_id)
        try:
            await self._ari.request(
                "POST", f"/channels/{channel_id}/continue", params={"label": OVERLOAD_LABEL}
            )
        except AriError as exc:
            log.info("refused call %s not sent to the busy path (%s): hanging up", channel_id, exc)
            await self._ari.hangup(channel_id, reason="congestion")

    # Tests only ----------------------------------------------------------------------

    async def debug_lag(self, path: Path) -> None:
        """While `path` holds a number of seconds, block the event loop that
        long at every interval: real lag, measured like any other (only a
        test configuration sets `overload.debug_lag_file`)."""
        while True:
            await asyncio.sleep(DEBUG_LAG_INTERVAL)
            _block(_requested_lag(path))


def _requested_lag(path: Path) -> float:
    try:
        return min(max(float(path.read_text().strip() or 0), 0.0), 5.0)
    except (OSError, ValueError):
        return 0.0


def _block(seconds: float) -> None:
    """Hold the event loop, blocking it on purpose (the lag injection)."""
    if seconds > 0:
        time.sleep(seconds)
