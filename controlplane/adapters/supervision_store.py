"""Monitor, whisper and barge sessions in Redis (SUP-5).

One session per interaction at most: `sup:<interaction>` (a hash), and the
set `sups` of interactions with one, so that reconciliation after a crash
finds every channel and bridge a session placed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

from controlplane.adapters.store import Store
from controlplane.domain.interaction import iso
from controlplane.domain.supervision import Mode, State

SESSION_SECONDS = 86400  # a session is never older than a call; a safety net


@dataclass(slots=True)
class Session:
    interaction: str
    tenant: str
    supervisor: str  # the actor: supervisor:<token id> (or a signed-in supervisor)
    extension: str
    mode: Mode
    state: State
    leg: str  # the supervisor's leg: <interaction>-s<n>
    bridge: str  # <leg>-bridge
    snoop: str = ""  # the current snoop channel: <interaction>-p<n> ("" while ringing)
    snoops: int = 0  # snoop channels made so far (numbers the next)
    agent: str = ""
    agent_channel: str = ""
    started_at: int = 0
    phone: str = "extension"  # the supervisor's phone: "browser" (a seat) or "extension"

    def public(self) -> dict[str, object]:
        return {
            "interaction": self.interaction,
            "supervisor": self.supervisor,
            "extension": self.extension,
            "phone": self.phone,
            "leg": self.leg,
            "mode": self.mode.value,
            "state": self.state.value,
            "agent": self.agent,
            "started_at": iso(self.started_at),
        }

    def to_fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> Session:
        return cls(
            interaction=raw["interaction"],
            tenant=raw["tenant"],
            supervisor=raw["supervisor"],
            extension=raw["extension"],
            mode=Mode(raw["mode"]),
            state=State(raw["state"]),
            leg=raw["leg"],
            bridge=raw["bridge"],
            snoop=raw.get("snoop", ""),
            snoops=int(raw.get("snoops", "0")),
            agent=raw.get("agent", ""),
            agent_channel=raw.get("agent_channel", ""),
            started_at=int(raw.get("started_at", "0")),
            phone=raw.get("phone", "extension"),
        )


class SupervisionStore:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.prefix = store.prefix

    def key(self, ix_id: str) -> str:
        return f"{self.prefix}sup:{ix_id}"

    def index_key(self) -> str:
        return f"{self.prefix}sups"

    def counter_key(self, ix_id: str) -> str:
        return f"{self.prefix}sup:{ix_id}:n"

    async def claim(self, session: Session) -> bool:
        """Save a new session unless the interaction has one (one at a time)."""
        key = self.key(session.interaction)
        created = await self.redis.hsetnx(key, "interaction", session.interaction)
        if not created:
            return False
        await self.save(session)
        return True

    async def next_number(self, ix_id: str) -> int:
        """Numbers the interaction's supervisor legs (a new ID each session)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(self.counter_key(ix_id))
            pipe.expire(self.counter_key(ix_id), SESSION_SECONDS)
            n, _ = await pipe.execute()
        return int(n)

    async def save(self, session: Session) -> None:
        key = self.key(session.interaction)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=cast(dict[Any, Any], session.to_fields()))
            pipe.expire(key, SESSION_SECONDS)
            pipe.sadd(self.index_key(), session.interaction)
            await pipe.execute()

    async def get(self, ix_id: str) -> Session | None:
        raw = cast(dict[str, str], await self.redis.hgetall(self.key(ix_id)))
        if "leg" not in raw:
            return None
        return Session.from_fields(raw)

    async def delete(self, ix_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key(ix_id))
            pipe.srem(self.index_key(), ix_id)
            await pipe.execute()

    async def all(self) -> list[str]:
        return sorted(cast(set[str], await self.redis.smembers(self.index_key())))
