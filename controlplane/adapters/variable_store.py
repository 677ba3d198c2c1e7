"""Call-associated variables in Redis: one hash per interaction,
``cp:{dc}:ix:<id>:vars``, with per variable its value (``val:<name>``, absent
= no value), version (``ver:<name>``, absent = 0), and who saved it last and
when. Saving checks the interaction and the versions in one Lua script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

from controlplane.adapters.store import Batch, Store
from controlplane.domain.variables import Stored, Write


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What the atomic save found: ``ok`` (with the new versions), ``conflict``
    (with the current state of each conflicting variable), or a refusal:
    ``gone``, ``status`` or ``party`` (with the interaction's status)."""

    outcome: str
    versions: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, Stored] = field(default_factory=dict)
    status: str = ""


class VariableStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._redis = store.redis
        script = resources.files("controlplane.adapters").joinpath("lua", "variables_save.lua")
        self._save = store.redis.register_script(script.read_text())

    def key(self, ix_id: str) -> str:
        return f"{self._store.ix_key(ix_id)}:vars"

    def initialise_on(self, pipe: Batch, ix_id: str, values: Mapping[str, str]) -> None:
        """Queue the start values of a new interaction on a batch the caller
        executes; never overwrites a value set already."""
        key = self.key(ix_id)
        for name, value in values.items():
            pipe.hsetnx(key, f"val:{name}", value)

    async def initialise(self, ix_id: str, values: Mapping[str, str]) -> None:
        """Start values of a new interaction; never overwrites a value set already."""
        if not values:
            return
        key = self.key(ix_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for name, value in values.items():
                pipe.hsetnx(key, f"val:{name}", value)
            await pipe.execute()

    async def clear(self, ix_id: str) -> None:
        """Forget every variable of the interaction (TR-4: it runs another flow)."""
        await self._redis.delete(self.key(ix_id))

    async def load(self, ix_id: str) -> dict[str, Stored]:
        raw = cast(dict[str, str], await self._redis.hgetall(self.key(ix_id)))
        names = {k.partition(":")[2] for k in raw}
        out: dict[str, Stored] = {}
        for name in names:
            at = raw.get(f"at:{name}")
            out[name] = Stored(
                value=raw.get(f"val:{name}"),
                version=int(raw.get(f"ver:{name}", "0")),
                source=raw.get(f"src:{name}") or None,
                agent=raw.get(f"by:{name}") or None,
                at=int(at) if at else None,
            )
        return out

    async def save(
        self,
        ix_id: str,
        writes: Iterable[Write],
        *,
        agent: str | None,
        statuses: Iterable[str],
        source: str,
        now: int,
    ) -> SaveOutcome:
        argv: list[str] = [agent or "", ",".join(statuses), source, str(now)]
        for w in writes:
            based_on = "" if w.based_on is None else str(w.based_on)
            argv += [w.name, based_on, "0" if w.value is None else "1", w.value or ""]
        res = cast(
            list[Any],
            await self._save(keys=[self._store.ix_key(ix_id), self.key(ix_id)], args=argv),
        )
        kind = str(res[0])
        if kind == "ok":
            pairs = res[1:]
            return SaveOutcome(
                "ok", versions={str(pairs[i]): int(pairs[i + 1]) for i in range(0, len(pairs), 2)}
            )
        if kind == "conflict":
            items = res[1:]
            conflicts = {
                str(items[i]): Stored(
                    value=str(items[i + 3]) if str(items[i + 2]) == "1" else None,
                    version=int(items[i + 1]),
                )
                for i in range(0, len(items), 4)
            }
            return SaveOutcome("conflict", conflicts=conflicts)
        return SaveOutcome(kind, status=str(res[1]) if len(res) > 1 else "")
