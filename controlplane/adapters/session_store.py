"""Browser sessions and failed sign-ins in Redis (DSK-1), shared by every
replica of the datacenter.

- ``cp:{dc}:session:<sha256 of the session ID>``: a hash (role, tenant,
  agent or supervisor, CSRF token, public handle, phone, times); its TTL is the idle timeout,
  capped at the session's absolute end, and renewed on every use.
- ``cp:{dc}:agent-session:<tenant>:<agent>``: the agent's (or supervisor's:
  their IDs never collide within a tenant) current session (a new sign-in
  replaces it).
- ``cp:{dc}:signin-fail:agent:<subject>``, ``...:addr:<address>``: failed
  sign-ins in the current window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from controlplane.adapters.store import Store, _script
from controlplane.domain.session import Count


@dataclass(frozen=True, slots=True)
class StoredSession:
    key: str  # SHA-256 of the session ID
    handle: str
    tenant: str
    agent: str
    csrf: str
    phone: str  # "browser" or "extension"
    extension: str
    created: int  # ms
    expires: int  # ms: the absolute end
    role: str = "agent"  # "agent", or "supervisor" (then `agent` is the supervisor's ID)

    def fields(self) -> dict[str, str]:
        return {
            "role": self.role,
            "handle": self.handle,
            "tenant": self.tenant,
            "agent": self.agent,
            "csrf": self.csrf,
            "phone": self.phone,
            "extension": self.extension,
            "created": str(self.created),
            "expires": str(self.expires),
        }


class SessionStore:
    def __init__(self, store: Store) -> None:
        self._redis = store.redis
        self._prefix = store.prefix
        self._create = store.redis.register_script(_script("session_create.lua"))
        self._touch = store.redis.register_script(_script("session_touch.lua"))
        self._delete = store.redis.register_script(_script("session_delete.lua"))

    def session_key(self, key: str) -> str:
        return f"{self._prefix}session:{key}"

    def agent_key(self, tenant: str, agent: str) -> str:
        return f"{self._prefix}agent-session:{tenant}:{agent}"

    def failures_key(self, kind: str, subject: str) -> str:
        return f"{self._prefix}signin-fail:{kind}:{subject}"

    async def create(self, session: StoredSession, *, ttl_ms: int) -> str:
        """Saves the session as the agent's only one; the handle of the one it
        replaced, or ""."""
        argv: list[str | int] = [
            ttl_ms,
            max(session.expires - session.created, 1),
            session.key,
            self.session_key(""),
        ]
        for name, value in session.fields().items():
            argv += [name, value]
        replaced = await self._create(
            keys=[self.session_key(session.key), self.agent_key(session.tenant, session.agent)],
            args=argv,
        )
        return str(replaced or "")

    async def touch(self, key: str, *, now_ms: int, idle_ms: int) -> StoredSession | None:
        raw = cast(
            list[str], await self._touch(keys=[self.session_key(key)], args=[now_ms, idle_ms])
        )
        if not raw:
            return None
        f = dict(zip(raw[::2], raw[1::2], strict=True))
        try:
            return StoredSession(
                key=key,
                handle=f["handle"],
                tenant=f["tenant"],
                agent=f["agent"],
                csrf=f["csrf"],
                phone=f["phone"],
                extension=f["extension"],
                created=int(f["created"]),
                expires=int(f["expires"]),
                role=f.get("role", "agent"),
            )
        except (KeyError, ValueError):
            return None

    async def delete(self, session: StoredSession) -> None:
        await self._delete(
            keys=[self.session_key(session.key), self.agent_key(session.tenant, session.agent)],
            args=[session.key],
        )

    # Failed sign-ins --------------------------------------------------------------

    async def failures(self, agent_subject: str, address: str) -> tuple[Count, Count]:
        keys = [self.failures_key("agent", agent_subject), self.failures_key("addr", address)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
                pipe.ttl(key)
            a, a_ttl, b, b_ttl = await pipe.execute()
        return Count(int(a or 0), max(int(a_ttl), 0)), Count(int(b or 0), max(int(b_ttl), 0))

    async def count_failure(self, agent_subject: str, address: str, *, window: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in (
                self.failures_key("agent", agent_subject),
                self.failures_key("addr", address),
            ):
                pipe.set(key, 0, ex=window, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def forget_failures(self, agent_subject: str) -> None:
        await self._redis.delete(self.failures_key("agent", agent_subject))
