"""Preview campaigns (PC-1..PC-4).

Campaigns come from the configuration (`[tenants.<id>.campaigns.<id>]`,
loaded into Redis the first time a tenant's campaigns are used) and from the
admin API. Each campaign keeps in Redis (keys under the datacenter's hash
tag, so the scripts below touch one cluster slot):

- its definition (name, dial mode, teams, ANI, call guide),
- its contacts, each `ready`, `preview:<agent>`, `dialing:<interaction>` or
  `done:<interaction>`,
- the `ready` contacts in a sorted set, in list order; a skipped contact
  goes to the end, a contact whose call failed back to its own place.

An `available` agent of an assigned team fetches the next contact: one
atomic step takes it from the `ready` set and makes it the agent's preview,
so two agents never get the same contact (PC-2). A preview lapses after
PREVIEW_SECONDS (the contact is ready again). Call dials the contact like an
outdial (`controlplane.outbound`), with the campaign's ANI, after the limits
are checked (PC-3).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controlplane.adapters.campaign_store import CampaignStore
from controlplane.adapters.store import Store
from controlplane.config import Tenant
from controlplane.core.agents import Agents
from controlplane.domain import campaign as rules
from controlplane.domain import interaction as ix_rules
from controlplane.domain import outdial as outdial_rules
from controlplane.domain.campaign import Campaign, Contact
from controlplane.domain.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation
from controlplane.domain.interaction import Interaction, Kind, Status, now_ms
from controlplane.features.outbound.service import Outbound
from controlplane.notifier import Notifier

log = logging.getLogger(__name__)

PREVIEW_SECONDS = 300  # a contact previewed but neither called nor skipped is ready again
SEED_LOCK_MS = 5000


class Campaigns:
    def __init__(
        self, *, store: Store, notifier: Notifier, agents: Agents, outbound: Outbound
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._agents = agents
        self._outbound = outbound
        self._db = CampaignStore(store)

    # Definitions (PC-1) ------------------------------------------------------------

    async def _ensure_seeded(self, tenant_id: str) -> None:
        """The configuration's campaigns are loaded into Redis once (by one replica)."""
        if await self._db.seeded(tenant_id):
            return
        if await self._db.claim_seeding(tenant_id, SEED_LOCK_MS):
            tenant = self._agents.tenant(tenant_id)
            for cid, campaign in tenant.campaigns.items():
                await self._write(tenant_id, cid, campaign, source="config")
            await self._db.mark_seeded(tenant_id)
            return
        for _ in range(50):  # another replica is loading them
            await asyncio.sleep(0.05)
            if await self._db.seeded(tenant_id):
                return

    async def _write(self, tenant_id: str, cid: str, campaign: Campaign, *, source: str) -> bool:
        """Store a new campaign; False when one of that ID exists."""
        definition = campaign.model_dump(mode="json", exclude={"contacts"})
        definition["source"] = source
        if not await self._db.add_definition(tenant_id, cid, definition):
            return False
        await self._add_contacts(tenant_id, cid, campaign.contacts)
        return True

    async def _add_contacts(
        self, tenant_id: str, cid: str, contacts: tuple[Contact, ...] | list[Contact]
    ) -> int:
        added = 0
        for contact in contacts:
            body = contact.model_dump(mode="json", exclude={"id"})
            if await self._db.add_contact(tenant_id, cid, contact.id, body):
                added += 1
        return added

    async def _definition(self, tenant_id: str, cid: str) -> Campaign:
        await self._ensure_seeded(tenant_id)
        data = await self._db.definition(tenant_id, cid)
        if data is None:
            raise NotFound(f"unknown campaign {cid!r}", rule=rules.RULE_CAMPAIGN, campaign=cid)
        data.pop("source", None)
        return Campaign.model_validate(data)

    async def _all(self, tenant_id: str) -> dict[str, Campaign]:
        await self._ensure_seeded(tenant_id)
        raw = await self._db.definitions(tenant_id)
        out: dict[str, Campaign] = {}
        for cid in sorted(raw):
            data = raw[cid]
            data.pop("source", None)
            out[cid] = Campaign.model_validate(data)
        return out

    def _check_numbers(self, contacts: tuple[Contact, ...] | list[Contact]) -> None:
        """DN-1..DN-3 for every contact, so that a bad list is refused whole."""
        for index, contact in enumerate(contacts):
            try:
                self._outbound.validate_number(contact.number, None)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"contacts[{index}] ({contact.id}): {exc.message}",
                    rule=exc.rule,
                    field=f"contacts[{index}].number",
                ) from None

    def _check_teams(self, tenant: Tenant, campaign: Campaign) -> None:
        for team in campaign.teams:
            if team not in tenant.teams:
                raise InvalidInput(
                    f"unknown team {team!r}",
                    rule=rules.RULE_CAMPAIGN,
                    field="teams",
                    allowed=sorted(tenant.teams),
                )

    async def create(self, tenant_id: str, cid: str, campaign: Campaign) -> dict[str, object]:
        """PC-1: the admin creates a campaign."""
        tenant = self._agents.tenant(tenant_id)
        self._check_teams(tenant, campaign)
        self._check_numbers(campaign.contacts)
        await self._ensure_seeded(tenant_id)
        if not await self._write(tenant_id, cid, campaign, source="api"):
            raise RuleViolation(
                f"campaign {cid!r} exists already", rule=rules.RULE_CAMPAIGN, campaign=cid
            )
        log.info("campaign %s/%s created with %s contacts", tenant_id, cid, len(campaign.contacts))
        return await self.describe(tenant_id, cid, with_contacts=False)

    async def add_contacts(
        self, tenant_id: str, cid: str, contacts: list[Contact]
    ) -> dict[str, object]:
        await self._definition(tenant_id, cid)
        self._check_numbers(contacts)
        added = await self._add_contacts(tenant_id, cid, contacts)
        result = await self.describe(tenant_id, cid, with_contacts=False)
        result["added"] = added
        return result

    async def delete(self, tenant_id: str, cid: str) -> None:
        await self._definition(tenant_id, cid)
        await self._db.delete(tenant_id, cid)
        log.info("campaign %s/%s deleted", tenant_id, cid)

    async def describe(self, tenant_id: str, cid: str, *, with_contacts: bool) -> dict[str, object]:
        campaign = await self._definition(tenant_id, cid)
        states = await self._db.contact_states(tenant_id, cid)
        counts = {"total": len(states), "ready": 0, "previewing": 0, "dialing": 0, "done": 0}
        for state in states.values():
            key = {"preview": "previewing"}.get(state.split(":")[0], state.split(":")[0])
            if key in counts:
                counts[key] += 1
        out: dict[str, object] = {
            "id": cid,
            "name": campaign.name,
            "dial_mode": campaign.dial_mode,
            "teams": list(campaign.teams),
            "ani": campaign.ani,
            "call_guide": campaign.call_guide is not None,
            "contacts": counts,
        }
        if with_contacts:
            out["contact_list"] = [
                {"id": c, **body, "state": states.get(c, "ready").split(":")[0]}
                for c, body in await self._db.contacts_in_order(tenant_id, cid)
            ]
        return out

    async def list_for(self, tenant_id: str, team: str | None) -> list[dict[str, object]]:
        """The tenant's campaigns (of one team, for an agent)."""
        out = []
        for cid, campaign in (await self._all(tenant_id)).items():
            if team is None or team in campaign.teams:
                out.append(await self.describe(tenant_id, cid, with_contacts=False))
        return out

    # PC-2: fetch, skip -------------------------------------------------------------

    async def _require_available(self, tenant_id: str, agent_id: str, rule: str) -> str:
        tenant = self._agents.tenant(tenant_id)
        agent = tenant.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"unknown agent {agent_id!r}", agent=agent_id)
        record = await self._store.agent(tenant_id, agent_id)
        outdial_rules.require_may_start(
            record.state, allowed=outdial_rules.CAMPAIGN_STATES, rule=rule
        )
        return agent.team

    async def _campaigns_of(self, tenant_id: str, team: str, wanted: str | None) -> list[str]:
        if wanted is not None:
            rules.require_team(wanted, await self._definition(tenant_id, wanted), team)
            return [wanted]
        return [cid for cid, c in (await self._all(tenant_id)).items() if team in c.teams]

    async def next_contact(
        self, tenant_id: str, agent_id: str, campaign: str | None = None
    ) -> dict[str, object]:
        """PC-2: the agent's preview: the next contact with its details."""
        team = await self._require_available(tenant_id, agent_id, rules.RULE_PREVIEW)
        cids = await self._campaigns_of(tenant_id, team, campaign)
        got = await self._db.take_next(
            tenant_id, agent_id, cids, now=now_ms(), preview_ms=PREVIEW_SECONDS * 1000
        )
        if got is None:
            raise NotFound("no campaign contact to call", rule=rules.RULE_PREVIEW)
        return await self._preview(tenant_id, agent_id, *got)

    async def current_preview(self, tenant_id: str, agent_id: str) -> dict[str, object]:
        current = await self._db.preview(tenant_id, agent_id)
        if current is None:
            raise NotFound("the agent previews no campaign contact", rule=rules.RULE_PREVIEW)
        return await self._preview(tenant_id, agent_id, *current)

    async def _preview(
        self, tenant_id: str, agent_id: str, cid: str, contact_id: str
    ) -> dict[str, object]:
        campaign = await self._definition(tenant_id, cid)
        contact = await self._contact(tenant_id, cid, contact_id)
        ttl = await self._db.preview_ttl_ms(tenant_id, agent_id)
        return {
            "campaign": {
                "id": cid,
                "name": campaign.name,
                "ani": campaign.ani,
                "call_guide": campaign.call_guide is not None,
            },
            "contact": {
                "id": contact.id,
                "name": contact.name,
                "number": contact.number,
                "details": dict(contact.details),
            },
            "expires_at": ix_rules.iso(now_ms() + max(ttl, 0)),
        }

    async def _contact(self, tenant_id: str, cid: str, contact_id: str) -> Contact:
        body = await self._db.contact(tenant_id, cid, contact_id)
        if body is None:
            raise NotFound(f"unknown contact {contact_id!r}", rule=rules.RULE_PREVIEW)
        return Contact.model_validate({"id": contact_id, **body})

    async def _own_preview(self, tenant_id: str, agent_id: str) -> tuple[str, str]:
        current = await self._db.preview(tenant_id, agent_id)
        if current is None:
            raise InvalidTransition("fetch a campaign contact first", rule=rules.RULE_PREVIEW)
        return current

    async def skip(self, tenant_id: str, agent_id: str) -> dict[str, object]:
        """PC-2: skip the previewed contact (it goes to the end of the list) and
        show the next one."""
        await self._require_available(tenant_id, agent_id, rules.RULE_PREVIEW)
        cid, contact = await self._own_preview(tenant_id, agent_id)
        await self._db.leave_preview(tenant_id, agent_id, cid, contact, "skip")
        log.info("campaign %s/%s: %s skipped %s", tenant_id, cid, agent_id, contact)
        return await self.next_contact(tenant_id, agent_id)

    # PC-3: call ---------------------------------------------------------------------

    async def call(self, tenant_id: str, agent_id: str) -> Interaction:
        """PC-3: dial the previewed contact like an outdial: limits checked, the
        agent's phone rings first (`ringing`), then the customer."""
        await self._require_available(tenant_id, agent_id, rules.RULE_CALL)
        cid, contact_id = await self._own_preview(tenant_id, agent_id)
        campaign = await self._definition(tenant_id, cid)
        contact = await self._contact(tenant_id, cid, contact_id)
        number = self._outbound.validate_number(contact.number, None)
        ix_id = ix_rules.new_interaction_id()
        taken = await self._db.leave_preview(tenant_id, agent_id, cid, contact_id, f"call:{ix_id}")
        if not taken:
            raise InvalidTransition("fetch a campaign contact first", rule=rules.RULE_PREVIEW)
        try:
            ix = await self._outbound.place(
                tenant_id,
                agent_id,
                ix_id=ix_id,
                number=number,
                ani=campaign.ani,
                kind=Kind.CAMPAIGN,
                label=rules.label(campaign),
                source="campaign",
                allowed=outdial_rules.CAMPAIGN_STATES,
                rule=rules.RULE_CALL,
                campaign=cid,
                contact=contact_id,
            )
        except RuleViolation:
            # refused before a call existed (limit, state): the agent keeps the preview
            await self._move_contact(
                tenant_id, cid, contact_id, f"dialing:{ix_id}", f"preview:{agent_id}", agent_id
            )
            raise
        log.info("campaign %s/%s: %s calls %s (%s)", tenant_id, cid, agent_id, contact_id, ix.id)
        return ix

    async def _move_contact(  # noqa: PLR0917 (the move's parts, in the script's order)
        self,
        tenant_id: str,
        cid: str,
        contact_id: str,
        expected: str,
        new: str,
        agent_id: str = "",
    ) -> bool:
        return await self._db.move_contact(
            tenant_id,
            cid,
            contact_id,
            expected,
            new,
            agent=agent_id,
            now=now_ms(),
            preview_ms=PREVIEW_SECONDS * 1000,
        )

    async def attempt_connected(self, ix: Interaction, cid: str, contact: str | None) -> None:
        """PC-3: the customer answered: the contact is done."""
        if contact:
            await self._move_contact(ix.tenant, cid, contact, f"dialing:{ix.id}", f"done:{ix.id}")

    async def attempt_failed(self, ix: Interaction, cid: str, contact: str | None) -> None:
        """PC-3: a failed call makes the contact callable again, at its place."""
        if contact and await self._move_contact(
            ix.tenant, cid, contact, f"dialing:{ix.id}", "ready"
        ):
            log.info("campaign %s/%s: %s callable again", ix.tenant, cid, contact)

    # PC-4: the call guide -------------------------------------------------------------

    async def _guide_of(self, ix: Interaction) -> tuple[str, rules.CallGuide]:
        record = await self._outbound.record(ix.id)
        if ix.kind is not Kind.CAMPAIGN or record is None or not record.campaign:
            raise RuleViolation("this is no campaign call", rule=rules.RULE_GUIDE)
        campaign = await self._definition(ix.tenant, record.campaign)
        if campaign.call_guide is None:
            raise NotFound("the campaign has no call guide", rule=rules.RULE_GUIDE)
        return record.campaign, campaign.call_guide

    async def guide(self, ix: Interaction) -> dict[str, object]:
        """PC-4: the campaign's call guide and the answers submitted for the call."""
        cid, guide = await self._guide_of(ix)
        return {
            "interaction_id": ix.id,
            "campaign": cid,
            "guide": rules.guide_view(guide),
            "submitted": await self._db.guide_answers(ix.id),
        }

    async def submit_answers(
        self, ix: Interaction, agent_id: str, answers: list[tuple[str, str]]
    ) -> dict[str, object]:
        """PC-4: the agent submits the answers; they are stored with the
        interaction (the connected agent, or in wrap-up before the reason)."""
        if ix.agent != agent_id:
            raise RuleViolation("only the call's agent answers its guide", rule=rules.RULE_GUIDE)
        if ix.status is not Status.CONNECTED and not (
            ix.status is Status.ENDED and ix.connected_at and ix.wrap_up_reason is None
        ):
            raise InvalidTransition(
                "answers are submitted during the call or its wrap-up",
                rule=rules.RULE_GUIDE,
                status=ix.status.value,
            )
        _, guide = await self._guide_of(ix)
        walk = rules.check_answers(guide, answers)
        stored: dict[str, Any] = {
            "answers": walk,
            "submitted_by": agent_id,
            "submitted_at": ix_rules.iso(now_ms()),
        }
        await self._db.save_guide_answers(ix.id, stored)
        await self._notifier.publish(
            "interaction.call_guide_submitted",
            ix.tenant,
            {"interaction_id": ix.id, **stored},
            agent=agent_id,
        )
        return await self.guide(ix)
