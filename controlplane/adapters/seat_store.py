"""The supervisors' browser-phone seats in Redis (SUP-5), shared by every
replica: ``cp:{dc}:sup-seat:<extension>``, a hash (session, owner, since)
per taken seat. Which seat a sign-in takes is ``domain.seats.choose_seat``;
a seat is taken only if its holder did not change since it was chosen.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import cast

from controlplane.adapters.store import Store, _script
from controlplane.domain.errors import InvalidTransition
from controlplane.domain.seats import SeatHolder, choose_seat

TAKE_ATTEMPTS = 20


class SeatStore:
    """``cp:{dc}:sup-seat:<extension>``: a hash (session, owner, since) per
    taken seat, shared by every replica."""

    def __init__(self, store: Store, seats: Sequence[str]) -> None:
        self._redis = store.redis
        self._prefix = store.prefix
        self.seats = tuple(seats)
        self._take = store.redis.register_script(_script("seat_take.lua"))
        self._release = store.redis.register_script(_script("seat_release.lua"))

    def key(self, seat: str) -> str:
        return f"{self._prefix}sup-seat:{seat}"

    def session_key(self, session: str) -> str:
        return f"{self._prefix}session:{session}"

    async def holders(self) -> dict[str, SeatHolder]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for seat in self.seats:
                pipe.hgetall(self.key(seat))
            rows = cast(list[dict[str, str]], await pipe.execute())
        out: dict[str, SeatHolder] = {}
        for seat, row in zip(self.seats, rows, strict=True):
            if row.get("session"):
                out[seat] = SeatHolder(
                    session=row["session"],
                    owner=row.get("owner", ""),
                    since=int(row.get("since") or 0),
                )
        return out

    async def _live(self, sessions: Collection[str]) -> set[str]:
        ordered = sorted(set(sessions))
        async with self._redis.pipeline(transaction=False) as pipe:
            for session in ordered:
                pipe.exists(self.session_key(session))
            found = cast(list[int], await pipe.execute())
        return {s for s, n in zip(ordered, found, strict=True) if n}

    async def take(self, session: str, owner: str, now_ms: int) -> str:
        """Takes a seat for the session (``choose_seat``); refused naming
        SUP-5 when every seat is held."""
        for _ in range(TAKE_ATTEMPTS):
            holders = await self.holders()
            live = await self._live([h.session for h in holders.values()])
            seat = choose_seat(self.seats, holders, live, owner, now_ms)
            if seat is None:
                break
            held = holders.get(seat)
            taken = await self._take(
                keys=[self.key(seat)],
                args=[held.session if held else "", session, owner, str(now_ms)],
            )
            if taken:
                return seat
        raise InvalidTransition(
            "every browser phone for supervisors is in use; choose the extension",
            rule="SUP-5",
            field="phone",
            seats=len(self.seats),
        )

    async def release(self, seat: str, session: str) -> None:
        """Gives the seat back, if the session still holds it."""
        await self._release(keys=[self.key(seat)], args=[session])
