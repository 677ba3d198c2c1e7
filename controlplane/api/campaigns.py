"""API of preview campaigns (PC-1..PC-4).

Admin (PC-1): ``POST /v1/campaigns`` creates one, ``POST
/v1/campaigns/{id}/contacts`` adds contacts, ``DELETE /v1/campaigns/{id}``
removes it; ``GET /v1/campaigns`` and ``GET /v1/campaigns/{id}`` list them
(an agent sees the campaigns of their team, without the contact list).

Agent (PC-2, PC-3): ``POST /v1/agents/{id}/campaign-contact`` fetches the next
contact (the agent's preview), ``GET`` shows it again, ``.../skip`` skips it
and shows the next, ``.../call`` dials it (201 with the interaction,
`ringing`).

Call guide (PC-4): ``GET /v1/interactions/{id}/call-guide`` and ``PUT`` with
the answers, stored with the interaction.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from controlplane.api import docs
from controlplane.api.auth import Forbidden
from controlplane.api.common import SERVICES, Feature, Route, body, principal
from controlplane.api.schemas import Body
from controlplane.config import Role
from controlplane.domain import campaign as rules
from controlplane.domain.campaign import Campaign, Contact
from controlplane.domain.errors import NotFound

CampaignId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class CampaignRequest(Campaign, Body):
    id: CampaignId = Field(description="the campaign's ID")


class ContactsRequest(Body):
    contacts: list[Contact] = Field(min_length=1, max_length=rules.MAX_CONTACTS)


class FetchRequest(Body):
    campaign: CampaignId | None = Field(
        default=None, description="one campaign; default: the first assigned one with a contact"
    )


class GuideAnswer(Body):
    question: str = Field(max_length=63)
    answer: str = Field(max_length=rules.MAX_ANSWER + 64)


class GuideAnswersRequest(Body):
    answers: list[GuideAnswer] = Field(min_length=1, max_length=rules.MAX_QUESTIONS)


def _require_admin(role: Role) -> None:
    if role is not Role.ADMIN:
        raise Forbidden("only an admin manages campaigns", rule=rules.RULE_CAMPAIGN)


async def list_campaigns(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    team = None
    if p.role is Role.AGENT:
        team = s.cc.tenant(p.tenant).agents[p.agent or ""].team
    return web.json_response({"campaigns": await s.cc.campaigns.list_for(p.tenant, team)})


async def get_campaign(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    cid = request.match_info["campaign_id"]
    if p.role is Role.AGENT:
        team = s.cc.tenant(p.tenant).agents[p.agent or ""].team
        found = await s.cc.campaigns.describe(p.tenant, cid, with_contacts=False)
        if team not in found["teams"]:  # type: ignore[operator]
            raise NotFound(f"unknown campaign {cid!r}", rule=rules.RULE_CAMPAIGN)
        return web.json_response(found)
    return web.json_response(await s.cc.campaigns.describe(p.tenant, cid, with_contacts=True))


async def create_campaign(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    _require_admin(p.role)
    req = await body(request, CampaignRequest)
    campaign = Campaign.model_validate(req.model_dump(exclude={"id"}))
    created = await s.cc.campaigns.create(p.tenant, req.id, campaign)
    return web.json_response(created, status=201)


async def add_contacts(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    _require_admin(p.role)
    req = await body(request, ContactsRequest)
    result = await s.cc.campaigns.add_contacts(
        p.tenant, request.match_info["campaign_id"], req.contacts
    )
    return web.json_response(result)


async def delete_campaign(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    _require_admin(p.role)
    await s.cc.campaigns.delete(p.tenant, request.match_info["campaign_id"])
    return web.json_response({"deleted": request.match_info["campaign_id"]})


async def fetch_contact(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    campaign = None
    if request.can_read_body:
        campaign = (await body(request, FetchRequest)).campaign
    return web.json_response(await s.cc.campaigns.next_contact(p.tenant, agent_id, campaign))


async def current_contact(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_agent_access(agent_id)
    return web.json_response(await s.cc.campaigns.current_preview(p.tenant, agent_id))


async def skip_contact(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    return web.json_response(await s.cc.campaigns.skip(p.tenant, agent_id))


async def call_contact(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    agent_id = request.match_info["agent_id"]
    p.require_self(agent_id)
    ix = await s.cc.campaigns.call(p.tenant, agent_id)
    return web.json_response(ix.public(), status=201)


async def get_guide(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    p.require_agent_access(ix.agent or "")
    return web.json_response(await s.cc.campaigns.guide(ix))


async def put_guide(request: web.Request) -> web.Response:
    s, p = request.app[SERVICES], principal(request)
    ix = await s.cc.interaction(p.tenant, request.match_info["ix_id"])
    p.require_self(ix.agent or "")
    req = await body(request, GuideAnswersRequest)
    answers = [(a.question, a.answer) for a in req.answers]
    return web.json_response(await s.cc.campaigns.submit_answers(ix, p.agent or "", answers))


# OpenAPI --------------------------------------------------------------------------


_OBJ = {"type": "object"}
_PREVIEW = docs.content(
    _OBJ, "the preview: {campaign, contact {id, name, number, details}, expires_at}"
)
_C, _A, _I = (
    docs.path_params("campaign_id"),
    docs.path_params("agent_id"),
    docs.path_params("ix_id"),
)

FEATURE = Feature(
    name="campaigns",
    schemas=docs.model_schemas(CampaignRequest, ContactsRequest, FetchRequest, GuideAnswersRequest),
    routes=(
        Route(
            "GET",
            "/v1/campaigns",
            list_campaigns,
            {
                "summary": "the tenant's campaigns with contact counts (an agent: their team's)",
                "responses": {"200": docs.content(_OBJ, "{campaigns: [...]}"), **docs.errors(401)},
            },
        ),
        Route(
            "POST",
            "/v1/campaigns",
            create_campaign,
            {
                "summary": "create a preview campaign (admin; PC-1)",
                "requestBody": docs.json_body("CampaignRequest"),
                "responses": {
                    "201": docs.content(_OBJ, "the campaign"),
                    **docs.errors(400, 401, 403, 409),
                },
            },
        ),
        Route(
            "GET",
            "/v1/campaigns/{campaign_id}",
            get_campaign,
            {
                "summary": "a campaign (supervisors and admins: with its contact list)",
                "parameters": _C,
                "responses": {
                    "200": docs.content(_OBJ, "the campaign"),
                    **docs.errors(401, 403, 404),
                },
            },
        ),
        Route(
            "DELETE",
            "/v1/campaigns/{campaign_id}",
            delete_campaign,
            {
                "summary": "delete a campaign (admin)",
                "parameters": _C,
                "responses": {
                    "200": docs.content(_OBJ, "deleted"),
                    **docs.errors(401, 403, 404),
                },
            },
        ),
        Route(
            "POST",
            "/v1/campaigns/{campaign_id}/contacts",
            add_contacts,
            {
                "summary": "add contacts to a campaign (admin; contacts of known IDs are left "
                "alone)",
                "parameters": _C,
                "requestBody": docs.json_body("ContactsRequest"),
                "responses": {
                    "200": docs.content(_OBJ, "the campaign, with `added`"),
                    **docs.errors(400, 401, 403, 404),
                },
            },
        ),
        Route(
            "GET",
            "/v1/agents/{agent_id}/campaign-contact",
            current_contact,
            {
                "summary": "the agent's current preview (PC-2)",
                "parameters": _A,
                "responses": {"200": _PREVIEW, **docs.errors(401, 403, 404)},
            },
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/campaign-contact",
            fetch_contact,
            {
                "summary": "an available agent of an assigned team fetches the next contact "
                "(PC-2); atomic: two agents never get the same contact",
                "parameters": _A,
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": docs.ref("FetchRequest")}},
                },
                "responses": {"200": _PREVIEW, **docs.errors(400, 401, 403, 404, 409)},
            },
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/campaign-contact/skip",
            skip_contact,
            {
                "summary": "skip the previewed contact (to the end of the list) and show the next",
                "parameters": _A,
                "responses": {"200": _PREVIEW, **docs.errors(401, 403, 404, 409)},
            },
        ),
        Route(
            "POST",
            "/v1/agents/{agent_id}/campaign-contact/call",
            call_contact,
            {
                "summary": "call the previewed contact (PC-3): limits checked (409 `code` "
                "26/27), the agent's phone rings first, then the customer with the campaign's "
                "ANI",
                "parameters": _A,
                "responses": {
                    "201": docs.content(docs.ref("Interaction"), "the interaction, ringing"),
                    **docs.errors(400, 401, 403, 404, 409, 503),
                },
            },
        ),
        Route(
            "GET",
            "/v1/interactions/{ix_id}/call-guide",
            get_guide,
            {
                "summary": "the campaign's call guide and the submitted answers (PC-4)",
                "parameters": _I,
                "responses": {
                    "200": docs.content(_OBJ, "the guide"),
                    **docs.errors(401, 403, 404, 409),
                },
            },
        ),
        Route(
            "PUT",
            "/v1/interactions/{ix_id}/call-guide",
            put_guide,
            {
                "summary": "submit the answers: a complete walk of the guide from its start (PC-4)",
                "parameters": _I,
                "requestBody": docs.json_body("GuideAnswersRequest"),
                "responses": {
                    "200": docs.content(_OBJ, "the guide with the answers"),
                    **docs.errors(400, 401, 403, 404, 409),
                },
            },
        ),
    ),
)
