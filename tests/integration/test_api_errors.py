"""The HTTP layer's own answers on the live service: a 405 names the
allowed methods (RFC 9110), a header with a NUL byte is refused with 400 and
logged as one line (no traceback), and the answers of an outdial, a consult
and a transfer name the number as the dial-number rules cleaned it."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import SERVICE_PORT, Stack
from tests.integration.test_outdial import of, outdial, slots
from tests.support.constants import ECHO, NEVER_ANSWERS
from tests.support.consults import nothing_left_behind
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import connected_call, request_consult

pytestmark = pytest.mark.integration


async def test_a_405_names_the_allowed_methods(stack: Stack) -> None:
    headers = {"Authorization": "Bearer demo-globex-supervisor-token"}  # LOCAL-DEMO
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{stack.url}/v1/agents") as resp:
            assert resp.status == 405
            assert {m.strip() for m in resp.headers["Allow"].split(",")} == {"GET", "HEAD"}
            assert (await resp.json())["status"] == 405
        async with http.patch(f"{stack.url}/v1/session") as resp:
            assert resp.status == 405
            allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
            assert allowed == {"GET", "HEAD", "POST", "DELETE"}


@pytest.mark.spec("SEC-2")
async def test_a_nul_byte_in_a_header_is_refused_without_a_traceback(stack: Stack) -> None:
    log = stack.service.log_path
    before = log.stat().st_size
    reader, writer = await asyncio.open_connection("127.0.0.1", SERVICE_PORT)
    try:
        writer.write(
            b"GET /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer demo\x00-alice-token\r\n\r\n"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status_line.split()[1] == b"400", status_line
    await asyncio.sleep(0.5)  # (the log line is written after the answer)
    with log.open("rb") as f:
        f.seek(before)
        written = f.read().decode(errors="replace")
    assert "refused a malformed HTTP request" in written
    assert "Traceback" not in written and " ERROR " not in written, written
    assert "alice" not in written  # the refused bytes are not logged


@pytest.mark.spec("DN-1")
async def test_an_outdial_answer_names_the_number_as_cleaned(
    stack: Stack, phones: PhoneFactory
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")
        await alice.available()
        ix = await outdial(alice, "alice", number="+1 (555) 300-0000")
        assert ix["dialled"] == NEVER_ANSWERS == ix["dnis"]
        await alice.event("interaction.dialing", of(ix["id"]))
        cancelled = await alice.call("POST", f"/v1/interactions/{ix['id']}/cancel")
        assert cancelled["status"] == "ended"
        await alice.state_event("available")
        await phone.wait_for("closed")
        assert await slots(stack, "acme") == 0


@pytest.mark.spec("DN-1")
async def test_a_transfer_and_a_consult_answer_name_the_number_as_cleaned(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as supervisor,
    ):
        call = await connected_call(phones, ari, alice, "1001")
        ix = call.ix_id
        # a consult of a number typed with punctuation: the answer names it cleaned
        view = await request_consult(alice, ix, "dial_number", "+1 (555) 300-0000")
        assert view["dialled"] == NEVER_ANSWERS == view["consult"]["number"]
        await alice.call("DELETE", f"/v1/interactions/{ix}/consult")  # CO-1: cancelled
        after = await alice.call("GET", f"/v1/interactions/{ix}/consult")
        assert after["consult"] is None and "dialled" not in after
        await call.customer.wait_for_audio()  # back with the agent
        # a blind transfer to a number
        moved = await alice.call(
            "POST",
            f"/v1/interactions/{ix}/transfer",
            {"kind": "dial_number", "target": "+1 555.100.0000"},
        )
        assert moved["dialled"] == ECHO == moved["legs"][-1]["number"]
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix, "resolved")
        await supervisor.event("interaction.connected", lambda e: e["data"]["id"] == ix)
        await call.customer.hangup()
        await supervisor.event("interaction.ended", of(ix))
        await nothing_left_behind(ari, stack.redis.url)
