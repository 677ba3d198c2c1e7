"""Admission under overload: the rule (thresholds with hysteresis), its
sliding windows, and the gate that refuses new customer calls before the
contact center sees them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane import metrics
from controlplane.adapters.ari import AriClient, AriError, Event
from controlplane.config import Config, Overload, OverloadBand
from controlplane.domain.overload import ADMITTING, Admission, Band, Signal, Window, decide
from controlplane.overload import AdmissionGate, event_age, is_new_customer_call
from controlplane.tasks import KeyedSerializer, TaskGroup
from tests.unit.test_config import demo

SIGNALS = list(Signal)

# Bands with admit_below <= refuse_above, for every signal.
bands_st = st.fixed_dictionaries(
    {
        s: st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 100, allow_nan=False)).map(
            lambda p: Band(refuse_above=max(p), admit_below=min(p))
        )
        for s in SIGNALS
    }
)
signals_st = st.fixed_dictionaries({s: st.floats(0, 200, allow_nan=False) for s in SIGNALS})
states_st = st.sampled_from(
    [ADMITTING, Admission(refusing=True, over=frozenset({Signal.LOOP_LAG}))]
)


@given(states_st, signals_st, bands_st)
def test_any_signal_above_its_refuse_threshold_refuses(
    state: Admission, signals: dict[Signal, float], bands: dict[Signal, Band]
) -> None:
    new = decide(state, signals, bands)
    above = {s for s in SIGNALS if signals[s] > bands[s].refuse_above}
    if above:
        assert new.refusing and new.over == above


@given(states_st, signals_st, bands_st)
def test_every_signal_below_its_admit_threshold_admits(
    state: Admission, signals: dict[Signal, float], bands: dict[Signal, Band]
) -> None:
    if all(signals[s] < bands[s].admit_below for s in SIGNALS):
        assert decide(state, signals, bands) == ADMITTING


@given(states_st, signals_st, bands_st)
def test_between_the_thresholds_the_decision_stays(
    state: Admission, signals: dict[Signal, float], bands: dict[Signal, Band]
) -> None:
    # hysteresis: no signal above refuse_above, some not yet below admit_below
    in_band = all(signals[s] <= bands[s].refuse_above for s in SIGNALS) and any(
        signals[s] >= bands[s].admit_below for s in SIGNALS
    )
    if in_band:
        assert decide(state, signals, bands).refusing == state.refusing


@given(
    bands_st,
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40),
)
def test_signals_wavering_inside_the_band_never_switch(
    bands: dict[Signal, Band], positions: list[float]
) -> None:
    """A signal moving anywhere between the two thresholds, however often,
    switches admission at most never, whichever way it started."""
    for start in (ADMITTING, Admission(refusing=True, over=frozenset({Signal.JOBS_PENDING}))):
        state = start
        for p in positions:
            # min(): at p == 1 the sum may round one step past refuse_above
            signals = {
                s: min(
                    bands[s].admit_below + p * (bands[s].refuse_above - bands[s].admit_below),
                    bands[s].refuse_above,
                )
                for s in SIGNALS
            }
            if all(v < bands[s].admit_below for s, v in signals.items()):
                continue  # a zero-width band has no inside
            state = decide(state, signals, bands)
            assert state.refusing == start.refusing


@given(states_st, signals_st, signals_st, bands_st)
def test_lower_signals_never_refuse_where_higher_ones_admit(
    state: Admission, a: dict[Signal, float], b: dict[Signal, float], bands: dict[Signal, Band]
) -> None:
    lower = {s: min(a[s], b[s]) for s in SIGNALS}
    if not decide(state, a, bands).refusing:
        assert not decide(state, lower, bands).refusing


def test_a_rising_then_falling_signal_refuses_late_and_admits_later() -> None:
    bands = {Signal.LOOP_LAG: Band(refuse_above=0.2, admit_below=0.05)}
    state = ADMITTING
    seen = []
    for lag in (0.0, 0.1, 0.19, 0.25, 0.3, 0.15, 0.08, 0.05, 0.049, 0.1, 0.19):
        state = decide(state, {Signal.LOOP_LAG: lag}, bands)
        seen.append(state.refusing)
    assert seen == [False, False, False, True, True, True, True, True, False, False, False]


def test_a_band_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="admit_below"):
        Band(refuse_above=0.1, admit_below=0.2)
    with pytest.raises(ValueError, match="admit_below"):
        OverloadBand(refuse_above=0.1, admit_below=0.2)


@given(
    st.lists(
        st.tuples(st.floats(0, 5, allow_nan=False), st.floats(0, 10, allow_nan=False)),
        max_size=60,
    ),
    st.floats(0.1, 3, allow_nan=False),
)
def test_window_mean_and_peak_are_of_the_last_span_only(
    steps: list[tuple[float, float]], span: float
) -> None:
    window = Window(span)
    now = 0.0
    added: list[tuple[float, float]] = []
    for dt, value in steps:
        now += dt
        window.add(now, value)
        added.append((now, value))
        recent = [v for t, v in added if t > now - span]
        assert window.peak(now) == max(recent)
        assert window.mean(now) == pytest.approx(sum(recent) / len(recent), abs=1e-9)
    later = now + span * 1.001 + 1e-9
    assert window.mean(later) == 0.0 and window.peak(later) == 0.0 and len(window) == 0


# The gate ------------------------------------------------------------------------------


class FakeAri:
    def __init__(self, *, continue_fails: bool = False) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.hung_up: list[tuple[str, str]] = []
        self.continue_fails = continue_fails

    async def request(self, method: str, path: str, *, params: dict[str, Any]) -> None:
        self.requests.append((method, path, params))
        if self.continue_fails:
            raise AriError(method, path, 404, "Channel not found")

    async def hangup(self, channel_id: str, reason: str = "normal") -> bool:
        self.hung_up.append((channel_id, reason))
        return True


def _config(**overload: Any) -> Config:
    data = demo()  # the demo configuration (entry point 8005550100: tenant acme)
    data["overload"] = overload
    return Config.model_validate(data)


def _stasis_start(channel_id: str, *args: str, timestamp: str | None = None) -> Event:
    event: Event = {"type": "StasisStart", "args": list(args), "channel": {"id": channel_id}}
    if timestamp is not None:
        event["timestamp"] = timestamp
    return event


def _event_ages_over(seconds: float) -> float:
    """Events the age metric counted as older than `seconds` (a bucket's bound)."""
    counts = {
        s.labels["le"]: s.value
        for family in metrics.REGISTRY.collect()
        if family.name == "cp_ari_event_age_seconds"
        for s in family.samples
        if s.name.endswith("_bucket")
    }
    return counts["+Inf"] - counts[str(seconds)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _gate(
    config: Config, ari: FakeAri, jobs: list[int], job_age: tuple[float] = (0.0,)
) -> tuple[AdmissionGate, list[Event], TaskGroup, Clock]:
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        handled.append(event)

    tasks = TaskGroup()
    clock = Clock()
    gate = AdmissionGate(
        config,
        cast(AriClient, ari),
        tasks,
        jobs=lambda: jobs[0],
        job_age=lambda: job_age[0],
        handler=handler,
        clock=clock,
        wall_clock=clock,
    )
    return gate, handled, tasks, clock


async def test_gate_refuses_new_calls_while_the_loop_lags_and_resumes_below_the_band() -> None:
    ari = FakeAri()
    gate, handled, tasks, clock = await _gate(
        _config(loop_lag={"refuse_above": 0.2, "admit_below": 0.05}), ari, [0]
    )
    await gate.on_event(_stasis_start("c1", "inbound", "8005550100"))
    assert [e["channel"]["id"] for e in handled] == ["c1"]

    gate.observe_loop_lag(0.3)  # a lagging loop: admission stops
    assert gate.state.refusing and gate.state.over == {Signal.LOOP_LAG}
    await gate.on_event(_stasis_start("c2", "inbound", "8005550100"))
    # ... while every other event, including answered legs of admitted calls, passes
    await gate.on_event(_stasis_start("ix-a1", "agent", "ix"))
    await gate.on_event({"type": "StasisEnd", "channel": {"id": "c1"}})
    await tasks.close()
    assert [e["channel"]["id"] for e in handled] == ["c1", "ix-a1", "c1"]
    assert ari.requests == [("POST", "/channels/c2/continue", {"label": "overload"})]
    assert ari.hung_up == [] and gate.refused == 1

    clock.now += 1.1  # the lag left the window, but a new sample inside the band keeps refusing
    gate.observe_loop_lag(0.1)
    assert gate.state.refusing
    clock.now += 1.1
    gate.observe_loop_lag(0.01)  # below admit_below: admission resumes
    assert not gate.state.refusing
    await gate.on_event(_stasis_start("c3", "inbound", "8005550100"))
    assert handled[-1]["channel"]["id"] == "c3"


async def test_gate_hangs_up_with_cause_34_when_the_busy_path_fails() -> None:
    ari = FakeAri(continue_fails=True)
    gate, handled, tasks, _ = await _gate(
        _config(jobs_pending={"refuse_above": 10, "admit_below": 5}), ari, [11]
    )
    await gate.on_event(_stasis_start("c1", "inbound", "8005550100"))
    await tasks.close()
    assert handled == [] and ari.hung_up == [("c1", "congestion")]


async def test_gate_judges_event_age_and_ari_latency() -> None:
    ari = FakeAri()
    gate, handled, tasks, clock = await _gate(_config(), ari, [0])
    gate.observe_ari("POST", 0.7)  # default: refuse above 0.5 s
    assert gate.judge().over == {Signal.ARI_LATENCY}
    clock.now += 2.0
    assert not gate.judge().refusing
    # an event Asterisk stamped 0.8 s ago (default: refuse above 0.5 s)
    clock.now = 1_796_478_494.923
    older_than_half_a_second = _event_ages_over(0.5)
    await gate.on_event(
        _stasis_start("c1", "inbound", "1", timestamp="2026-12-05T13:48:14.123+0000")
    )
    assert gate.state.over == {Signal.EVENT_AGE}
    assert _event_ages_over(0.5) == older_than_half_a_second + 1  # (OPS-2: the metric)
    await tasks.close()
    assert handled == [] and ari.requests[0][1] == "/channels/c1/continue"


async def test_disabled_gate_admits_everything() -> None:
    ari = FakeAri()
    gate, handled, tasks, _ = await _gate(_config(enabled=False), ari, [10_000])
    gate.observe_loop_lag(3.0)
    await gate.on_event(_stasis_start("c1", "inbound", "8005550100"))
    await tasks.close()
    assert len(handled) == 1 and not ari.requests


async def test_gate_refuses_while_the_oldest_job_waits_too_long() -> None:
    ari = FakeAri()
    gate, handled, tasks, _ = await _gate(_config(), ari, [3], job_age=(1.5,))  # default 1 s
    await gate.on_event(_stasis_start("c1", "inbound", "8005550100"))
    await tasks.close()
    assert gate.state.over == {Signal.JOB_AGE} and handled == []


async def test_the_serializer_tells_the_age_of_its_oldest_unfinished_job() -> None:
    tasks = TaskGroup()
    serial = KeyedSerializer(tasks)
    assert serial.oldest_age() == 0.0
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()

    async def quick() -> None:
        return None

    serial.submit("a", slow)
    serial.submit("a", quick)  # waits behind slow
    await asyncio.sleep(0.2)
    serial.submit("b", slow)
    age = serial.oldest_age()
    assert 0.2 <= age < 1.0 and serial.pending == 3
    release.set()
    await tasks.close()
    assert serial.oldest_age() == 0.0 and serial.pending == 0


def test_new_customer_calls_and_event_ages_are_read_from_the_event() -> None:
    assert is_new_customer_call(_stasis_start("c", "inbound", "1"))
    assert not is_new_customer_call(_stasis_start("c", "agent", "ix"))
    assert not is_new_customer_call({"type": "StasisEnd", "args": ["inbound", "1"]})
    assert event_age({"timestamp": "2026-12-05T13:48:14.123+0000"}, 1_796_478_494.623) == (
        pytest.approx(0.5)
    )
    assert event_age({"timestamp": "garbage"}, 0.0) is None
    assert event_age({}, 0.0) is None
    # a clock behind Asterisk's reads as no age, never negative
    assert event_age({"timestamp": "2026-12-05T13:48:14.123+0000"}, 1_796_478_400.0) == 0.0


def test_defaults_are_sensible() -> None:
    cfg = Overload()
    assert cfg.enabled and cfg.debug_lag_file is None
    for band in (cfg.loop_lag, cfg.event_age, cfg.ari_latency, cfg.jobs_pending):
        assert 0 < band.admit_below < band.refuse_above
