"""Supervisor figures (SUP-1, SUP-3, SUP-6): the tenant's day, its
15-minute buckets, what an event counts, and the service level.

Pure rules: no I/O. The counts are kept in Redis, incremented where the
event happens (see `controlplane.supervision`); this module says which
counts an event makes and how figures are derived from them.

- A day is the tenant's calendar day in the tenant's `timezone` (UTC by
  default); a bucket is a quarter of an hour of local time, numbered from
  0 (00:00-00:15) to 95. On a day with a daylight-saving change the local
  hour that repeats shares its buckets, and the skipped one has none.
- Counted per queue and day, and per queue and bucket: `offered` (an
  inbound call entered the queue), `answered` (an agent took it),
  `answered_in_sl` (answered within the queue's `service_level_seconds`,
  measured from when the call entered the contact center to when it was
  connected) and `abandoned` (the caller hung up before an agent answered:
  while queued or while an offer rang). Each interaction counts at most
  once per queue in each of them, however often an event repeats (RONA,
  transfers, a second connect after a transfer). Callbacks, outdials and
  campaign calls are not inbound calls waiting in a queue: they are not
  counted here (they are in the day's interaction records).
- Counted per day: refusals by the concurrent-call limits (`refused:26`,
  `refused:27`, LIM-2) and RONAs per agent (`rona:<agent>`).
- The service level is `answered_in_sl / answered` (None when nothing was
  answered): the share of answered calls answered within the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BUCKET_MINUTES = 15
BUCKETS_PER_DAY = 24 * 60 // BUCKET_MINUTES  # 96

OFFERED = "offered"
ANSWERED = "answered"
ANSWERED_IN_SL = "answered_in_sl"
ABANDONED = "abandoned"
QUEUE_METRICS = (OFFERED, ANSWERED, ANSWERED_IN_SL, ABANDONED)
LIMIT_CODES = (26, 27)

DEFAULT_SERVICE_LEVEL_SECONDS = 20


def zone(name: str) -> ZoneInfo:
    """The tenant's time zone (an IANA name such as `Europe/Berlin`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local(ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)


def day_of(ms: int, tz: ZoneInfo) -> date:
    """The tenant's calendar day at the instant `ms` (epoch milliseconds)."""
    return local(ms, tz).date()


def bucket_of(ms: int, tz: ZoneInfo) -> int:
    """The quarter hour of the tenant's day (0..95) at the instant `ms`."""
    t = local(ms, tz)
    return (t.hour * 60 + t.minute) // BUCKET_MINUTES


def day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) of the tenant's day in epoch milliseconds."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def bucket_start(day: date, bucket: int, tz: ZoneInfo) -> datetime:
    """The local wall-clock start of a bucket (for chart labels)."""
    minutes = bucket * BUCKET_MINUTES
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=tz)


def within_service_level(entered_at: int, connected_at: int, threshold_seconds: int) -> bool:
    """SUP-1: a call answered within the queue's threshold, counted from when
    it entered the contact center."""
    return connected_at - entered_at <= threshold_seconds * 1000


def service_level(answered: int, answered_in_sl: int) -> float | None:
    """SUP-1: the share (0..1) of answered calls answered within the
    threshold; None when nothing was answered."""
    if answered <= 0:
        return None
    return min(1.0, max(0.0, answered_in_sl / answered))


def parse_iso_ms(value: object) -> int | None:
    """Epoch milliseconds of an ISO 8601 time as events carry it."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return math.floor(parsed.timestamp() * 1000 + 0.5)


@dataclass(frozen=True, slots=True)
class Count:
    """One increment an event makes.

    `scope` is "day" (the tenant's day totals) or "bucket" (the day's
    15-minute buckets); `dedupe` names the once-per-interaction mark that
    guards it ("" for counts that may repeat, such as refusals)."""

    field: str
    bucket: int | None
    dedupe: str


@dataclass(frozen=True, slots=True)
class Counting:
    """What one event counts, on which day."""

    day: date
    counts: tuple[Count, ...]

    def groups(self) -> dict[str, list[Count]]:
        """The counts grouped by their dedupe mark (each group is one atomic
        step in Redis: all of it counts, or none if the mark was set)."""
        out: dict[str, list[Count]] = {}
        for count in self.counts:
            out.setdefault(count.dedupe, []).append(count)
        return out


def queue_field(queue: str, metric: str) -> str:
    return f"q:{queue}:{metric}"


def bucket_field(queue: str, bucket: int, metric: str) -> str:
    return f"{queue}:{bucket}:{metric}"


def _queue_counts(queue: str, bucket: int, metrics: tuple[str, ...], mark: str) -> list[Count]:
    out: list[Count] = []
    for metric in metrics:
        out.append(Count(queue_field(queue, metric), None, mark))
        out.append(Count(bucket_field(queue, bucket, metric), bucket, mark))
    return out


def _is_queued_call(data: Mapping[str, object]) -> bool:
    return (
        data.get("direction") == "inbound"
        and data.get("kind") == "call"
        and isinstance(data.get("queue"), str)
        and bool(data.get("queue"))
    )


def counting(
    kind: str,
    data: Mapping[str, object],
    *,
    at: int,
    tz: ZoneInfo,
    service_level_seconds: Mapping[str, int],
) -> Counting | None:
    """What an event counts (None: nothing). `at` is when it happened;
    `service_level_seconds` the threshold per queue."""
    day, bucket = day_of(at, tz), bucket_of(at, tz)
    if kind == "interaction.queued" and _is_queued_call(data):
        queue = str(data["queue"])
        return Counting(day, tuple(_queue_counts(queue, bucket, (OFFERED,), f"offered:{queue}")))
    if kind == "interaction.connected" and _is_queued_call(data):
        queue = str(data["queue"])
        entered = parse_iso_ms(data.get("entered_at"))
        connected = parse_iso_ms(data.get("connected_at")) or at
        metrics: tuple[str, ...] = (ANSWERED,)
        threshold = service_level_seconds.get(queue, DEFAULT_SERVICE_LEVEL_SECONDS)
        if entered is not None and within_service_level(entered, connected, threshold):
            metrics = (ANSWERED, ANSWERED_IN_SL)
        return Counting(day, tuple(_queue_counts(queue, bucket, metrics, f"answered:{queue}")))
    if (
        kind == "interaction.ended"
        and data.get("end_cause") == "abandoned"
        and _is_queued_call(data)
    ):
        queue = str(data["queue"])
        return Counting(day, tuple(_queue_counts(queue, bucket, (ABANDONED,), "abandoned")))
    if kind == "interaction.refused" and data.get("code") in LIMIT_CODES:
        return Counting(day, (Count(f"refused:{data['code']}", None, ""),))
    if kind == "agent.state" and data.get("state") == "rona" and isinstance(data.get("agent"), str):
        return Counting(day, (Count(f"rona:{data['agent']}", None, ""),))
    return None


# Reading the counts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueDay:
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0

    @property
    def service_level(self) -> float | None:
        return service_level(self.answered, self.answered_in_sl)

    def public(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "answered_in_sl": self.answered_in_sl,
            "abandoned": self.abandoned,
            "service_level": self.service_level,
        }


def _int(raw: Mapping[str, str], key: str) -> int:
    try:
        return int(raw.get(key, 0))
    except ValueError:
        return 0


def queue_day(raw: Mapping[str, str], queue: str) -> QueueDay:
    """A queue's day totals from the day's hash."""
    return QueueDay(*(_int(raw, queue_field(queue, m)) for m in QUEUE_METRICS))


def refusals(raw: Mapping[str, str]) -> dict[str, int]:
    return {str(code): _int(raw, f"refused:{code}") for code in LIMIT_CODES}


def ronas(raw: Mapping[str, str], agent: str) -> int:
    return _int(raw, f"rona:{agent}")


def chart(
    raw_buckets: Mapping[str, str], queues: list[str], day: date, tz: ZoneInfo
) -> list[dict[str, object]]:
    """SUP-6: per 15 minutes of the day, summed over `queues`: offered,
    answered, abandoned and the service level."""
    totals = [[0, 0, 0, 0] for _ in range(BUCKETS_PER_DAY)]
    wanted = set(queues)
    for key, value in raw_buckets.items():
        parts = key.rsplit(":", 2)
        if len(parts) != 3:
            continue
        queue, bucket_text, metric = parts
        if queue not in wanted or metric not in QUEUE_METRICS or not bucket_text.isdigit():
            continue
        bucket = int(bucket_text)
        if not 0 <= bucket < BUCKETS_PER_DAY:
            continue
        try:
            totals[bucket][QUEUE_METRICS.index(metric)] += int(value)
        except ValueError:
            continue
    out: list[dict[str, object]] = []
    for bucket, (offered, answered, in_sl, abandoned) in enumerate(totals):
        start = bucket_start(day, bucket, tz)
        out.append(
            {
                "bucket": bucket,
                "start": start.isoformat(timespec="minutes"),
                "offered": offered,
                "answered": answered,
                "answered_in_sl": in_sl,
                "abandoned": abandoned,
                "service_level": service_level(answered, in_sl),
            }
        )
    return out


# Interaction records (SUP-6) -----------------------------------------------------------

# The fields a completed interaction's record keeps, in CSV column order.
# No call variable (secure or not) and no recording name: a record carries
# what a supervisor sees of a call in the list, with the customer's number.
RECORD_FIELDS = (
    "id",
    "direction",
    "kind",
    "label",
    "customer_number",
    "dnis",
    "entry_point",
    "queue",
    "agent",
    "entered_at",
    "connected_at",
    "ended_at",
    "end_cause",
    "wrap_up_reason",
)


def customer_number(data: Mapping[str, object]) -> str:
    """The customer's number: the caller (ANI) of an inbound call, the dialled
    number (DNIS) of an outbound one."""
    key = "dnis" if data.get("direction") == "outbound" else "ani"
    value = data.get(key)
    return value if isinstance(value, str) else ""


def record_of(data: Mapping[str, object]) -> dict[str, str]:
    """The record kept of an interaction that ended (from its public form)."""
    out: dict[str, str] = {}
    for key in RECORD_FIELDS:
        value = customer_number(data) if key == "customer_number" else data.get(key)
        out[key] = "" if value is None else str(value)
    return out


def csv_safe(value: str) -> str:
    """A cell that a spreadsheet will not run as a formula (CSV injection):
    text starting with = + - @ or a tab/CR gets a leading apostrophe, except
    a phone number (`+` and digits only)."""
    if value and value[0] in "=+-@\t\r":
        if value[0] == "+" and value[1:].isdigit():
            return value
        return "'" + value
    return value


def matches(record: Mapping[str, str], filters: Mapping[str, str]) -> bool:
    """SUP-6: a record matches every given filter (exact values)."""
    return all(record.get(key, "") == wanted for key, wanted in filters.items() if wanted)


# The console's WebSocket view -----------------------------------------------------------


def snapshot_delta(
    previous: Mapping[str, object], current: Mapping[str, object]
) -> dict[str, object]:
    """What changed between two snapshots: the queues and agents whose rows
    differ (whole rows, by id), ids gone from the view, the limits if they
    changed, and the day if it turned. Empty when nothing changed (the
    server time alone is no change)."""
    out: dict[str, object] = {}
    for section in ("queues", "agents"):
        before = _rows(previous.get(section))
        after = _rows(current.get(section))
        changed = [row for key, row in after.items() if before.get(key) != row]
        removed = sorted(set(before) - set(after))
        if changed:
            out[section] = changed
        if removed:
            out[f"{section}_removed"] = removed
    if previous.get("limits") != current.get("limits"):
        out["limits"] = current.get("limits")
    if previous.get("day") != current.get("day"):
        out["day"] = current.get("day")
    if out:
        out["server_time"] = current.get("server_time")
    return out


def _rows(value: object) -> dict[str, object]:
    if not isinstance(value, list):
        return {}
    return {str(row.get("id")): row for row in value if isinstance(row, dict)}
