"""The supervisor's pure rules: the tenant's day and its 15-minute buckets,
what each event counts, the service level, records and CSV cells (SUP-1,
SUP-2, SUP-3, SUP-6), the snapshot deltas of the WebSocket view, and the
supervisor's agent changes (SUP-4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.domain import stats
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition
from controlplane.domain.interaction import iso
from controlplane.domain.supervision import require_supervisor_change

UTC_ZONE = stats.zone("UTC")
BERLIN = stats.zone("Europe/Berlin")
NOON = int(datetime(2026, 12, 5, 12, 7, tzinfo=UTC).timestamp() * 1000)
SL = {"support": 20}


def call(**extra: object) -> dict[str, object]:
    return {
        "id": "a" * 32,
        "direction": "inbound",
        "kind": "call",
        "queue": "support",
        "entered_at": iso(NOON - 15_000),
        "connected_at": None,
        **extra,
    }


def fields(counting: stats.Counting | None) -> set[tuple[str, str]]:
    assert counting is not None
    return {(c.field, c.dedupe) for c in counting.counts}


@pytest.mark.spec("SUP-1")
def test_bucket_and_day_follow_the_tenant_time_zone() -> None:
    assert stats.bucket_of(NOON, UTC_ZONE) == 48  # 12:07 UTC -> 12:00-12:15
    assert stats.bucket_of(NOON, BERLIN) == 52  # 13:07 in Berlin
    late = int(datetime(2026, 12, 5, 23, 30, tzinfo=UTC).timestamp() * 1000)
    assert stats.day_of(late, UTC_ZONE) == date(2026, 12, 5)
    assert stats.day_of(late, BERLIN) == date(2026, 12, 6)
    start, end = stats.day_bounds(date(2026, 12, 6), BERLIN)
    assert start <= late < end and end - start == 86_400_000
    # a day with the change to summer time has 23 hours
    start, end = stats.day_bounds(date(2026, 3, 29), BERLIN)
    assert end - start == 23 * 3_600_000


@pytest.mark.spec("SUP-1", "SUP-6")
@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_every_instant_lies_in_its_day_and_one_of_96_buckets(ms: int) -> None:
    for tz in (UTC_ZONE, BERLIN, stats.zone("America/New_York")):
        day = stats.day_of(ms, tz)
        start, end = stats.day_bounds(day, tz)
        assert start <= ms < end
        assert 0 <= stats.bucket_of(ms, tz) < stats.BUCKETS_PER_DAY


@pytest.mark.spec("SUP-1")
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
)
def test_service_level_is_the_share_answered_within_the_threshold(
    answered: int, in_sl: int
) -> None:
    level = stats.service_level(answered, min(in_sl, answered))
    if answered == 0:
        assert level is None
    else:
        assert level is not None and 0.0 <= level <= 1.0
        assert level == pytest.approx(min(in_sl, answered) / answered)


@pytest.mark.spec("SUP-1")
@given(st.integers(min_value=0, max_value=600_000), st.integers(min_value=1, max_value=600))
def test_within_service_level_is_the_wait_up_to_the_threshold(wait_ms: int, threshold: int) -> None:
    assert stats.within_service_level(0, wait_ms, threshold) == (wait_ms <= threshold * 1000)


@pytest.mark.spec("SUP-1")
def test_a_queued_call_counts_offered_once_per_queue() -> None:
    counted = stats.counting(
        "interaction.queued", call(), at=NOON, tz=UTC_ZONE, service_level_seconds=SL
    )
    assert fields(counted) == {
        ("q:support:offered", "offered:support"),
        ("support:48:offered", "offered:support"),
    }


@pytest.mark.spec("SUP-1")
def test_an_answer_within_the_threshold_counts_in_the_service_level() -> None:
    quick = call(connected_at=iso(NOON))  # waited 15 s of 20
    slow = call(connected_at=iso(NOON + 10_000))  # waited 25 s
    args = {"at": NOON, "tz": UTC_ZONE, "service_level_seconds": SL}
    assert ("q:support:answered_in_sl", "answered:support") in fields(
        stats.counting("interaction.connected", quick, **args)  # type: ignore[arg-type]
    )
    slow_fields = fields(stats.counting("interaction.connected", slow, **args))  # type: ignore[arg-type]
    assert ("q:support:answered", "answered:support") in slow_fields
    assert not any("answered_in_sl" in f for f, _ in slow_fields)
    # a queue's own threshold
    tight = fields(
        stats.counting(
            "interaction.connected",
            quick,
            at=NOON,
            tz=UTC_ZONE,
            service_level_seconds={"support": 10},
        )
    )
    assert not any("answered_in_sl" in f for f, _ in tight)


@pytest.mark.spec("SUP-1")
def test_abandoned_is_a_caller_who_hung_up_before_an_answer() -> None:
    args = {"at": NOON, "tz": UTC_ZONE, "service_level_seconds": SL}
    abandoned = stats.counting("interaction.ended", call(end_cause="abandoned"), **args)  # type: ignore[arg-type]
    assert ("q:support:abandoned", "abandoned") in fields(abandoned)
    for cause in ("customer_hangup", "agent_end", "callback_requested"):
        assert stats.counting("interaction.ended", call(end_cause=cause), **args) is None  # type: ignore[arg-type]


@pytest.mark.spec("SUP-1")
def test_callbacks_and_outbound_calls_are_not_queue_calls() -> None:
    args = {"at": NOON, "tz": UTC_ZONE, "service_level_seconds": SL}
    for other in (call(kind="callback"), call(direction="outbound", kind="outdial", queue="")):
        for kind in ("interaction.queued", "interaction.connected"):
            assert stats.counting(kind, other, **args) is None  # type: ignore[arg-type]


@pytest.mark.spec("SUP-2", "SUP-3")
def test_ronas_and_refusals_count_without_a_mark() -> None:
    args = {"at": NOON, "tz": UTC_ZONE, "service_level_seconds": SL}
    rona = stats.counting("agent.state", {"agent": "alice", "state": "rona"}, **args)  # type: ignore[arg-type]
    assert fields(rona) == {("rona:alice", "")}
    assert stats.counting("agent.state", {"agent": "alice", "state": "idle"}, **args) is None  # type: ignore[arg-type]
    for code in (26, 27):
        refused = stats.counting("interaction.refused", {"code": code}, **args)  # type: ignore[arg-type]
        assert fields(refused) == {(f"refused:{code}", "")}
    assert stats.counting("interaction.refused", {"code": 99}, **args) is None  # type: ignore[arg-type]


@pytest.mark.spec("SUP-1", "SUP-3")
def test_day_totals_are_read_back_per_queue() -> None:
    raw = {
        "q:support:offered": "5",
        "q:support:answered": "4",
        "q:support:answered_in_sl": "3",
        "q:support:abandoned": "1",
        "refused:27": "2",
        "rona:bob": "1",
    }
    day = stats.queue_day(raw, "support")
    assert (day.offered, day.answered, day.abandoned) == (5, 4, 1)
    assert day.service_level == pytest.approx(0.75)
    assert stats.queue_day(raw, "vip").public()["service_level"] is None
    assert stats.refusals(raw) == {"26": 0, "27": 2}
    assert stats.ronas(raw, "bob") == 1 and stats.ronas(raw, "alice") == 0


@pytest.mark.spec("SUP-6")
def test_chart_sums_the_chosen_queues_per_bucket() -> None:
    raw = {
        "support:48:offered": "3",
        "support:48:answered": "2",
        "support:48:answered_in_sl": "1",
        "vip:48:offered": "1",
        "vip:48:abandoned": "1",
        "support:95:offered": "1",
        "bogus": "7",
        "support:999:offered": "1",
    }
    day = date(2026, 12, 5)
    both = stats.chart(raw, ["support", "vip"], day, UTC_ZONE)
    assert len(both) == 96
    assert both[48]["offered"] == 4 and both[48]["abandoned"] == 1
    assert both[48]["service_level"] == pytest.approx(0.5)
    assert both[48]["start"] == "2026-12-05T12:00+00:00"
    assert both[0]["service_level"] is None and both[95]["offered"] == 1
    only_vip = stats.chart(raw, ["vip"], day, UTC_ZONE)
    assert only_vip[48]["offered"] == 1 and only_vip[95]["offered"] == 0


@pytest.mark.spec("SUP-6")
def test_a_record_keeps_the_customer_number_and_no_variables() -> None:
    inbound = stats.record_of(call(ani="+15551234567", dnis="8005550100", variables={"x": "1"}))
    assert inbound["customer_number"] == "+15551234567"
    assert "variables" not in inbound and set(inbound) == set(stats.RECORD_FIELDS)
    outbound = stats.record_of(call(direction="outbound", ani="+1555000", dnis="+15559876543"))
    assert outbound["customer_number"] == "+15559876543"
    assert stats.matches(inbound, {"queue": "support", "agent": ""})
    assert not stats.matches(inbound, {"queue": "vip"})


@pytest.mark.spec("SUP-6")
@given(st.text(max_size=40))
def test_csv_cells_never_start_a_formula(text: str) -> None:
    cell = stats.csv_safe(text)
    if cell and cell[0] in "=-@\t\r":
        raise AssertionError(cell)
    if cell.startswith("+"):
        assert cell[1:].isdigit()
    assert cell.removeprefix("'") == text or cell == text


@pytest.mark.spec("SUP-1", "SUP-2")
def test_snapshot_delta_names_only_what_changed() -> None:
    before = {
        "server_time": "t1",
        "day": "2026-12-05",
        "queues": [{"id": "support", "waiting": 0}, {"id": "vip", "waiting": 0}],
        "agents": [{"id": "alice", "state": "idle"}, {"id": "bob", "state": "idle"}],
        "limits": {"tenant": {"used": 0}},
    }
    same = {**before, "server_time": "t2"}
    assert stats.snapshot_delta(before, same) == {}
    after = {
        **same,
        "queues": [{"id": "support", "waiting": 1}, {"id": "vip", "waiting": 0}],
        "agents": [{"id": "alice", "state": "available"}],
        "limits": {"tenant": {"used": 1}},
    }
    delta = stats.snapshot_delta(before, after)
    assert delta["queues"] == [{"id": "support", "waiting": 1}]
    assert delta["agents"] == [{"id": "alice", "state": "available"}]
    assert delta["agents_removed"] == ["bob"]
    assert delta["limits"] == {"tenant": {"used": 1}} and delta["server_time"] == "t2"


IDLE_REASONS = {"break": "Break"}


@pytest.mark.spec("SUP-4")
@pytest.mark.parametrize("state", ["reserved", "connected", "wrap_up"])
@pytest.mark.parametrize("wanted", ["idle", "logged_out"])
def test_a_supervisor_cannot_change_an_agent_with_a_call_in_hand(state: str, wanted: str) -> None:
    reason = "break" if wanted == "idle" else None
    with pytest.raises(InvalidTransition) as refused:
        require_supervisor_change(AgentState(state), AgentState(wanted), reason, IDLE_REASONS)
    assert refused.value.details["rule"] == "SUP-4" and refused.value.status == 409


@pytest.mark.spec("SUP-4")
@pytest.mark.parametrize("state", ["available", "idle", "rona"])
def test_a_supervisor_sets_a_free_agent_idle_or_logs_them_out(state: str) -> None:
    require_supervisor_change(AgentState(state), AgentState.IDLE, "break", IDLE_REASONS)
    require_supervisor_change(AgentState(state), AgentState.LOGGED_OUT, None, IDLE_REASONS)


@pytest.mark.spec("SUP-4")
def test_a_supervisor_change_needs_a_known_reason_and_a_supervisor_state() -> None:
    idle = AgentState.IDLE
    cases: list[tuple[AgentState, str | None]] = [
        (AgentState.AVAILABLE, None),
        (idle, None),
        (idle, "nap"),
        (AgentState.LOGGED_OUT, "break"),
    ]
    for wanted, reason in cases:
        with pytest.raises(InvalidInput):
            require_supervisor_change(idle, wanted, reason, IDLE_REASONS)
    with pytest.raises(InvalidTransition):
        require_supervisor_change(AgentState.LOGGED_OUT, idle, "break", IDLE_REASONS)


def test_the_openapi_document_describes_every_supervisor_route() -> None:
    from pathlib import Path  # noqa: PLC0415

    from controlplane.api.openapi import build_openapi  # noqa: PLC0415
    from tests.support.routes import api_routes  # noqa: PLC0415

    doc = build_openapi()["paths"]
    routes = [
        (method, path)
        for method, path in api_routes(Path("config/demo.toml"))
        if path.startswith("/v1/supervisor") or path.endswith("/supervision")
    ]
    assert len(routes) == 13
    for method, path in routes:
        assert method.lower() in doc.get(path, {}), (method, path)
