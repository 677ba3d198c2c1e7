"""Call-associated data (CAD-1..CAD-7): the variables of an interaction's
flow, initialised when the interaction is created, edited by the connected
agent against versions, set by the flow while the call is in progress, and
shown to the interaction's parties (secure values masked for everybody else).

Values (secure or not) are never logged, never sent to Asterisk (so never in
AMI) and travel only in private events to the parties; logs name variables
and versions only (CAD-6).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from controlplane.adapters.store import Batch, Store
from controlplane.adapters.variable_store import VariableStore
from controlplane.config import Config, Flow
from controlplane.domain import variables as rules
from controlplane.domain.errors import InvalidTransition
from controlplane.domain.interaction import Interaction, now_ms
from controlplane.domain.values import Raw
from controlplane.domain.variables import Stored
from controlplane.notifier import Notifier

log = logging.getLogger(__name__)

UPDATED_EVENT = "interaction.variables_updated"


class CallVariables:
    def __init__(self, config: Config, store: Store, notifier: Notifier) -> None:
        self._config = config
        self._store = store
        self._repo = VariableStore(store)
        self._notifier = notifier

    def flow(self, ix: Interaction) -> Flow:
        tenant = self._config.tenants.get(ix.tenant)
        return tenant.flows.get(ix.flow, Flow()) if tenant else Flow()

    async def initialise(self, ix: Interaction, provided: Mapping[str, Raw] | None = None) -> None:
        """CAD-1: a new interaction starts with the flow's defaults (and any
        values the flow provides, validated like the flow's later saves)."""
        await self._repo.initialise(ix.id, rules.initial_values(self.flow(ix), provided))

    def initialise_on(self, pipe: Batch, ix: Interaction) -> None:
        """CAD-1: a new interaction's flow defaults, queued on the batch of its
        first save."""
        self._repo.initialise_on(pipe, ix.id, rules.initial_values(self.flow(ix), None))

    async def restart(self, ix: Interaction, provided: Mapping[str, Raw]) -> None:
        """TR-4: the interaction runs another flow (`ix.flow`): its variables
        start again, from the values provided and else that flow's defaults,
        each at version 0."""
        await self._repo.clear(ix.id)
        await self.initialise(ix, provided)

    async def current(self, ix_id: str) -> dict[str, Stored]:
        """The saved state of every variable that has one (e.g. to copy on transfer)."""
        return await self._repo.load(ix_id)

    async def shown(self, ix: Interaction, *, reveal_secure: bool) -> list[dict[str, object]]:
        """CAD-2/CAD-5: the shown variables with their last saved values and versions."""
        return rules.view(self.flow(ix), await self._repo.load(ix.id), reveal_secure=reveal_secure)

    async def for_offer(self, ix: Interaction) -> list[dict[str, object]]:
        """IN-1: the offer carries the variables' current values; it goes to the
        offered agent only (a private event), so secure values are shown."""
        return await self.shown(ix, reveal_secure=True)

    async def read(self, ix: Interaction, *, viewer: str | None) -> dict[str, object]:
        """CAD-5/CAD-6: a party (``viewer`` is one of its agents) sees every
        value; anybody else of the tenant (``viewer`` None) sees secure ones masked."""
        if viewer is not None:
            rules.require_party(ix, viewer)
        variables = await self.shown(ix, reveal_secure=viewer is not None)
        return self._document(ix, variables, viewer)

    def _document(
        self, ix: Interaction, variables: list[dict[str, object]], viewer: str | None
    ) -> dict[str, object]:
        can_edit = False
        if viewer is not None:
            try:
                rules.require_editor(ix, viewer)
                can_edit = True
            except rules.NotAllowed:
                pass
        return {
            "interaction_id": ix.id,
            "status": ix.status.value,
            "can_edit": can_edit,
            "variables": variables,
        }

    def check_editor(self, ix: Interaction, agent: str) -> None:
        """CAD-3: refuses (403) anybody but the agent connected to the interaction."""
        rules.require_editor(ix, agent)

    async def save(
        self, ix: Interaction, agent: str, edits: Mapping[str, tuple[Raw, int]]
    ) -> dict[str, object]:
        """CAD-3/CAD-4: the connected agent saves values, each based on the
        version it was read at. All or nothing; the first save wins."""
        rules.require_editor(ix, agent)
        flow = self.flow(ix)
        writes = rules.plan_agent_edit(flow, edits)
        result = await self._repo.save(
            ix.id,
            writes,
            agent=agent,
            statuses=rules.agent_edit_statuses(),
            source="agent",
            now=now_ms(),
        )
        if result.outcome == "conflict":
            log.info(
                "interaction %s: save by %s refused, changed meanwhile: %s",
                ix.id,
                agent,
                ", ".join(f"{n} (now v{s.version})" for n, s in result.conflicts.items()),
            )
            # the saver is the connected agent, a party: secure values are shown
            raise rules.conflict(flow, result.conflicts, reveal_secure=True)
        if result.outcome != "ok":
            raise rules.refused_by_store(ix, result.outcome, result.status)
        await self._saved(ix, flow, result.versions, source="agent", by=agent)
        return self._document(ix, await self.shown(ix, reveal_secure=True), agent)

    async def set_by_flow(self, ix: Interaction, values: Mapping[str, Raw]) -> dict[str, object]:
        """CAD-7: the flow sets variables while the call is in progress; the
        agent on the call sees the new values at once (an event) and on GET."""
        flow = self.flow(ix)
        writes = rules.plan_flow_set(flow, values)
        result = await self._repo.save(
            ix.id,
            writes,
            agent=None,
            statuses=rules.flow_set_statuses(),
            source="flow",
            now=now_ms(),
        )
        if result.outcome == "gone":
            raise rules.refused_by_store(ix, result.outcome, result.status)
        if result.outcome != "ok":
            raise InvalidTransition(
                f"the interaction is {result.status}: the flow sets variables while it is "
                "in progress",
                rule="CAD-7",
                status=result.status,
            )
        await self._saved(ix, flow, result.versions, source="flow", by=None)
        return {
            "interaction_id": ix.id,
            "versions": result.versions,
        }

    async def _saved(
        self, ix: Interaction, flow: Flow, versions: dict[str, int], *, source: str, by: str | None
    ) -> None:
        log.info(
            "interaction %s: variables saved by %s: %s",
            ix.id,
            by or source,
            ", ".join(f"{n} v{v}" for n, v in sorted(versions.items())),
        )
        # Re-read: a party is told the state as saved (including a later save).
        current = await self._repo.load(ix.id)
        latest = await self._store.interaction(ix.id)  # it may have been offered meanwhile
        changed = rules.view(flow, current, reveal_secure=True, only=frozenset(versions))
        if not changed:
            return
        for agent in sorted(rules.parties(latest or ix)):
            await self._notifier.publish(
                UPDATED_EVENT,
                ix.tenant,
                {
                    "interaction_id": ix.id,
                    "source": source,
                    "updated_by": by,
                    "variables": changed,
                },
                agent=agent,
                private=True,
            )
