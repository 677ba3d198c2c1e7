"""The supervisor's browser phone end to end (SUP-5, PH-1, PH-2, PH-4): the
console in headless Chromium inside the test network namespace signs in
with the browser phone (a seat of its own, 2101..2110), registers it through
/v1/phone/ws and listens in on a real call between a customer phone
(620 Hz) and an agent's phone (440 Hz). The supervisor's microphone is
Chromium's fake device playing 1 kHz.

- monitor: the page hears both tones; neither phone hears the supervisor;
- whisper: the agent hears the supervisor, the customer does not;
- barge: both hear them;
- the leg is answered by the console itself, switching keeps it, stopping
  (the bar's hang-up) or the call ending hangs it up and leaves nothing in
  Asterisk;
- a browser phone that is not registered is refused naming SUP-5;
- a reload during a supervision brings the bar back from the console's
  snapshot; its switch and hang-up still work, and "Listen here" rings the
  reloaded page's phone again (a new leg in the same mode).

Audio paths are proven one talker at a time, as in test_supervision.py:
the phones that must not count are muted and each listener either hears
the talker or reports only silence for two seconds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import SERVICE_PORT, Stack, agent_password
from tests.integration.desktop.conftest import assert_accessible, screenshot
from tests.integration.test_supervision import HEARD, hears_nothing, supervision_gone
from tests.support.asterisk import wait_until
from tests.support.browser import HOST_ADDRESS, PhonePage, browser_files, netns_browser
from tests.support.constants import SEATS, SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration

ORIGIN = f"http://{HOST_ADDRESS}:{SERVICE_PORT}"
CUSTOMER = "+15551234568"
CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 620, 440, 1000  # (the fake microphone's)


@pytest.fixture
async def netns_chromium(stack: Stack, tmp_path: Path) -> AsyncIterator[Browser]:
    async with netns_browser(browser_files(tmp_path / "chromium"), ORIGIN) as b:
        yield b


OpenConsole = Callable[[], Awaitable[PhonePage]]


@pytest.fixture
async def console(netns_chromium: Browser) -> AsyncIterator[OpenConsole]:
    """Sam's console, signed in through the form with the browser phone, once
    the header shows the phone registered. Afterwards each page stops its
    phone and signs out (the seat is given back)."""
    pages: list[PhonePage] = []

    async def open_console() -> PhonePage:
        context = await netns_chromium.new_context(viewport={"width": 1366, "height": 768})
        page = await context.new_page()
        console = PhonePage(context, page, ORIGIN)
        pages.append(console)
        await page.goto(f"{ORIGIN}/?phonetest")
        await expect(page.locator("form.signin-card")).to_be_visible()
        await page.locator("#signin-agent").fill("sam")
        await page.locator("#signin-password").fill(agent_password("acme", "sam"))
        await page.locator("input[name=phone][value=browser]").check()
        await page.locator("form.signin-card button[type=submit]").click()
        await expect(page.locator("#sup-queues")).to_be_visible(timeout=10000)
        await registered(page)
        return console

    try:
        yield open_console
    finally:
        for console in pages:
            await console.eval(
                """async () => {
                    if (window.cpPhone) await window.cpPhone.stop();
                    const s = await fetch('/v1/session');
                    if (s.ok) {
                        const {csrf_token} = await s.json();
                        await fetch('/v1/session', {method: 'DELETE',
                            headers: {'X-CSRF-Token': csrf_token}});
                    }
                }"""
            )
            await console.context.close()


async def registered(page: Page) -> None:
    await page.wait_for_selector('[data-phone="browser"][data-reg="registered"]', timeout=10000)


async def levels_at(console: PhonePage, hzs: list[int], seconds: float = 1.5) -> list[float]:
    """The loudest level (dB) the page's remote audio reaches near each
    frequency (within 15 Hz) over `seconds`."""
    result: list[float] = await console.eval(
        """async ([hzs, seconds]) => {
            const stream = window.cpPhone.test.remoteStream;
            if (!stream) return hzs.map(() => -200);
            const ctx = new AudioContext();
            const an = ctx.createAnalyser();
            an.fftSize = 8192;
            ctx.createMediaStreamSource(stream).connect(an);
            const bins = new Float32Array(an.frequencyBinCount);
            const best = hzs.map(() => -200);
            const end = performance.now() + seconds * 1000;
            while (performance.now() < end) {
                await new Promise((r) => setTimeout(r, 50));
                an.getFloatFrequencyData(bins);
                hzs.forEach((hz, k) => {
                    const lo = Math.floor((hz - 15) * an.fftSize / ctx.sampleRate);
                    const hi = Math.ceil((hz + 15) * an.fftSize / ctx.sampleRate);
                    for (let i = lo; i <= hi; i++) best[k] = Math.max(best[k], bins[i]);
                });
            }
            await ctx.close();
            return best;
        }""",
        [hzs, seconds],
    )
    return result


async def in_call(console: PhonePage) -> bool:
    return bool((await console.flags())["inCall"])


async def not_in_call(console: PhonePage) -> bool:
    return not await in_call(console)


async def only_the_browser_talks(phones: list[Phone]) -> None:
    for phone in phones:
        await phone.set_muted(True)


async def hears_the_browser(phone: Phone) -> None:
    level = await phone.wait_for_audio(HEARD, timeout=6.0)
    assert level >= HEARD, (phone.name, level)


async def given_a_connected_call(phones: PhoneFactory, alice: Desktop) -> tuple[Phone, Phone, str]:
    agent = await phones.agent("1001", answer_after_ms=0, tone_hz=AGENT_HZ)
    await alice.login("1001")
    await alice.available()
    customer = await phones.customer(CUSTOMER, tone_hz=CUSTOMER_HZ)
    await customer.dial(SUPPORT)
    ix_id = (await alice.event("interaction.connected"))["data"]["id"]
    await customer.wait_for("established")
    await agent.wait_for("established")
    return agent, customer, str(ix_id)


async def listen_in(page: Page, mode: str) -> None:
    """Alice's Actions dialog: the mode, then Start (the browser phone, no
    extension to name)."""
    await page.get_by_role("tab", name="Agents").click()
    await expect(
        page.locator("#sup-agents tr[data-agent=alice] .state [data-state]")
    ).to_have_attribute("data-state", "connected")
    button = page.get_by_role("button", name=re.compile(r"^Actions\s*: Alice Able$"))
    await button.click()
    await expect(page.locator("#sup-agent-dialog")).to_be_visible()
    await expect(page.locator("#sup-listen-phone")).to_be_visible()
    assert await page.locator("#sup-extension").count() == 0
    await page.get_by_label(mode).check()
    await page.locator("#sup-listen-start").click()


async def end_the_call(alice: Desktop, customer: Phone, agent: Phone, ix_id: str) -> None:
    await customer.set_muted(False)
    await customer.hangup()
    await alice.event("interaction.ended")
    await agent.wait_for("closed")
    await alice.state_event("wrap_up")
    await alice.wrap_up(ix_id, "resolved")


# SUP-5 ----------------------------------------------------------------------------------


@pytest.mark.spec("SUP-5", "PH-1", "PH-2")
async def test_given_a_supervisor_on_the_browser_phone_when_monitoring_whispering_and_barging_then_audio_follows_the_mode(  # noqa: E501
    stack: Stack, ari: AriClient, phones: PhoneFactory, console: OpenConsole
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        agent, customer, ix_id = await given_a_connected_call(phones, alice)
        sup = await console()
        page = sup.page
        seat = str(
            await page.evaluate(
                "async () => (await (await fetch('/v1/session')).json()).phone.extension"
            )
        )
        assert seat in SEATS
        await expect(page.locator("#sup-phone")).to_have_attribute("data-reg", "registered")

        # monitor: the console answers its own leg; it hears both sides
        await listen_in(page, "Monitor")
        bar = page.locator("#sup-supervision")
        await expect(bar).to_have_attribute("data-state", "active", timeout=10000)
        await expect(page.locator("#sup-sv-phone")).to_have_attribute("data-here", "yes")
        await expect(bar).to_contain_text("Monitor on Alice Able's call")
        await wait_until(lambda: in_call(sup), timeout=5, what="the leg in the browser")
        found = await ari.channels()
        leg = [c for c in found if str(c["id"]).startswith(f"{ix_id}-s")]
        assert len(leg) == 1 and str(leg[0]["name"]).startswith(f"PJSIP/{seat}-"), leg
        for phone in (customer, agent):
            await phone.set_muted(False)
        customer_db, agent_db = await levels_at(sup, [CUSTOMER_HZ, AGENT_HZ])
        assert customer_db > -60 and agent_db > -60, (customer_db, agent_db)
        await screenshot(page, "supervisor-listening")
        await assert_accessible(page, "the console listening on the browser phone")
        # ... and nobody hears the supervisor
        await only_the_browser_talks([customer, agent])
        await hears_nothing(agent)
        await hears_nothing(customer)

        # whisper: the agent hears the supervisor's 1 kHz, the customer does not
        await page.locator("#sup-mode-whisper").click()
        await expect(bar).to_have_attribute("data-mode", "whisper")
        await hears_the_browser(agent)
        await hears_nothing(customer)

        # barge: everybody hears the supervisor
        await page.locator("#sup-mode-barge").click()
        await expect(bar).to_have_attribute("data-mode", "barge")
        await hears_the_browser(agent)
        await hears_the_browser(customer)
        assert await in_call(sup)  # the same leg through every switch
        assert [c["id"] for c in await ari.channels() if c["id"] == leg[0]["id"]]

        # the bar's hang-up stops the supervision: nothing is left, the call goes on
        await expect(page.locator("#sup-stop")).to_have_text(re.compile("Hang up"))
        await page.locator("#sup-stop").click()
        await expect(bar).to_contain_text("The supervision ended (stopped).")
        await wait_until(lambda: not_in_call(sup), timeout=5, what="the browser's call to end")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        assert (await alice.call("GET", f"/v1/interactions/{ix_id}"))["status"] == "connected"

        # a browser phone that is not registered: a clear refusal, nothing rings
        await sup.eval("() => window.cpPhone.stop()")
        await expect(page.locator("#sup-phone-warning")).to_be_visible()
        await wait_until(lambda: _offline(ari, seat), timeout=10, what=f"{seat} offline")
        await listen_in(page, "Monitor")
        await expect(page.locator("#sup-act-error")).to_contain_text(
            "Your browser phone is not registered"
        )
        await wait_until(lambda: supervision_gone(ari, ix_id), what="nothing rang")
        await page.locator("#sup-agent-dialog").get_by_role("button", name="Close").click()

        await end_the_call(alice, customer, agent, ix_id)


async def _offline(ari: AriClient, seat: str) -> bool:
    found = await ari.request("GET", f"/endpoints/PJSIP/{seat}")
    return str(found.get("state", "")) != "online"


@pytest.mark.spec("SUP-5")
async def test_given_a_supervision_on_the_browser_phone_when_the_console_reloads_then_its_bar_comes_back_and_works(  # noqa: E501
    stack: Stack, ari: AriClient, phones: PhoneFactory, console: OpenConsole
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        agent, customer, ix_id = await given_a_connected_call(phones, alice)
        sup = await console()
        page = sup.page
        await listen_in(page, "Whisper")
        bar = page.locator("#sup-supervision")
        await expect(bar).to_have_attribute("data-state", "active", timeout=10000)
        await expect(bar).to_have_attribute("data-mode", "whisper")
        snapshot = await page.evaluate(
            "async () => (await (await fetch('/v1/supervisor/snapshot')).json()).supervision"
        )
        assert snapshot["interaction"] == ix_id and snapshot["mode"] == "whisper"
        assert snapshot["phone"] == "browser" and snapshot["leg"].startswith(f"{ix_id}-s")

        await page.reload()
        await expect(page.locator("#sup-queues")).to_be_visible(timeout=10000)
        await expect(bar).to_have_attribute("data-state", "active", timeout=5000)
        await expect(bar).to_have_attribute("data-mode", "whisper")
        await expect(bar).to_contain_text("Whisper on Alice Able's call")
        await registered(page)

        # the switch still works on the same supervision ...
        await page.locator("#sup-mode-monitor").click()
        await expect(bar).to_have_attribute("data-mode", "monitor")
        async with Desktop(stack.url, "demo-supervisor-token") as token:
            now = await token.call("GET", f"/v1/interactions/{ix_id}/supervision")
        assert now["mode"] == "monitor" and now["leg"] == snapshot["leg"]

        # the call is not in the reloaded page: "Listen here" rings its browser
        # phone again, which answers by itself; the new leg replaces the old
        here = page.locator("#sup-sv-phone")
        await expect(here).to_have_attribute("data-here", "no")
        await page.locator("#sup-rejoin").click()
        await expect(here).to_have_attribute("data-here", "yes", timeout=10000)
        await expect(bar).to_have_attribute("data-mode", "monitor")
        await wait_until(lambda: in_call(sup), timeout=5, what="the new leg in the browser")
        legs = [c["id"] for c in await ari.channels() if str(c["id"]).startswith(f"{ix_id}-s")]
        assert len(legs) == 1 and legs[0] != snapshot["leg"], legs
        for phone in (customer, agent):
            await phone.set_muted(False)
        customer_db, agent_db = await levels_at(sup, [CUSTOMER_HZ, AGENT_HZ])
        assert customer_db > -60 and agent_db > -60, (customer_db, agent_db)
        assert await page.locator("#sup-rejoin").count() == 0

        # ... and so does the hang-up: nothing is left, the call goes on
        await page.locator("#sup-stop").click()
        await expect(bar).to_contain_text("The supervision ended (stopped).")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        assert (await alice.call("GET", f"/v1/interactions/{ix_id}"))["status"] == "connected"

        await end_the_call(alice, customer, agent, ix_id)


@pytest.mark.spec("SUP-5")
async def test_given_a_supervisor_listening_on_the_browser_phone_when_the_call_ends_then_the_browsers_leg_is_hung_up(  # noqa: E501
    stack: Stack, ari: AriClient, phones: PhoneFactory, console: OpenConsole
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        agent, customer, ix_id = await given_a_connected_call(phones, alice)
        sup = await console()
        page = sup.page
        await listen_in(page, "Barge")
        bar = page.locator("#sup-supervision")
        await expect(bar).to_have_attribute("data-state", "active", timeout=10000)
        await wait_until(lambda: in_call(sup), timeout=5, what="the leg in the browser")

        await customer.hangup()
        await alice.event("interaction.ended")
        await agent.wait_for("closed")
        await expect(bar).to_contain_text("The supervision ended (the call ended).")
        await wait_until(lambda: not_in_call(sup), timeout=5, what="the browser's call to end")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
