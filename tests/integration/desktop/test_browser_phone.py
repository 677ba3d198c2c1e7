"""The browser phone end to end (PH-1..PH-4): the desktop in headless
Chromium inside the test network namespace registers its WebRTC endpoint
through /v1/phone/ws, rings, answers, and carries audio both ways through
Asterisk (DTLS-SRTP) with the real customer phones of the other tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser

from controlplane.adapters.ari import AriClient, AriError
from tests.integration.conftest import SERVICE_PORT, Stack
from tests.support.asterisk import channels_of_bridge, wait_until
from tests.support.browser import HOST_ADDRESS, PhonePage, browser_files, netns_browser
from tests.support.constants import ECHO, SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory
from tests.support.scenes import connected_call, request_consult
from tests.support.sipws import register

pytestmark = pytest.mark.integration

ORIGIN = f"http://{HOST_ADDRESS}:{SERVICE_PORT}"
BROWSER_EXT = {"alice": "2001", "bob": "2002"}


# Fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
async def netns_chromium(stack: Stack, tmp_path: Path) -> AsyncIterator[Browser]:
    async with netns_browser(browser_files(tmp_path / "chromium"), ORIGIN) as b:
        yield b


PageFactory = Callable[[str], Awaitable[PhonePage]]


@pytest.fixture
async def desk(netns_chromium: Browser) -> AsyncIterator[PageFactory]:
    """Opens an agent's desktop, signed in with the browser phone, and waits
    until the header shows it registered. Afterwards each page stops its
    phone and signs out."""
    pages: list[PhonePage] = []

    async def open_desk(agent: str) -> PhonePage:
        context = await netns_chromium.new_context()
        page = await context.new_page()
        await page.goto(f"{ORIGIN}/?phonetest")
        body = {"agent": agent, "password": f"demo-{agent}-password", "phone": "browser"}
        status = await page.evaluate(
            """async (body) => (await fetch('/v1/session', {method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify(body)})).status""",
            body,
        )
        assert status == 200, status
        await page.reload()
        desk = PhonePage(context, page, ORIGIN)
        pages.append(desk)
        await page.wait_for_selector('[data-phone="browser"][data-reg="registered"]', timeout=10000)
        return desk

    try:
        yield open_desk
    finally:
        for desk in pages:
            await desk.eval(
                """async () => {
                    await window.cpPhone.stop();
                    const s = await fetch('/v1/session');
                    if (s.ok) {
                        const {csrf_token} = await s.json();
                        await fetch('/v1/session', {method: 'DELETE',
                            headers: {'X-CSRF-Token': csrf_token}});
                    }
                }"""
            )
            await desk.context.close()


async def endpoint_state(ari: AriClient, resource: str) -> str:
    found = await ari.request("GET", f"/endpoints/PJSIP/{resource}")
    return str(found.get("state", ""))


async def legs(ari: AriClient, ix_id: str) -> tuple[str, str]:
    """(customer channel, agent channel) in the interaction's bridge."""
    members = await channels_of_bridge(ari, ix_id)
    customer = agent = ""
    for channel_id in members:
        name = str((await ari.channel(channel_id)).get("name", ""))
        if name.startswith("PJSIP/carrier-") or name.startswith("Local/"):
            customer = channel_id
        elif name.startswith("PJSIP/2"):
            agent = channel_id
    assert customer and agent, members
    return customer, agent


async def tone_count(ari: AriClient, channel_id: str, direction: str) -> int:
    value = await ari.request(
        "GET", f"/channels/{channel_id}/variable", params={"variable": f"TONE_DETECT({direction})"}
    )
    return int(value.get("value") or 0)


async def detect_tone(ari: AriClient, channel_id: str, hz: int, direction: str) -> None:
    """Count onsets of a tone of `hz` the channel sends ('t') or receives ('r')."""
    await ari.request(
        "POST",
        f"/channels/{channel_id}/variable",
        params={"variable": f"TONE_DETECT({hz},300,{direction})", "value": ""},
    )


async def accept(desk: PhonePage) -> None:
    """The offer rings in the browser: Accept (the popover's button)."""
    button = desk.page.locator("#offer button.accept")
    await button.wait_for(state="visible", timeout=10000)
    await wait_until(button.is_enabled, timeout=10, what="Accept to be enabled (ringing)")
    await button.click()
    await wait_until(
        lambda: _flag(desk, "inCall"), timeout=10, what="the browser phone to be in the call"
    )


async def _flag(desk: PhonePage, name: str) -> bool:
    return bool((await desk.flags())[name])


async def given_browser_call(
    desk: PageFactory, phones: PhoneFactory, alice: Desktop, *, tone_hz: int = 620
) -> tuple[PhonePage, Phone, str]:
    """Alice, on the browser phone and available, takes a customer's call."""
    page = await desk("alice")
    await alice.available()
    customer = await phones.customer("+15557770001", tone_hz=tone_hz)
    await customer.dial(SUPPORT)
    offered = (await alice.event("interaction.offered"))["data"]
    await accept(page)
    await alice.event("interaction.connected")
    await customer.wait_for("established")
    return page, customer, str(offered["interaction_id"])


# PH-1, PH-2 ---------------------------------------------------------------------------


@pytest.mark.spec("PH-1", "PH-2", "PH-3", "DSK-2")
async def test_browser_phone_registers_rings_answers_and_carries_audio_both_ways(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        page, customer, ix_id = await given_browser_call(desk, phones, alice, tone_hz=440)
        assert await endpoint_state(ari, "2001") == "online"
        record = await alice.me()
        assert record["extension"] == "2001" and record["state"] == "connected"
        customer_leg, agent_leg = await legs(ari, ix_id)
        # DTLS-SRTP: the browser's channel is encrypted
        assert (await ari.channel(agent_leg))["name"].startswith("PJSIP/2001-")

        # browser -> customer: the fake microphone's 1 kHz tone reaches the customer
        await detect_tone(ari, customer_leg, 1000, "t")
        await wait_until(
            lambda: _at_least(tone_count(ari, customer_leg, "tx"), 1),
            timeout=5,
            what="1 kHz sent to the customer",
        )
        await customer.wait_for_audio(-40)
        # customer -> browser: the customer's 440 Hz peaks in the page
        hz, level = await page.peak_hz(1.5)
        assert abs(hz - 440) < 25 and level > -60, (hz, level)

        # mute: the customer hears silence; unmuted the tone comes back
        await page.eval("() => window.cpPhone.setMuted(true)")
        assert (await page.flags())["muted"]
        await customer.wait_for_silence(-60, timeout=5)
        onsets = await tone_count(ari, customer_leg, "tx")
        await page.eval("() => window.cpPhone.setMuted(false)")
        await customer.wait_for_audio(-40, timeout=5)
        await wait_until(
            lambda: _at_least(tone_count(ari, customer_leg, "tx"), onsets + 1),
            timeout=5,
            what="the 1 kHz tone again after unmute",
        )

        # DTMF as RFC 4733: the customer's phone gets the digits as events
        customer.clear_events()
        await page.eval("() => window.cpPhone.sendDtmf('5')")
        dtmf = await customer.wait_for("dtmf", timeout=5)
        assert str(dtmf.raw.get("param", "")).startswith("5"), dtmf.raw

        # hanging up in the browser is the agent's hang-up: wrap-up
        await page.eval("() => window.cpPhone.hangup()")
        await alice.state_event("wrap_up")
        ended = (await alice.event("interaction.ended"))["data"]
        assert ended["id"] == ix_id, ended
        await customer.wait_for("closed")
        assert not (await page.flags())["inCall"]
        await alice.wrap_up(ix_id, "resolved")


async def _at_least(count: Awaitable[int], wanted: int) -> bool:
    return await count >= wanted


@pytest.mark.spec("PH-2", "RONA-1")
async def test_rejecting_a_ringing_offer_in_the_browser_is_a_ring_no_answer(
    stack: Stack, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        page = await desk("alice")
        await alice.available()
        customer = await phones.customer("+15557770004")
        await customer.dial(SUPPORT)
        offered = (await alice.event("interaction.offered"))["data"]
        await wait_until(lambda: _flag(page, "incoming"), timeout=10, what="the browser to ring")
        await page.eval("() => window.cpPhone.hangup()")
        rona = (await alice.state_event("rona"))["data"]
        assert rona["previous"] == "reserved", rona
        assert not (await page.flags())["incoming"]
        await customer.wait_for("established")  # back in the queue, hearing music
        await customer.wait_for_audio()
        async with Desktop(stack.url, "demo-supervisor-token") as supervisor:
            ix = await supervisor.call("GET", f"/v1/interactions/{offered['interaction_id']}")
        assert ix["status"] == "queued", ix["status"]
        await customer.hangup()


@pytest.mark.spec("PH-1", "ST-4")
async def test_lost_registration_is_shown_and_gets_no_offer_until_it_is_back(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        page = await desk("alice")
        await alice.available()
        await page.page.wait_for_selector("#phone-warning", state="detached")
        # the page sees the registration's 200 OK; Asterisk marks the
        # endpoint online a moment after sending it
        await wait_until(
            lambda: _equals(endpoint_state(ari, "2001"), "online"),
            timeout=5,
            what="Asterisk to see the contact",
        )
        device = await alice.call("GET", "/v1/agents/alice/device")
        assert device == {
            "extension": "2001",
            "kind": "browser",
            "registered": True,
            "in_use": False,
            "offerable": True,
        }

        await page.eval("() => window.cpPhone.stop()")
        await page.page.wait_for_selector("#phone-warning", timeout=5000)
        assert await page.page.get_attribute("[data-phone=browser]", "data-reg") == "off"
        await wait_until(
            lambda: _equals(endpoint_state(ari, "2001"), "offline"),
            timeout=5,
            what="Asterisk to drop the contact",
        )
        # the service's view: not registered, no offers
        device = await alice.call("GET", "/v1/agents/alice/device")
        assert device["registered"] is False and device["offerable"] is False, device
        customer = await phones.customer("+15557770002")
        await customer.dial(SUPPORT)
        await customer.wait_for("established")  # (queued: the caller hears music)
        await asyncio.sleep(3)  # longer than a routing tick and a ring
        assert not [e for e in alice.events if e["type"] == "interaction.offered"]
        assert (await alice.me())["state"] == "available"  # no RONA either

        await page.eval(
            """async () => {
                const s = await (await fetch('/v1/session')).json();
                window.cpPhone.start(s.phone.sip);
            }"""
        )
        await page.page.wait_for_selector('[data-reg="registered"]', timeout=10000)
        await page.page.wait_for_selector("#phone-warning", state="detached")
        await alice.event("interaction.offered", timeout=10)
        await page.page.locator("#offer button.accept").wait_for(state="visible")
        await customer.hangup()
        await alice.event("interaction.ended", timeout=10)
        await wait_until(
            lambda: _not(_flag(page, "incoming")), timeout=5, what="the ringing to stop"
        )


async def _equals(value: Awaitable[str], wanted: str) -> bool:
    return await value == wanted


async def _not(value: Awaitable[bool]) -> bool:
    return not await value


# PH-4 ---------------------------------------------------------------------------------


class SessionClient:
    """An agent's desktop session as a plain HTTP client (cookie jar)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.body: dict[str, Any] = {}

    async def sign_in(self, agent: str, phone: str = "browser") -> dict[str, Any]:
        body = {"agent": agent, "password": f"demo-{agent}-password", "phone": phone}
        if phone == "extension":
            body["extension"] = {"alice": "1001", "bob": "1002"}[agent]
        async with self.http.post(f"{self.base}/v1/session", json=body) as resp:
            assert resp.status == 200, await resp.text()
            self.body = await resp.json()
        return self.body

    async def sign_out(self) -> None:
        headers = {"X-CSRF-Token": self.body["csrf_token"]}
        async with self.http.delete(f"{self.base}/v1/session", headers=headers) as resp:
            assert resp.status in (200, 204), await resp.text()

    async def text(self, path: str) -> str:
        async with self.http.get(f"{self.base}{path}") as resp:
            return await resp.text()


@pytest.fixture
async def sessions(stack: Stack) -> AsyncIterator[Callable[[], SessionClient]]:
    made: list[aiohttp.ClientSession] = []

    def new() -> SessionClient:
        http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=15)
        )
        made.append(http)
        return SessionClient(http, stack.url)

    try:
        yield new
    finally:
        for http in made:
            await http.close()


async def sip_over_proxy(client: SessionClient, user: str, password: str) -> int | str:
    """REGISTER `user` through /v1/phone/ws with this session's cookie: the
    SIP status, or how the proxy closed the connection."""
    ws_url = client.base.replace("http://", "ws://") + "/v1/phone/ws"
    async with client.http.ws_connect(ws_url, protocols=("sip",)) as ws:
        assert ws.protocol == "sip"
        try:
            response = await register(ws, user, password)
        except ConnectionError:
            return f"closed {ws.close_code}"
        return response.status


@pytest.mark.spec("PH-4", "SEC-1")
async def test_sip_credentials_reach_only_the_agents_own_session(
    stack: Stack, ari: AriClient, sessions: Callable[[], SessionClient]
) -> None:
    alice, bob, alice_ext = sessions(), sessions(), sessions()
    mine = (await alice.sign_in("alice"))["phone"]["sip"]
    assert mine["username"] == "2001" and mine["ws_url"] == "/v1/phone/ws"
    assert mine["uri"].startswith("sip:2001@") and len(mine["password"]) >= 32
    again = json.loads(await alice.text("/v1/session"))["phone"]["sip"]
    assert again == mine  # the page recovers them after a reload
    theirs = (await bob.sign_in("bob"))["phone"]["sip"]
    assert theirs["username"] == "2002" and theirs["password"] != mine["password"]
    # nothing bob's session or a bearer token can read carries alice's secret
    for path in ("/v1/session", "/v1/me", "/v1/agents/bob", "/v1/agents/alice", "/openapi.json"):
        assert mine["password"] not in await bob.text(path), path
    async with Desktop(stack.url, "demo-supervisor-token") as supervisor:
        for path in ("/v1/agents", "/v1/agents/alice"):
            assert mine["password"] not in json.dumps(await supervisor.call("GET", path))
    # an extension-phone session gets no SIP credentials
    assert (await alice_ext.sign_in("alice", phone="extension"))["phone"]["sip"] is None
    # (that sign-in replaced alice's browser session: its password is void)
    assert await sip_over_proxy(bob, "2002", theirs["password"]) == 200

    # a new sign-in gets a new password; the old one no longer registers
    renewed = (await alice.sign_in("alice"))["phone"]["sip"]
    assert renewed["password"] != mine["password"]
    assert await sip_over_proxy(alice, "2001", mine["password"]) == 401
    assert await sip_over_proxy(alice, "2001", renewed["password"]) == 200


@pytest.mark.spec("PH-4", "SEC-1")
async def test_a_session_can_register_only_its_own_endpoint_and_no_hard_phone(
    stack: Stack, ari: AriClient, sessions: Callable[[], SessionClient]
) -> None:
    alice, bob, extension_session = sessions(), sessions(), sessions()
    mine = (await alice.sign_in("alice"))["phone"]["sip"]
    theirs = (await bob.sign_in("bob"))["phone"]["sip"]
    # bob's session may not speak as alice's endpoint, even with her password,
    # nor as a hard phone with its (demo) password
    assert await sip_over_proxy(bob, "2001", mine["password"]) == "closed 1008"
    assert await sip_over_proxy(bob, "1001", "demo-phone-secret") == "closed 1008"
    assert await sip_over_proxy(bob, "2002", theirs["password"]) == 200
    # a session on an extension phone has no SIP WebSocket
    await extension_session.sign_in("bob", phone="extension")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sip_over_proxy(extension_session, "1002", "demo-phone-secret")
    assert refused.value.status in (401, 403)
    # another site's page cannot open it with the agent's cookie
    ws_url = stack.url.replace("http://", "ws://") + "/v1/phone/ws"
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await alice.http.ws_connect(
            ws_url, protocols=("sip",), headers={"Origin": "http://evil.example"}
        )
    assert foreign.value.status == 403

    # Asterisk itself: over the WebSocket, from the proxy's address, a hard
    # phone is refused even with its right password (pjsip.conf ACLs) ...
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))) as raw,
        raw.ws_connect("ws://127.0.0.1:8088/ws", protocols=("sip",)) as ws,
    ):
        assert (await register(ws, "1001", "demo-phone-secret")).status == 401
    # ... and Asterisk's HTTP server (ARI, SIP WebSocket) is not reachable on
    # the address the browsers use
    with pytest.raises(aiohttp.ClientError):
        async with (
            aiohttp.ClientSession() as direct,
            direct.get(f"http://{HOST_ADDRESS}:8088/ws", timeout=aiohttp.ClientTimeout(2)),
        ):
            pass

    # signing out ends the phone's connection and deletes its credentials
    ws_url = alice.base.replace("http://", "ws://") + "/v1/phone/ws"
    async with alice.http.ws_connect(ws_url, protocols=("sip",)) as ws:
        assert (await register(ws, "2001", mine["password"], expires=300)).status == 200
        assert not await _auth_gone(ari, "2001")
        await alice.sign_out()
        closed = await ws.receive(timeout=10)
        while closed.type is aiohttp.WSMsgType.TEXT:  # (Asterisk's OPTIONS meanwhile)
            closed = await ws.receive(timeout=10)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closed
    await wait_until(
        lambda: _auth_gone(ari, "2001"), timeout=5, what="alice's SIP credentials to be deleted"
    )


async def _auth_gone(ari: AriClient, extension: str) -> bool:
    try:
        await ari.request("GET", f"/asterisk/config/dynamic/res_pjsip/auth/{extension}")
    except AriError as exc:
        return exc.status == 404
    return False


# PH-3: every flow ---------------------------------------------------------------------


async def hears(page: PhonePage, *frequencies: int) -> float:
    """The page's remote audio peaks near one of `frequencies`; the peak."""
    hz, level = await page.peak_hz(1.5)
    assert level > -60 and any(abs(hz - f) < 25 for f in frequencies), (hz, level, frequencies)
    return hz


async def hang_up_in_browser(page: PhonePage, agent: Desktop, ix_id: str) -> None:
    """PH-2: the browser's hang-up ends the agent's part; wrap-up follows."""
    await page.eval("() => window.cpPhone.hangup()")
    await agent.state_event("wrap_up")
    await agent.wrap_up(ix_id, "resolved")


@pytest.mark.spec("PH-3")
async def test_browser_phone_serves_a_callback(
    stack: Stack, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-admin-token") as admin,
    ):
        page = await desk("alice")
        await alice.available()
        created = await admin.call(
            "POST", "/v1/callbacks", {"number": ECHO, "queue": "support"}, expect=201
        )
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["kind"] == "callback" and offer["interaction_id"] == created["id"]
        await accept(page)  # the agent first, then the customer is dialled
        await alice.event("interaction.connected")
        await hears(page, 1000)  # the customer (an echo) returns the browser's tone
        await hang_up_in_browser(page, alice, created["id"])


@pytest.mark.spec("PH-3")
async def test_browser_phone_serves_an_outdial_ringing_the_agent_first(
    stack: Stack, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        page = await desk("alice")
        ix = await alice.call("POST", "/v1/agents/alice/outdial", {"number": ECHO}, expect=201)
        await alice.event("interaction.offered")
        await wait_until(lambda: _flag(page, "incoming"), timeout=10, what="the browser to ring")
        assert ix["status"] == "ringing"  # the customer is not dialled before the agent answers
        await accept(page)
        await alice.event("interaction.dialing")
        await alice.event("interaction.connected")
        await hears(page, 1000)
        await hang_up_in_browser(page, alice, ix["id"])


async def given_bob_with_a_customer(
    phones: PhoneFactory, ari: AriClient, bob: Desktop
) -> tuple[str, Phone, Phone]:
    """Bob, on his hard phone (1002, sending 440 Hz), talks with a customer
    (sending 620 Hz)."""
    call = await connected_call(phones, ari, bob, "1002", ani="+15557770003")
    return call.ix_id, call.phone, call.customer


async def given_consulted_browser(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory, bob: Desktop
) -> tuple[str, PhonePage, Phone, Phone]:
    ix_id, bob_phone, customer = await given_bob_with_a_customer(phones, ari, bob)
    page = await desk("alice")
    await request_consult(bob, ix_id, "agent", "alice")
    await accept(page)
    await bob.event("interaction.consult_connected")
    return ix_id, page, bob_phone, customer


@pytest.mark.spec("PH-3")
async def test_browser_phone_serves_a_consult(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        ix_id, page, bob_phone, customer = await given_consulted_browser(
            stack, ari, phones, desk, bob
        )
        await hears(page, 440)  # bob, not the held customer
        await bob_phone.wait_for_audio()
        # the consulted agent hangs up in the browser: she leaves the consult
        await page.eval("() => window.cpPhone.hangup()")
        ended = (await bob.event("interaction.consult_ended"))["data"]
        assert ended["reason"] == "left", ended
        await customer.hangup()
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix_id, "resolved")
        # a consulted agent who leaves is back in her state from before (idle
        # since sign-in), without wrap-up
        back = await alice.event(
            "agent.state",
            lambda e: e["data"]["state"] == "idle" and e["data"]["previous"] != "logged_out",
        )
        assert back["data"]["previous"] == "connected", back


@pytest.mark.spec("PH-3")
async def test_browser_phone_serves_a_conference(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        ix_id, page, bob_phone, customer = await given_consulted_browser(
            stack, ari, phones, desk, bob
        )
        await bob.call("POST", f"/v1/interactions/{ix_id}/conference")
        await alice.event("interaction.conference_started")
        customer_leg = ""
        for channel_id in await channels_of_bridge(ari, ix_id):
            if str((await ari.channel(channel_id)).get("name", "")).startswith("PJSIP/carrier-"):
                customer_leg = channel_id
        assert customer_leg
        # (bob's phone muted: the browser's tone alone is what the customer gets
        # besides silence, so it is detected as a tone)
        await bob_phone.set_muted(True)
        await detect_tone(ari, customer_leg, 1000, "t")
        await wait_until(
            lambda: _at_least(tone_count(ari, customer_leg, "tx"), 1),
            timeout=5,
            what="the browser's 1 kHz sent to the customer",
        )
        await hears(page, 620)  # the customer (bob is muted)
        await page.eval("() => window.cpPhone.hangup()")  # CF-5: she leaves
        await alice.event("agent.state", lambda e: e["data"]["previous"] == "connected")
        await customer.wait_for_silence(-60)  # her tone is gone (and bob is muted)
        await bob_phone.set_muted(False)
        await customer.wait_for_audio()  # the call goes on between bob and the customer
        await customer.hangup()
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix_id, "resolved")


@pytest.mark.spec("PH-3")
async def test_browser_phone_takes_a_blind_transfer(
    stack: Stack, ari: AriClient, phones: PhoneFactory, desk: PageFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        ix_id, _bob_phone, customer = await given_bob_with_a_customer(phones, ari, bob)
        page = await desk("alice")
        await alice.available()
        await bob.call(
            "POST", f"/v1/interactions/{ix_id}/transfer", {"kind": "agent", "target": "alice"}
        )
        await bob.state_event("wrap_up")
        await bob.wrap_up(ix_id, "resolved")
        offer = (await alice.event("interaction.offered"))["data"]
        assert offer["transfer_from"] == "bob"
        await accept(page)
        connected = (await alice.event("interaction.connected"))["data"]
        assert connected["agent"] == "alice"
        await hears(page, 620)  # the customer
        await customer.wait_for_audio()
        await hang_up_in_browser(page, alice, ix_id)
        await customer.wait_for("closed")
