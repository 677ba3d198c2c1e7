"""The supervisors' browser-phone seats (SUP-5): pure rules, no I/O.

A supervisor who signs in with the browser phone takes one of the
datacenter's ``supervisor_browser_extensions`` for that session. Which one:
the seat they hold already (a new sign-in replaces their older session),
else the first seat nobody holds or whose session has ended, but never one
taken a moment ago (its sign-in saves the session right after).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

SEAT_GRACE_MS = 30_000
"""A seat taken this recently counts as held even before its session is in
Redis (the sign-in saves the session right after taking the seat)."""


@dataclass(frozen=True, slots=True)
class SeatHolder:
    session: str  # the session's key (SHA-256 of its ID)
    owner: str  # "<tenant>/<supervisor>"
    since: int  # ms: when the seat was taken


def seat_owner(tenant: str, supervisor: str) -> str:
    return f"{tenant}/{supervisor}"


def choose_seat(
    seats: Sequence[str],
    holders: Mapping[str, SeatHolder],
    live_sessions: Collection[str],
    owner: str,
    now_ms: int,
) -> str | None:
    """The seat a supervisor's sign-in with the browser phone takes: the one
    they hold already (their new session replaces the older one), else the
    first seat nobody holds or whose session has ended (and that was not
    just taken); None when every seat is held."""
    for seat in seats:
        holder = holders.get(seat)
        if holder is not None and holder.owner == owner:
            return seat
    for seat in seats:
        holder = holders.get(seat)
        if holder is None or (
            holder.session not in live_sessions and now_ms - holder.since >= SEAT_GRACE_MS
        ):
            return seat
    return None
