"""Admission under overload: whether a new customer call is taken or refused
at the entry point, judged from the service's own lag.

Beyond what the box can carry, the contact center degrades the way
Asterisk's `Queue()` does: calls already taken go on (they may wait longer),
and new calls are refused cleanly at the entry point, before any state is
written for them. The judgement is a rule on measured signals, each with
two thresholds (hysteresis):

- admission stops as soon as any signal is above its `refuse_above`;
- once stopped, it resumes only when every signal is below its
  `admit_below`; in between, the decision stays what it was.

So a signal wavering around one threshold does not switch admission on and
off with every call. The signals (`Signal`) are figures the service
measures anyway; `Window` turns a stream of samples into the figure the
rule compares (the mean or the peak of the last seconds). Nothing here does
I/O or reads a clock: times are passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Signal(StrEnum):
    LOOP_LAG = "loop_lag"  # seconds the event loop ran a timer late
    EVENT_AGE = "event_age"  # seconds between Asterisk's event and its reading
    JOB_AGE = "job_age"  # seconds the oldest unfinished job (event or action) has waited or run
    ARI_LATENCY = "ari_latency"  # seconds an ARI request took, waits included
    JOBS_PENDING = "jobs_pending"  # jobs queued or running in the serializers


@dataclass(frozen=True)
class Band:
    """Refuse above `refuse_above`; admit again below `admit_below`."""

    refuse_above: float
    admit_below: float

    def __post_init__(self) -> None:
        if not 0 <= self.admit_below <= self.refuse_above:
            raise ValueError(
                f"admit_below ({self.admit_below}) must be between 0 and "
                f"refuse_above ({self.refuse_above})"
            )


@dataclass(frozen=True)
class Admission:
    """The decision, and the signals that made it (those over their
    `refuse_above` when admission stopped; those not yet below their
    `admit_below` while it stays stopped)."""

    refusing: bool = False
    over: frozenset[Signal] = field(default_factory=frozenset)


ADMITTING = Admission()


def decide(
    state: Admission, signals: Mapping[Signal, float], bands: Mapping[Signal, Band]
) -> Admission:
    """The next decision from the last one and the signals now. A signal
    without a band is not judged; a band without a signal reads as 0."""
    above = frozenset(s for s, band in bands.items() if signals.get(s, 0.0) > band.refuse_above)
    if above:
        return Admission(refusing=True, over=above)
    if not state.refusing:
        return ADMITTING
    still = frozenset(s for s, band in bands.items() if signals.get(s, 0.0) >= band.admit_below)
    if still:
        return Admission(refusing=True, over=still)
    return ADMITTING


class Window:
    """The samples of the last `span` seconds (times given by the caller,
    non-decreasing); mean and peak are 0 when there is none."""

    def __init__(self, span: float) -> None:
        if span <= 0:
            raise ValueError("span must be positive")
        self.span = span
        self._samples: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def add(self, at: float, value: float) -> None:
        self._samples.append((at, value))
        self._sum += value
        self._expire(at)

    def _expire(self, now: float) -> None:
        horizon = now - self.span
        while self._samples and self._samples[0][0] <= horizon:
            self._sum -= self._samples.popleft()[1]
        if not self._samples:
            self._sum = 0.0  # no drift from float sums

    def mean(self, now: float) -> float:
        self._expire(now)
        return max(0.0, self._sum / len(self._samples)) if self._samples else 0.0

    def peak(self, now: float) -> float:
        self._expire(now)
        return max((v for _, v in self._samples), default=0.0)

    def __len__(self) -> int:
        return len(self._samples)
