"""The supervisor console end to end (SUP-1..SUP-6): a supervisor signs in
through the desktop's form in headless Chromium and works with the console
against the real stack, while real phones make the calls; an agent's own
desktop (a second browser context) shows what the supervisor changed, and
monitor, whisper and barge are proven with real audio (the tone helpers of
test_supervision.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable
from typing import Literal, Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from controlplane.adapters.ari import AriClient
from tests.integration.conftest import Stack, agent_password
from tests.integration.desktop.conftest import (
    SHOWN_WITHIN_MS,
    OpenDesktop,
    PageErrors,
    assert_accessible,
    new_context,
    screenshot,
)
from tests.integration.test_limits import _fill
from tests.integration.test_supervision import check, supervision_gone
from tests.support.asterisk import wait_until
from tests.support.constants import CUSTOMER, SUPERVISOR_EXTENSION, SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


class OpenConsole(Protocol):
    def __call__(
        self, supervisor: str = "sam", *, lang: Literal["en", "de"] = "en"
    ) -> Awaitable[Page]: ...


@pytest.fixture
async def console_page(
    stack: Stack, browser: Browser, page_errors: PageErrors
) -> AsyncIterator[OpenConsole]:
    """`await console_page()`: a page on which the supervisor signed in through
    the form (ID, password, the extension they listen on)."""
    contexts: list[BrowserContext] = []

    async def open_console(supervisor: str = "sam", *, lang: Literal["en", "de"] = "en") -> Page:
        context = await new_context(browser, stack)
        contexts.append(context)
        page = await context.new_page()
        page_errors.watch(page)
        await page.goto("/")
        await expect(page.locator("form.signin-card")).to_be_visible()
        if lang == "de":
            await page.get_by_label("Language").select_option("de")
        await page.locator("#signin-agent").fill(supervisor)
        await page.locator("#signin-password").fill(agent_password("acme", supervisor))
        await page.locator("input[name=phone][value=extension]").check()
        await page.locator("#signin-extension").fill(SUPERVISOR_EXTENSION)
        await page.locator("form.signin-card button[type=submit]").click()
        await expect(page.locator("#sup-queues")).to_be_visible(timeout=10000)
        return page

    try:
        yield open_console
    finally:
        for context in contexts:
            await context.close()


def queue_row(page: Page, queue: str) -> str:
    return f"#sup-queues tr[data-queue={queue}]"


async def seconds(page: Page, selector: str) -> int:
    return int(await page.locator(f"{selector} time").get_attribute("data-seconds") or "-1")


async def open_tab(page: Page, name: str) -> None:
    await page.get_by_role("tab", name=name).click()


async def agent_dialog(page: Page, name: str) -> None:
    """Opens the agent's dialog with its row's Actions button (named by the agent)."""
    button = page.get_by_role("button", name=re.compile(rf"^Actions\s*: {name}$"))
    await expect(button).to_have_count(1)
    await button.click()
    await expect(page.locator("#sup-agent-dialog")).to_be_visible()


# SUP-1, SUP-3 ------------------------------------------------------------------------


@pytest.mark.spec("SUP-1", "SUP-3")
async def test_given_a_waiting_call_and_a_full_tenant_then_queues_and_limits_show_them_live(
    stack: Stack, phones: PhoneFactory, console_page: OpenConsole, page_errors: PageErrors
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await alice.login("1001")  # idle: nobody takes the call
        page = await console_page()
        support = queue_row(page, "support")
        await expect(page.locator(f"{support} .waiting")).to_have_text("0")
        await expect(page.locator(f"{support} .by-state [data-state=idle]")).to_contain_text("1")

        # a customer waits: the row shows it with a wait that ticks
        customer = await phones.customer(CUSTOMER)
        await customer.dial(SUPPORT)
        await expect(page.locator(f"{support} .waiting")).to_have_text(
            "1", timeout=SHOWN_WITHIN_MS + 3000
        )
        await expect(page.locator(f"{support}.has-waiting")).to_be_visible()
        first = await seconds(page, f"{support} .longest")
        await asyncio.sleep(2.6)  # (the page ticks every 0.25 s)
        later = await seconds(page, f"{support} .longest")
        assert later >= first + 2, (first, later)
        await expect(page.locator(f"{support} .offered")).to_have_text("1")
        # SUP-3: the waiting call holds a slot of the tenant and of the datacenter
        await expect(page.locator("#sup-limit-tenant")).to_have_attribute("data-used", "1")
        await expect(page.locator("#sup-limit-tenant .usage-text")).to_have_text("1 of 20 in use")
        await expect(page.locator("#sup-limit-datacenter")).to_have_attribute("data-used", "1")
        await assert_accessible(page, "the console's queues")
        await screenshot(page, "supervisor-queues")

        # the caller gives up: abandoned today, nothing waits, the slot is free
        await customer.hangup()
        await expect(page.locator(f"{support} .abandoned")).to_have_text("1", timeout=5000)
        await expect(page.locator(f"{support} .waiting")).to_have_text("0")
        await expect(page.locator(f"{support} .longest time")).to_have_count(0)
        await expect(page.locator("#sup-limit-tenant")).to_have_attribute("data-used", "0")
        await alice.logout()

    # SUP-3: the tenant full; refused calls count by code
    store = await _fill(stack, "acme", 20)
    try:
        await expect(page.locator("#sup-limit-tenant")).to_have_attribute(
            "data-used", "20", timeout=5000
        )
        await expect(page.locator("#sup-limit-tenant .usage-bar.full")).to_be_visible()
        await expect(page.locator("#sup-refusals dd[data-code='27']")).to_have_text("0")
        refused = await phones.customer("+15550000600")
        await refused.dial(SUPPORT)
        await refused.wait_for("closed")
        await expect(page.locator("#sup-refusals dd[data-code='27']")).to_have_text(
            "1", timeout=5000
        )
        await expect(page.locator("#sup-refusals dd[data-code='26']")).to_have_text("0")
        for i in range(20):
            await store.release(f"elsewhere-acme-{i}", "acme")
    finally:
        await store.close()
    # (slots released elsewhere send no event: a reload reads them afresh,
    # signed in still through the cookie)
    await page.reload()
    tenant_usage = page.locator("#sup-limit-tenant")
    await expect(tenant_usage).to_have_attribute("data-used", "0", timeout=5000)
    await expect(page.locator("#sup-refusals dd[data-code='27']")).to_have_text("1")
    assert not page_errors.errors, page_errors.errors


# SUP-2, SUP-4 ------------------------------------------------------------------------


@pytest.mark.spec("SUP-2", "SUP-4")
async def test_given_agents_when_the_supervisor_acts_then_the_agents_desktop_follows_at_once(
    stack: Stack,
    phones: PhoneFactory,
    console_page: OpenConsole,
    desktop_page: OpenDesktop,
    page_errors: PageErrors,
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    agent_page = await desktop_page("alice", extension="1001")
    page = await console_page()
    await open_tab(page, "Agents")
    alice = "#sup-agents tr[data-agent=alice]"
    await expect(page.locator(f"{alice} .state [data-state]")).to_have_attribute(
        "data-state", "idle"
    )
    # the agent's own change shows, with colour and text
    await agent_page.locator("#state-button").click()
    await agent_page.get_by_role("menuitemradio", name="Available", exact=True).click()
    await expect(page.locator(f"{alice} .state [data-state]")).to_have_attribute(
        "data-state", "available", timeout=SHOWN_WITHIN_MS + 1000
    )
    await expect(page.locator(f"{alice} .state")).to_have_text("Available")
    assert (
        await page.locator(f"{alice} .state .dot").evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        == "rgb(30, 123, 52)"
    )

    # filters: by team and by queue
    await page.locator("#sup-team").select_option("tier2")
    await expect(page.locator("#sup-agents tbody tr")).to_have_count(1)
    await expect(page.locator("#sup-agents tbody tr[data-agent=carol]")).to_be_visible()
    await page.locator("#sup-team").select_option("")
    await page.locator("#sup-queue").select_option("sales")
    await expect(page.locator("#sup-agents tbody tr[data-agent=dave]")).to_be_visible()
    await expect(page.locator(alice)).to_have_count(0)
    await page.locator("#sup-queue").select_option("")
    # sortable, by keyboard too: the name column descending, then ascending
    names = page.locator("#sup-agents tbody th")
    head = page.locator("#sup-agents th[data-col=name]")
    await expect(head).to_have_attribute("aria-sort", "ascending")
    await head.locator("button").focus()
    await page.keyboard.press("Enter")
    await expect(head).to_have_attribute("aria-sort", "descending")
    ordered = await names.all_inner_texts()
    assert ordered == sorted(ordered, reverse=True), ordered
    await page.keyboard.press("Space")
    await expect(head).to_have_attribute("aria-sort", "ascending")
    await page.locator("#sup-agents th[data-col=state] button").click()
    await expect(page.locator("#sup-agents th[data-col=state]")).to_have_attribute(
        "aria-sort", "ascending"
    )
    await expect(page.locator("#sup-agents tbody tr").first).to_have_attribute(
        "data-agent", "alice"
    )  # (the only agent not logged out or idle)

    # a call: the row shows its queue, direction and a ticking duration
    customer = await phones.customer(CUSTOMER)
    await customer.dial(SUPPORT)
    await phone.wait_for("incoming")
    await phone.answer()
    await customer.wait_for("established")
    await expect(page.locator(f"{alice} .state [data-state]")).to_have_attribute(
        "data-state", "connected", timeout=SHOWN_WITHIN_MS + 1000
    )
    await expect(page.locator(f"{alice} .call")).to_contain_text("Support · Inbound")
    first = await seconds(page, f"{alice} .call")
    await asyncio.sleep(2.6)  # (the page ticks every 0.25 s)
    assert await seconds(page, f"{alice} .call") >= first + 2
    await assert_accessible(page, "the console's agents")
    await screenshot(page, "supervisor-agents")

    # SUP-4 refused while on a call, with the rule's text; nothing changes
    await agent_dialog(page, "Alice Able")
    await page.locator("#sup-idle-reason").select_option("lunch")
    await page.locator("#sup-set-idle").click()
    await expect(page.locator("#sup-act-error")).to_have_text(
        "The agent has a call in hand (ringing, connected or in wrap-up): "
        "try again after the wrap-up."
    )
    await expect(agent_page.locator("#state-button [data-state]")).to_have_attribute(
        "data-state", "connected"
    )
    await assert_accessible(page, "the agent dialog")
    await page.keyboard.press("Escape")
    await expect(page.locator("#sup-agent-dialog")).to_have_count(0)
    await customer.hangup()
    await phone.wait_for("closed")
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        me = await api.call("GET", "/v1/me")
        await api.wrap_up(me["wrap_up"]["interaction_id"], "resolved")

    # set idle with a reason: the agent's own desktop follows at once
    await expect(page.locator(f"{alice} .state [data-state]")).to_have_attribute(
        "data-state", "available", timeout=5000
    )
    await agent_dialog(page, "Alice Able")
    await page.locator("#sup-idle-reason").select_option("lunch")
    await page.locator("#sup-set-idle").click()
    await expect(agent_page.locator("#state-button [data-state]")).to_have_attribute(
        "data-state", "idle", timeout=SHOWN_WITHIN_MS
    )
    await expect(agent_page.locator("#state-button")).to_contain_text("Lunch")
    await expect(page.locator(f"{alice} .state")).to_contain_text("Idle: Lunch")
    # and log out: the desktop shows it
    await page.locator("#sup-log-out").click()
    await expect(agent_page.locator("#state-button [data-state]")).to_have_attribute(
        "data-state", "logged_out", timeout=SHOWN_WITHIN_MS
    )
    await expect(page.locator(f"{alice} .state [data-state]")).to_have_attribute(
        "data-state", "logged_out", timeout=SHOWN_WITHIN_MS + 1000
    )
    # audited as the signed-in supervisor
    async with Desktop(stack.url, "demo-supervisor-token") as sup:
        records = (await sup.call("GET", "/v1/audit?limit=200"))["records"]
    changes = [
        r
        for r in records
        if r["action"] == "agent.state" and r["details"].get("state") in ("idle", "logged_out")
    ]
    assert changes and {r["actor"] for r in changes[:2]} == {"supervisor:sam"}, changes[:3]
    assert not page_errors.errors, page_errors.errors


# SUP-5 ------------------------------------------------------------------------------


@pytest.mark.spec("SUP-5")
async def test_given_a_connected_call_when_the_supervisor_monitors_whispers_and_barges_from_the_console_then_audio_follows(  # noqa: E501
    stack: Stack,
    ari: AriClient,
    phones: PhoneFactory,
    console_page: OpenConsole,
    page_errors: PageErrors,
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        agent = await phones.agent("1001", answer_after_ms=0, tone_hz=440)
        await alice.login("1001")
        await alice.available()
        customer = await phones.customer(CUSTOMER, tone_hz=620)
        await customer.dial(SUPPORT)
        ix_id = (await alice.event("interaction.connected"))["data"]["id"]
        await customer.wait_for("established")
        await agent.wait_for("established")
        supervisor = await phones.agent(
            SUPERVISOR_EXTENSION, answer_after_ms=0, tone_hz=880, name="supervisor"
        )
        everyone = [customer, agent, supervisor]

        page = await console_page()
        await open_tab(page, "Agents")
        await expect(
            page.locator("#sup-agents tr[data-agent=alice] .state [data-state]")
        ).to_have_attribute("data-state", "connected")
        await agent_dialog(page, "Alice Able")
        await expect(page.locator("#sup-extension")).to_have_value(SUPERVISOR_EXTENSION)
        await page.get_by_label("Monitor").check()
        await page.locator("#sup-listen-start").click()
        bar = page.locator("#sup-supervision")
        await supervisor.wait_for("established")
        await expect(bar).to_have_attribute("data-state", "active", timeout=5000)
        await expect(bar).to_contain_text("Monitor on Alice Able's call")
        await assert_accessible(page, "the console while monitoring")

        # monitor: the supervisor hears the customer; the customer never hears them
        await check(customer, everyone, hear=[supervisor, agent], not_hear=[])
        await check(supervisor, everyone, hear=[], not_hear=[agent, customer])

        # whisper: the agent hears the supervisor, the customer does not
        await page.locator("#sup-mode-whisper").click()
        await expect(bar).to_have_attribute("data-mode", "whisper")
        await expect(page.locator("#sup-mode-whisper")).to_have_attribute("aria-pressed", "true")
        await check(supervisor, everyone, hear=[agent], not_hear=[customer])

        # barge: everybody hears the supervisor
        await page.locator("#sup-mode-barge").click()
        await expect(bar).to_have_attribute("data-mode", "barge")
        await check(supervisor, everyone, hear=[agent, customer], not_hear=[])
        leg = supervisor.current_call
        assert leg is not None and leg.active  # the same leg through every switch

        # stop: nothing of the supervision is left; the call goes on
        await page.locator("#sup-stop").click()
        await expect(bar).to_contain_text("The supervision ended (stopped).")
        await supervisor.wait_for("closed")
        await wait_until(lambda: supervision_gone(ari, ix_id), what="no supervision left")
        await check(customer, [customer, agent], hear=[agent], not_hear=[])
        assert (await alice.call("GET", f"/v1/interactions/{ix_id}"))["status"] == "connected"

        # audited with the signed-in supervisor as actor
        records = (await alice_supervisor_audit(stack))["records"]
        for action in (
            "interaction.supervision_started",
            "interaction.supervision_switched",
            "interaction.supervision_stopped",
        ):
            found = [r for r in records if r["action"] == action]
            assert found and all(r["actor"] == "supervisor:sam" for r in found), (action, found)

        await customer.set_muted(False)
        await customer.hangup()
        await alice.event("interaction.ended")
        await agent.wait_for("closed")
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
    assert not page_errors.errors, page_errors.errors


async def alice_supervisor_audit(stack: Stack) -> dict[str, list[dict[str, object]]]:
    async with Desktop(stack.url, "demo-supervisor-token") as sup:
        result: dict[str, list[dict[str, object]]] = await sup.call("GET", "/v1/audit?limit=200")
        return result


# SUP-6 ------------------------------------------------------------------------------


@pytest.mark.spec("SUP-6")
async def test_given_the_days_calls_then_the_console_lists_filters_exports_and_charts_them(
    stack: Stack, phones: PhoneFactory, console_page: OpenConsole, page_errors: PageErrors
) -> None:
    phone = await phones.agent("1001", answer_after_ms=0)
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-supervisor-token") as sup,
    ):
        await alice.login("1001")
        # an abandoned call, then an answered one wrapped up
        gone = await phones.customer("+15551110001")
        await gone.dial(SUPPORT)
        abandoned = (await sup.event("interaction.queued"))["data"]["id"]
        await gone.hangup()
        await sup.event("interaction.ended", lambda e: e["data"]["id"] == abandoned)
        await alice.available()
        talker = await phones.customer("+15551110002")
        await talker.dial(SUPPORT)
        answered = (await alice.event("interaction.connected"))["data"]["id"]
        await talker.wait_for("established")
        await talker.hangup()
        await alice.state_event("wrap_up")
        await alice.wrap_up(answered, "follow_up")
        await phone.wait_for("closed")
        await alice.logout()

    page = await console_page()
    await open_tab(page, "Interactions")
    rows = page.locator("#sup-ix tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f"#sup-ix tr[data-ix='{answered}']")).to_contain_text(
        "Needs follow-up"
    )
    await expect(page.locator(f"#sup-ix tr[data-ix='{abandoned}']")).to_contain_text("Abandoned")
    # filters: end cause, then wrap-up reason and agent
    await page.locator("#sup-ix-end-cause").select_option("abandoned")
    await page.locator("#sup-ix-apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-ix", abandoned)
    await page.locator("#sup-ix-end-cause").select_option("")
    await page.locator("#sup-ix-wrap-up").select_option("follow_up")
    await page.locator("#sup-ix-agent").select_option("alice")
    await page.locator("#sup-ix-apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-ix", answered)
    await expect(page.locator("#sup-ix-csv")).to_have_attribute(
        "href", "/v1/supervisor/interactions.csv?agent=alice&wrap_up_reason=follow_up"
    )
    # the CSV export: a download with the cookie, filtered like the list
    async with page.expect_download() as info:
        await page.locator("#sup-ix-csv").click()
    download = await info.value
    assert download.suggested_filename.startswith("interactions-acme-")
    text = (await download.path()).read_text()
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in exported] == [answered]
    assert exported[0]["wrap_up_reason"] == "follow_up" and exported[0]["agent"] == "alice"
    await page.locator("#sup-ix-wrap-up").select_option("")
    await page.locator("#sup-ix-agent").select_option("")
    await page.locator("#sup-ix-apply").click()
    await expect(rows).to_have_count(2)

    # the charts: uPlot draws both on canvases, from the day's counts
    summary = page.locator("#sup-chart-summary")
    await expect(summary).to_have_attribute("data-offered", "2", timeout=5000)
    await expect(summary).to_have_attribute("data-answered", "1")
    await expect(summary).to_have_attribute("data-abandoned", "1")
    for chart in ("#sup-chart-calls", "#sup-chart-sl"):
        canvas = page.locator(f"{chart} canvas")
        await expect(canvas).to_have_count(1, timeout=5000)
        painted = await canvas.evaluate(
            """c => {
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                return n;
            }"""
        )
        assert painted > 500, (chart, painted)
    await assert_accessible(page, "the console's interactions")
    await screenshot(page, "supervisor-interactions")

    # in German: the same view's strings
    await page.get_by_label("Language").select_option("de")
    await expect(page.get_by_role("tab", name="Interaktionen")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.locator(f"#sup-ix tr[data-ix='{abandoned}']")).to_contain_text(
        "Abgebrochen vor Annahme"
    )
    await open_tab(page, "Warteschlangen und Limits")
    await expect(page.locator("#sup-queues")).to_contain_text("Servicelevel heute")
    await assert_accessible(page, "the console in German")
    await screenshot(page, "supervisor-queues", lang="de")
    # signing out returns to the form
    await page.locator("#sup-sign-out").click()
    await expect(page.locator("form.signin-card")).to_be_visible()
    assert not page_errors.errors, page_errors.errors
