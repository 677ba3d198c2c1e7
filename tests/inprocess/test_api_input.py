"""Request bodies and their Content-Type (SEC-2): a body that does not say it
is JSON gets a clear 400 and changes nothing; the JSON media type is read
from the header itself, also where aiohttp's parser cannot read it."""

from __future__ import annotations

import aiohttp
import pytest

from tests.inprocess.conftest import Service
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess

# `0*` (a parameter name ending in the RFC 2231 continuation mark, with
# nothing before it) makes aiohttp's own Content-Type parser raise.
NOT_JSON = (";0*", "*;0*", "0*", "text/plain", "application/jsonx")


async def _put_state(service: Service, content_type: str) -> tuple[int, dict[str, str]]:
    headers = {"Authorization": "Bearer demo-alice-token", "Content-Type": content_type}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.put(f"{service.url}/v1/agents/alice/state", data=b'{"state": "available"}') as resp,
    ):
        return resp.status, await resp.json()


@pytest.mark.spec("SEC-2")
@pytest.mark.parametrize("content_type", NOT_JSON)
async def test_a_body_whose_content_type_is_no_json_is_refused_and_changes_nothing(
    service: Service, content_type: str
) -> None:
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        status, problem = await _put_state(service, content_type)
        assert status == 400, problem
        assert "JSON" in problem["message"]
        assert (await alice.call("GET", "/v1/agents/alice"))["state"] == "idle"


@pytest.mark.spec("SEC-2")
@pytest.mark.parametrize("content_type", ["application/json;0*", "Application/JSON; charset=utf-8"])
async def test_the_json_media_type_is_read_whatever_its_parameters(
    service: Service, content_type: str
) -> None:
    """(aiohttp's parser raises on the first one; the service reads the
    media type itself and ignores the parameters, as JSON has no charset)"""
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        status, answer = await _put_state(service, content_type)
        assert status == 200, answer
        assert answer["state"] == "available"
