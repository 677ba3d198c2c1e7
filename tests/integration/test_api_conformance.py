"""The live service against its own OpenAPI document: property-based
requests (schemathesis) to every documented operation, with an agent's and
a supervisor's token of the globex tenant (which no other test uses; the
autouse fixture resets the state afterwards). Each answer is checked against
the document: no 5xx, only documented status codes, headers, content types
and bodies as documented, schema-violating input refused, and schema-valid
input refused only by a named rule."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case
from schemathesis.checks import CheckContext, ignored_auth, positive_data_acceptance
from schemathesis.core.transport import Response
from schemathesis.openapi import from_dict

from controlplane.api.openapi import build_openapi
from tests.integration.conftest import SERVICE_PORT, Stack

pytestmark = pytest.mark.integration

AGENT = {"Authorization": "Bearer demo-gina-token"}  # LOCAL-DEMO token of globex's agent
SUPERVISOR = {"Authorization": "Bearer demo-globex-supervisor-token"}  # LOCAL-DEMO
WEBSOCKETS = {"/v1/events", "/v1/supervisor/events", "/v1/phone/ws"}

schema = from_dict(build_openapi())
schema.config.update(base_url=f"http://127.0.0.1:{SERVICE_PORT}")


def refused_only_by_a_rule(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A schema-valid request may still be refused by a rule about its
    content (an unknown queue, a day past the retention, a number the dial
    plan does not allow): then the 400 names the rule. A 400 without a rule
    is the form check refusing what the document allows."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if case.operation.path in WEBSOCKETS:  # (a plain GET is no upgrade: 400, documented)
        return None
    body = response.json()
    rule = body.get("details", {}).get("rule") if isinstance(body, dict) else None
    assert rule, f"a schema-valid request refused without a rule: {response.text[:300]}"
    return None


async def test_the_service_serves_this_document(stack: Stack) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.url}/openapi.json") as resp:
        assert resp.status == 200
        assert await resp.json() == build_openapi()


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_service_answers_as_its_document_says(stack: Stack, case: Case[Any]) -> None:
    # The requests carry a valid token, so the check that a made-up credential
    # is refused does not apply (tests/integration/test_security.py covers it).
    for headers in (AGENT, SUPERVISOR):
        case.call_and_validate(
            headers=headers,
            timeout=10,
            excluded_checks=[ignored_auth, positive_data_acceptance],
            additional_checks=[refused_only_by_a_rule],
        )
