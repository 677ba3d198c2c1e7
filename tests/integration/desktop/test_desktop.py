"""The agent desktop end to end: a person signs in through the form, works
with the screens (state selector, offer, RONA, interaction control, call
variables, wrap-up) while a hard phone on the agent's extension and a
customer's phone make the calls; the service's API confirms every effect."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Page, WebSocketRoute, expect

from tests.integration.conftest import Stack
from tests.integration.desktop.conftest import (
    SHOWN_WITHIN_MS,
    OpenDesktop,
    PageErrors,
    assert_accessible,
    new_context,
    screenshot,
)
from tests.integration.desktop.dialog_steps import (
    choose_state,
    expect_state,
    offered_call,
    take_call,
)
from tests.support.constants import BETA_ENTRY_POINT, CUSTOMER, SUPPORT
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration


# Helpers -------------------------------------------------------------------------


async def state_seconds(page: Page) -> int:
    return int(await page.locator(".state-time time").get_attribute("data-seconds") or "-1")


async def api_agent(stack: Stack, token: str, agent: str) -> Any:
    async with Desktop(stack.url, token, agent) as api:
        return await api.me()


async def end_and_wrap_up(page: Page, customer: Phone, reason: str = "Resolved") -> None:
    await page.get_by_role("button", name="End", exact=True).click()
    dialog = page.locator("#wrapup")
    await expect(dialog).to_be_visible()
    await customer.wait_for("closed")
    await dialog.get_by_label(reason, exact=True).check()
    await dialog.get_by_role("button", name="Submit").click()
    await expect(dialog).to_be_hidden()


# DSK-1 -------------------------------------------------------------------------------


@pytest.mark.spec("DSK-1")
async def test_sign_in_state_selector_with_timer_and_sign_out(
    stack: Stack, browser: Browser, desktop_page: OpenDesktop, page_errors: PageErrors
) -> None:
    # The sign-in form; a wrong password gets one answer for every cause.
    context = await new_context(browser, stack)
    page = await context.new_page()
    page_errors.watch(page)
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_label("Agent ID")).to_be_visible()
    await expect(page.get_by_label("Password")).to_be_visible()
    await expect(page.get_by_role("radio", name="Browser phone")).to_be_checked()
    await page.get_by_role("radio", name="Extension (desk or soft phone)").check()
    await expect(page.get_by_label("Extension number")).to_be_visible()
    await screenshot(page, "sign-in")
    await page.get_by_label("Agent ID").fill("alice")
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_label("Extension number").fill("1001")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Agent ID or password is wrong.")
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "logged_out"

    # Signed in on the extension: logged in, idle; the header names the agent.
    page = await desktop_page("alice", extension="1001", context=context)
    await expect(page.locator("#agent-name")).to_have_text("Alice Able")
    await expect_state(page, "idle")
    await expect(page.locator(".phone-status")).to_have_text("Extension 1001")
    record = await api_agent(stack, "demo-alice-token", "alice")
    assert record["state"] == "idle" and record["extension"] == "1001"
    # The session is a cookie the page cannot read; no token in the page.
    assert "cp_session" not in await page.evaluate("document.cookie")
    cookies = await context.cookies()
    session_cookie = next(c for c in cookies if c["name"] == "cp_session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"

    # The state selector: Available, then Idle with a reason; the timer
    # restarts at every change.
    await expect(page.locator(".state-time time")).to_have_attribute(
        "data-seconds", re.compile(r"^[2-9]$|^\d\d+$"), timeout=5000
    )
    await page.locator("#state-button").click()
    menu = page.get_by_role("menu")
    items = [await i.inner_text() for i in await menu.get_by_role("menuitemradio").all()]
    assert items == ["Available", "Idle: Break", "Idle: Lunch", "Idle: Training"]
    await menu.get_by_role("menuitemradio", name="Available").click()
    await expect_state(page, "available")
    assert await state_seconds(page) <= 1
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "available"
    # the timer ticks once a second on the server's clock: it reaches 2
    await expect(page.locator(".state-time time")).to_have_attribute(
        "data-seconds", re.compile(r"^[2-9]$"), timeout=4000
    )
    await choose_state(page, "Idle: Lunch")
    await expect_state(page, "idle")
    await expect(page.locator("#state-button")).to_contain_text("Lunch")
    assert await state_seconds(page) <= 1
    record = await api_agent(stack, "demo-alice-token", "alice")
    assert record["state"] == "idle" and record["reason"] == "lunch"

    # Sign-out logs the agent out and shows the form again.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "logged_out"
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-1")
async def test_repeated_wrong_passwords_show_the_wait(stack: Stack, browser: Browser) -> None:
    context = await new_context(browser, stack)
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_label("Agent ID").fill("carol")
    await page.get_by_label("Password").fill("wrong")
    alert = page.locator(".form-error")
    for _ in range(5):
        await page.get_by_role("button", name="Sign in").click()
        await expect(alert).to_have_text("Agent ID or password is wrong.")
        await expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    await page.get_by_role("button", name="Sign in").click()
    await expect(alert).to_have_text(re.compile(r"^Too many attempts\. Try again in \d+ s\.$"))
    await context.close()


# DSK-2, DSK-4 -------------------------------------------------------------------------

# Records each popover the page shows, in order, with its title.
POPOVER_RECORDER = """() => {
  window.__popovers = [];
  const seen = new Set();
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('.offer-popover')) {
      if (!seen.has(el.id)) {
        seen.add(el.id);
        const title = el.querySelector('h2, [id$=-title]');
        window.__popovers.push({id: el.id, title: title ? title.textContent.trim() : ''});
      }
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


@pytest.mark.spec("DSK-2", "DSK-4")
async def test_offer_popovers_then_the_interaction_control_pane(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone = await phones.agent("1001", answer_after_ms=None)
    await choose_state(page, "Available")
    await expect_state(page, "available")
    customer = await phones.customer(CUSTOMER)
    # DSK-2: the connecting popover (while the agent is reserved and the
    # offer's details are on their way), then the contact request. The first
    # may stand for only a few milliseconds: the page records what it shows.
    await page.evaluate(POPOVER_RECORDER)
    await customer.dial(SUPPORT)
    offer = page.locator("#offer")
    await expect(offer).to_be_visible(timeout=10000)
    shown = await page.evaluate("() => window.__popovers")
    assert [p["id"] for p in shown][:2] == ["connecting", "offer"], shown
    assert shown[0]["title"] == "Connecting…", shown
    await expect(offer.locator("#offer-title")).to_have_text("Contact request")
    await expect(offer.locator("#offer-label-text")).to_have_text("Acme Support")
    await expect(offer.get_by_role("img", name="Inbound call")).to_be_visible()
    await expect(offer.locator("[data-field=ani]")).to_have_text(CUSTOMER)
    await expect(offer.locator("[data-field=dnis]")).to_have_text(SUPPORT)
    await expect(offer.locator("[data-field=queue]")).to_have_text("Support")
    await expect(offer.locator("[data-field=status]")).to_have_text("Ringing")
    labels = await offer.locator(".offer-vars dt").all_inner_texts()
    assert [s.strip() for s in labels][:3] == ["Customer name", "Account number", "Case number"]
    account = offer.locator("[data-variable=account]")
    await expect(account.get_by_role("img", name="Secure variable")).to_be_visible()
    assert await offer.locator("[data-variable=customer_name]").get_by_role("img").count() == 0
    # The timer counts from the time the call entered, in server time.
    timer = offer.locator("time")
    await expect(timer).to_have_attribute("data-seconds", re.compile(r"^[1-9]\d*$"), timeout=4000)
    # An extension agent answers on the phone (no Accept in the page).
    await expect(offer).to_contain_text("Answer on your phone.")
    await screenshot(page, "offer")
    await assert_accessible(page, "offer popover")
    await phone.wait_for("incoming")
    await phone.answer()

    # DSK-4: the control pane: timer since connected, status, controls.
    status = page.locator("#call-status")
    await expect(status).to_have_attribute("data-status", "connected")
    await expect(offer).to_be_hidden()
    pane = page.locator(".control-pane")
    await expect(pane.locator(".call-head time")).to_be_visible()
    await expect(pane.locator("[data-recording=recording]")).to_have_text("Recording")
    hold = pane.get_by_role("button", name="Hold")
    end = pane.get_by_role("button", name="End", exact=True)
    await expect(hold).to_be_enabled()
    await expect(end).to_be_enabled()
    await customer.wait_for("established")
    ix_id = await pane.get_attribute("data-interaction")
    assert ix_id

    # Hold: the status says so, End is disabled until Resume.
    await hold.click()
    await expect(status).to_have_text("Call on hold")
    await expect(end).to_be_disabled()
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        assert (await api.call("GET", f"/v1/interactions/{ix_id}"))["held"] is True
        await pane.get_by_role("button", name="Resume").click()
        await expect(status).to_have_text("Connected")
        await expect(end).to_be_enabled()
        assert (await api.call("GET", f"/v1/interactions/{ix_id}"))["held"] is False

        # Recording paused with the time left; it resumes by itself (3 s).
        await pane.get_by_role("button", name="Pause recording").click()
        paused = pane.locator("[data-recording=paused]")
        await expect(paused).to_contain_text(re.compile(r"Recording paused, resumes in 0:0[1-3]"))
        assert (await api.call("GET", f"/v1/interactions/{ix_id}"))["recording"] == "paused"
        await expect(pane.get_by_role("button", name="Resume recording")).to_be_enabled()
        await expect(pane.locator("[data-recording=recording]")).to_be_visible(timeout=6000)

        # Signing out is refused during a call: the page shows the rule's text.
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.locator(".notice.error")).to_contain_text(
            "You cannot sign out while an offer rings, during a call or in wrap-up."
        )
        await expect(page.locator("#state-button")).to_be_visible()
        # While held, End's hotkey does nothing either (END-1).
        await pane.get_by_role("button", name="Hold").click()
        await expect(status).to_have_text("Call on hold")
        await expect(pane.get_by_role("button", name="Resume")).to_be_enabled()
        await page.keyboard.press("Alt+E")
        await asyncio.sleep(0.5)
        assert (await api.call("GET", f"/v1/interactions/{ix_id}"))["status"] == "connected"
        await pane.get_by_role("button", name="Resume").click()
        await expect(status).to_have_text("Connected")

    await end_and_wrap_up(page, customer)
    await expect_state(page, "available")
    await phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-4", "DSK-13")
async def test_a_refused_action_shows_the_rules_text_and_a_reconnect_shows_the_truth(
    stack: Stack, desktop_page: OpenDesktop, browser: Browser, phones: PhoneFactory
) -> None:
    """The page's event stream is held back, so its controls go stale: the
    service refuses Hold of a call another window held, and the page shows
    HOLD-1's text; the next connection's snapshot shows the call held."""
    context = await new_context(browser, stack)
    frozen = False
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: None if frozen else ws.send(message))
        sockets.append(ws)

    await context.route_web_socket(re.compile(r"/v1/events$"), route)
    page = await desktop_page("alice", extension="1001", context=context)
    phone, customer = await take_call(page, phones, "1001")
    pane = page.locator(".control-pane")
    status = page.locator("#call-status")
    ix_id = await pane.get_attribute("data-interaction")
    frozen = True
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        await api.call("POST", f"/v1/interactions/{ix_id}/hold")
        await asyncio.sleep(0.5)
        await expect(status).to_have_text("Connected")  # the page did not hear of it
        await pane.get_by_role("button", name="Hold").click()
        await expect(page.locator(".notice.error")).to_contain_text("The call is on hold already.")
        # The connection drops and comes back: the snapshot shows the truth.
        frozen = False
        await sockets.pop().close()
        await expect(status).to_have_text("Call on hold", timeout=SHOWN_WITHIN_MS + 1000)
        await expect(pane.get_by_role("button", name="End", exact=True)).to_be_disabled()
        await pane.get_by_role("button", name="Resume").click()
        await expect(status).to_have_text("Connected")
        assert (await api.call("GET", f"/v1/interactions/{ix_id}"))["held"] is False
    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


# DSK-3 -------------------------------------------------------------------------------


@pytest.mark.spec("DSK-3")
async def test_rona_offers_available_or_idle_and_nothing_until_chosen(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await offered_call(page, phones, "1001")
    # The phone is not answered within the queue's ring time (4 s): RONA.
    rona = page.locator("#rona")
    await expect(rona).to_be_visible(timeout=10000)
    await expect(rona.locator("#rona-title")).to_have_text("Call not answered")
    await expect(rona.get_by_role("button", name="Available")).to_be_visible()
    await expect(rona.get_by_label("Idle reason")).to_be_visible()
    await expect(page.locator("#offer")).to_be_hidden()
    await expect_state(page, "rona")
    await screenshot(page, "rona")
    await assert_accessible(page, "RONA popover")
    # The popover is modal: the state selector is out of reach; Escape does not close it.
    await page.keyboard.press("Escape")
    await expect(rona).to_be_visible()
    # Nothing is offered while in RONA: the call waits in its queue.
    await phone.wait_for("closed")
    await asyncio.sleep(2)
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "rona"
    await expect(page.locator("#offer")).to_be_hidden()
    # Idle with a reason: still nothing offered; then Available: the call comes.
    await rona.get_by_label("Idle reason").select_option("training")
    await rona.get_by_role("button", name="Go idle").click()
    await expect(rona).to_be_hidden()
    await expect_state(page, "idle")
    record = await api_agent(stack, "demo-alice-token", "alice")
    assert record["state"] == "idle" and record["reason"] == "training"
    await choose_state(page, "Available")
    await expect(page.locator("#offer")).to_be_visible(timeout=10000)
    await phone.wait_for("incoming")
    await phone.answer()
    await expect(page.locator("#call-status")).to_have_attribute("data-status", "connected")
    await customer.wait_for("established")
    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


@pytest.mark.spec("DSK-3")
async def test_rona_available_button(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await offered_call(page, phones, "1001")
    rona = page.locator("#rona")
    await expect(rona).to_be_visible(timeout=10000)
    await customer.hangup()
    await rona.get_by_role("button", name="Available").click()
    await expect(rona).to_be_hidden()
    await expect_state(page, "available")
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "available"
    await phone.wait_for("closed")


# DSK-5 -------------------------------------------------------------------------------


async def input_value(page: Page, name: str) -> str:
    return await page.locator(f"#var-{name}").input_value()


@pytest.mark.spec("DSK-5")
async def test_call_variables_types_save_restore_copy_and_leaving(
    stack: Stack, desktop_page: OpenDesktop, browser: Browser, phones: PhoneFactory
) -> None:
    context = await new_context(browser, stack)
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await desktop_page("alice", extension="1001", context=context)
    phone, customer = await take_call(page, phones, "1001")
    form = page.locator("form.variables")
    ix_id = await page.locator(".control-pane").get_attribute("data-interaction")
    # At most 30, in order; the secure ones marked; read-only ones as text.
    rows = form.locator(".var-row")
    names = [await r.get_attribute("data-variable") for r in await rows.all()]
    assert names == [
        "customer_name",
        "account",
        "case_number",
        "balance",
        "vip",
        "follow_up_at",
        "customer_email",
    ]
    for secure in ("account", "customer_email"):
        await expect(
            form.locator(f"[data-variable={secure}]").get_by_role("img", name="Secure variable")
        ).to_be_visible()
    await expect(form.locator("[data-variable=customer_name] img")).to_have_count(0)
    await expect(form.locator("#var-balance")).to_have_js_property("tagName", "OUTPUT")
    await expect(form.locator("#var-case_number")).to_have_attribute("data-type", "integer")
    await expect(form.locator("#var-follow_up_at")).to_have_attribute("type", "datetime-local")

    # Typed inputs with validation and the 256-character limit.
    save = form.get_by_role("button", name="Save")
    await expect(save).to_be_disabled()
    await form.get_by_label("Case number", exact=True).fill("12x")
    await expect(form.locator("[data-variable=case_number] .problem")).to_have_text(
        "Enter a whole number."
    )
    await expect(save).to_be_disabled()
    await form.get_by_label("Case number", exact=True).fill("4711")
    await expect(form.locator("[data-variable=case_number] .problem")).to_have_count(0)
    name = form.get_by_label("Customer name", exact=True)
    await name.fill("x" * 300)
    assert len(await name.input_value()) == 256
    await expect(form.locator("#var-customer_name-count")).to_have_text("256 / 256 characters")
    await name.fill("Ann Example")
    await form.get_by_label("Follow up at", exact=True).fill("2026-12-24T10:30")
    await expect(form.locator(".unsaved")).to_have_text("You have unsaved changes.")
    await save.click()
    await expect(form.locator("#vars-message")).to_have_text("Saved.")
    await screenshot(page, "connected")
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        saved = {
            v["name"]: v
            for v in (await api.call("GET", f"/v1/interactions/{ix_id}/variables"))["variables"]
        }
    assert saved["customer_name"]["value"] == "Ann Example"
    assert saved["case_number"]["value"] == "4711"
    # 10:30 in Berlin in December (UTC+1), saved as ISO 8601 with the offset.
    assert saved["follow_up_at"]["value"] == "2026-12-24T09:30:00.000+00:00"

    # Copy to the clipboard.
    await form.get_by_role("button", name="Copy Customer name").click()
    assert await page.evaluate("navigator.clipboard.readText()") == "Ann Example"

    # Restore: the last saved values.
    await name.fill("Temporary")
    await form.get_by_role("button", name="Restore").click()
    await expect(name).to_have_value("Ann Example")

    # Unsaved changes: warned before leaving, in the page and by the browser.
    await name.fill("Not saved yet")
    await page.get_by_role("button", name="Sign out").click()
    leave = page.locator("#leave")
    await expect(leave).to_be_visible()
    await expect(leave).to_contain_text("Your changes to the call data are not saved.")
    await leave.get_by_role("button", name="Keep editing").click()
    await expect(leave).to_be_hidden()
    await expect(name).to_have_value("Not saved yet")
    dialogs: list[Dialog] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.close(run_before_unload=True)
    for _ in range(50):
        if dialogs:
            break
        await asyncio.sleep(0.1)
    assert [d.type for d in dialogs] == ["beforeunload"]
    assert not page.is_closed()
    page.remove_listener("dialog", on_dialog)

    # Secure values reach no storage and no URL.
    storage = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert storage in {'[[["desktop.lang","en"]],[]]', "[[],[]]"}
    assert page.url.rstrip("/") == stack.url

    await form.get_by_role("button", name="Restore").click()
    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


@pytest.mark.spec("DSK-5")
async def test_call_variables_conflict_names_the_variable_and_its_value(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await take_call(page, phones, "1001")
    form = page.locator("form.variables")
    ix_id = await page.locator(".control-pane").get_attribute("data-interaction")
    await form.get_by_label("Customer name", exact=True).fill("Mine")
    # Meanwhile the flow saves the same variable (CAD-7): the first save wins.
    async with Desktop(stack.url, "demo-admin-token") as admin:
        await admin.call(
            "PUT",
            f"/v1/interactions/{ix_id}/flow-variables",
            {"variables": {"customer_name": "Theirs", "balance": "12.50"}},
        )
    # The flow's value of a variable nobody edits shows at once.
    await expect(form.locator("#var-balance")).to_have_text("12.50", timeout=SHOWN_WITHIN_MS)
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator("#vars-message")).to_have_text(
        "“Customer name” was saved by someone else meanwhile: it is now “Theirs”. "
        "Your value was not saved."
    )
    await expect(form.get_by_label("Customer name", exact=True)).to_have_value("Theirs")
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        view = await api.call("GET", f"/v1/interactions/{ix_id}/variables")
    assert next(v for v in view["variables"] if v["name"] == "customer_name")["value"] == "Theirs"
    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


# DSK-12 ------------------------------------------------------------------------------


@pytest.mark.spec("DSK-12")
async def test_wrap_up_dialog_search_and_exactly_one_reason(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await take_call(page, phones, "1001")
    await customer.hangup()  # the customer ends the call: wrap-up
    dialog = page.locator("#wrapup")
    await expect(dialog).to_be_visible()
    await expect_state(page, "wrap_up")
    await expect(dialog.locator("#wrapup-title")).to_have_text("Wrap-up reasons")
    submit = dialog.get_by_role("button", name="Submit")
    await expect(submit).to_be_disabled()
    await expect(dialog.get_by_role("radio")).to_have_count(3)
    await expect(dialog.locator("#auto-wrapup")).to_have_count(0)  # acme: no auto wrap-up
    await screenshot(page, "wrap-up")
    await assert_accessible(page, "wrap-up dialog")
    await dialog.get_by_label("Search reasons").fill("wrong")
    await expect(dialog.get_by_role("radio")).to_have_count(1)
    await dialog.get_by_label("Search reasons").fill("")
    await dialog.get_by_label("Resolved").check()
    await dialog.get_by_label("Needs follow-up").check()
    await expect(dialog.locator("input[type=radio]:checked")).to_have_count(1)
    await submit.click()
    await expect(dialog).to_be_hidden()
    await expect_state(page, "available")
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        history = await api.call("GET", "/v1/agents/alice/history?type=calls&limit=1")
    assert history["entries"][0]["wrap_up_reason"] == "follow_up", history
    await phone.wait_for("closed")


@pytest.mark.spec("DSK-12", "DSK-14")
async def test_auto_wrap_up_counts_down_in_german(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    # Tenant beta wraps up by itself after 2 s, then the agent is idle.
    page = await desktop_page("beta/beth", extension="1010", lang="de")
    phone = await phones.agent("1010", answer_after_ms=None)
    await choose_state(page, "Verfügbar")
    await expect_state(page, "available")
    customer = await phones.customer(CUSTOMER)
    await customer.dial(BETA_ENTRY_POINT)
    await expect(page.locator("#offer")).to_be_visible(timeout=10000)
    await expect(page.locator("#offer [data-field=status]")).to_have_text("Klingeln")
    await screenshot(page, "offer", lang="de")
    await phone.wait_for("incoming")
    await phone.answer()
    await expect(page.locator("#call-status")).to_have_text("Verbunden")
    await customer.wait_for("established")
    await page.get_by_role("button", name="Beenden", exact=True).click()
    dialog = page.locator("#wrapup")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#wrapup-title")).to_have_text("Nachbearbeitungsgründe")
    await expect(dialog.locator("#auto-wrapup")).to_have_text(
        re.compile(r"^Automatische Nachbearbeitung in [12] s$")
    )
    await screenshot(page, "wrap-up", lang="de")
    await expect(dialog).to_be_hidden(timeout=5000)
    await expect_state(page, "idle")
    await customer.wait_for("closed")
    await phone.wait_for("closed")


# DSK-13 ------------------------------------------------------------------------------


@pytest.mark.spec("DSK-13")
async def test_reload_and_second_tab_show_the_true_state_within_2_s(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await take_call(page, phones, "1001")
    pane = page.locator(".control-pane")
    ix_id = await pane.get_attribute("data-interaction")
    await pane.get_by_role("button", name="Hold").click()
    await expect(page.locator("#call-status")).to_have_text("Call on hold")
    await asyncio.sleep(1.5)
    before = int(await pane.locator(".call-head time").get_attribute("data-seconds") or "0")
    assert before >= 1

    # A reload shows the held call again, its timer going on from the
    # server's connected time (not from the reload).
    await page.reload()
    await expect(page.locator("#call-status")).to_have_text("Call on hold", timeout=SHOWN_WITHIN_MS)
    await expect(page.locator(".control-pane")).to_have_attribute("data-interaction", ix_id or "")
    after = int(await pane.locator(".call-head time").get_attribute("data-seconds") or "0")
    assert after >= before
    await expect(page.locator("#state-button [data-state]")).to_have_attribute(
        "data-state", "connected"
    )

    # A second tab of the same session shows the same, and follows changes.
    second = await page.context.new_page()
    await second.goto("/")
    await expect(second.locator("#call-status")).to_have_text(
        "Call on hold", timeout=SHOWN_WITHIN_MS
    )
    await second.locator(".control-pane").get_by_role("button", name="Resume").click()
    await expect(page.locator("#call-status")).to_have_text("Connected", timeout=SHOWN_WITHIN_MS)
    await second.close()

    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


@pytest.mark.spec("DSK-13")
async def test_after_a_service_restart_the_desktop_shows_the_true_state_within_2_s(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory
) -> None:
    page = await desktop_page("alice", extension="1001")
    phone, customer = await take_call(page, phones, "1001")
    status = page.locator("#call-status")
    ix_id = await page.locator(".control-pane").get_attribute("data-interaction")
    stack.service.kill()  # as a crash would
    await expect(page.locator("#connection-lost")).to_be_visible(timeout=5000)
    # While the service is away, the call goes on; it is held once it is back.
    await asyncio.to_thread(stack.service.start)
    async with Desktop(stack.url, "demo-alice-token", "alice") as api:
        await api.call("POST", f"/v1/interactions/{ix_id}/hold")
        await expect(status).to_have_text("Call on hold", timeout=SHOWN_WITHIN_MS)
    await expect(page.locator("#connection-lost")).to_be_hidden()
    await page.locator(".control-pane").get_by_role("button", name="Resume").click()
    await expect(status).to_have_text("Connected")
    await end_and_wrap_up(page, customer)
    await phone.wait_for("closed")


@pytest.mark.spec("DSK-13")
async def test_a_session_replaced_or_ended_returns_to_sign_in_with_a_message(
    stack: Stack, desktop_page: OpenDesktop
) -> None:
    first = await desktop_page("alice", extension="1001")
    # Signing in elsewhere replaces this session.
    second = await desktop_page("alice", extension="1001")
    await expect(first.get_by_role("heading", name="Sign in")).to_be_visible(
        timeout=SHOWN_WITHIN_MS
    )
    await expect(first.locator(".signin-card .message.info")).to_have_text(
        "You signed in somewhere else; this window was signed out."
    )
    # Signing out in a second tab of a session ends it in the first too.
    other_tab = await second.context.new_page()
    await other_tab.goto("/")
    await expect(other_tab.locator("#state-button")).to_be_visible()
    await other_tab.get_by_role("button", name="Sign out").click()
    await expect(other_tab.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(second.get_by_role("heading", name="Sign in")).to_be_visible(
        timeout=SHOWN_WITHIN_MS
    )
    await expect(second.locator(".signin-card .message.info")).to_have_text(
        "Your session has ended. Please sign in again."
    )
    assert (await api_agent(stack, "demo-alice-token", "alice"))["state"] == "logged_out"


# DSK-14 ------------------------------------------------------------------------------


@pytest.mark.spec("DSK-14")
async def test_english_and_german_switchable_and_kept(
    stack: Stack, browser: Browser, desktop_page: OpenDesktop
) -> None:
    context = await new_context(browser, stack)
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_label("Language").select_option("de")
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_label("Passwort")).to_be_visible()
    await page.get_by_role("radio", name="Durchwahl (Tisch- oder Softphone)").check()
    await screenshot(page, "sign-in", lang="de")
    await assert_accessible(page, "sign-in, German")
    await page.reload()
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()

    page = await desktop_page("alice", extension="1001", context=context)
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    await expect(page.locator("#state-button")).to_contain_text("Frei")
    await page.locator("#state-button").click()
    await expect(page.get_by_role("menuitemradio", name="Verfügbar")).to_be_visible()
    await page.keyboard.press("Escape")
    # Only the language is kept in the browser.
    storage = await page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert storage == '[[["desktop.lang","de"]],[]]'
    await page.locator("#header-lang").select_option("en")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.locator("#state-button")).to_contain_text("Idle")
    await page.reload()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# DSK-15 ------------------------------------------------------------------------------


async def focused(page: Page) -> str:
    return str(
        await page.evaluate(
            "() => document.activeElement?.id || document.activeElement?.textContent || ''"
        )
    )


@pytest.mark.spec("DSK-15")
async def test_keyboard_only_with_hotkeys_and_no_serious_axe_violation(
    stack: Stack, browser: Browser, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    context = await new_context(browser, stack)
    page = await context.new_page()
    page_errors.watch(page)
    await page.goto("/")
    await assert_accessible(page, "sign-in")
    # Sign in with the keyboard alone.
    await page.keyboard.press("Tab")  # the language
    await page.keyboard.press("Tab")
    assert await focused(page) == "signin-agent"
    await page.keyboard.type("alice")
    await page.keyboard.press("Tab")
    assert await focused(page) == "signin-password"
    await page.keyboard.type("demo-alice-password")
    await page.keyboard.press("Tab")  # the phone choice (a radio group)
    await page.keyboard.press("ArrowDown")  # extension
    await page.keyboard.press("Tab")
    assert await focused(page) == "signin-extension"
    await page.keyboard.type("1001")
    await page.keyboard.press("Enter")
    # the agent's state comes with the event stream's first message; until
    # then the selector has nothing to choose from (disabled)
    await expect_state(page, "idle")
    await expect(page.locator("#state-button")).to_be_enabled()
    await assert_accessible(page, "desktop, idle")

    # The focused control is visibly outlined.
    await page.keyboard.press("Alt+S")
    await expect(page.get_by_role("menu")).to_be_visible()
    # The menu focuses its first item once it has rendered.
    await expect(page.get_by_role("menuitemradio", name="Available")).to_be_focused()
    assert await focused(page) == "Available"
    outline = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    await page.keyboard.press("Enter")
    await expect_state(page, "available")

    phone = await phones.agent("1001", answer_after_ms=None)
    customer = await phones.customer(CUSTOMER)
    await customer.dial(SUPPORT)
    await expect(page.locator("#offer")).to_be_visible(timeout=10000)
    await phone.wait_for("incoming")
    await phone.answer()
    status = page.locator("#call-status")
    await expect(status).to_have_text("Connected")
    await customer.wait_for("established")
    await assert_accessible(page, "desktop, connected with variables")
    # Hotkeys are shown in the tooltips and the help.
    hold = page.locator(".controls .hold")
    assert "Alt+H" in (await hold.get_attribute("title") or "")
    assert "Alt+E" in (await page.locator(".controls .end").get_attribute("title") or "")
    await page.keyboard.press("Alt+K")
    help_dialog = page.locator("#help")
    await expect(help_dialog).to_be_visible()
    for keys in ("Alt+A", "Alt+H", "Alt+M", "Alt+E"):
        await expect(help_dialog).to_contain_text(keys)
    await assert_accessible(page, "keyboard help")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()
    # Hold, resume and end by hotkey. The event that shows a change may come
    # before the action's answer; until that comes, the call's controls are
    # disabled and their hotkeys do nothing.
    await page.keyboard.press("Alt+H")
    await expect(status).to_have_text("Call on hold")
    await expect(page.locator(".controls .resume")).to_be_enabled()
    await page.keyboard.press("Alt+H")
    await expect(status).to_have_text("Connected")
    await expect(page.locator(".controls .end")).to_be_enabled()
    await page.keyboard.press("Alt+E")
    dialog = page.locator("#wrapup")
    await expect(dialog).to_be_visible()
    await customer.wait_for("closed")
    # The wrap-up dialog by keyboard: the search has the focus (the dialog
    # takes it back a moment after the pane's End control went away); the
    # reasons and the submit button follow; focus stays inside the dialog.
    await expect(page.locator("#wrapup-search")).to_be_focused()
    assert await focused(page) == "wrapup-search"
    await page.keyboard.type("resol")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Space")
    await expect(dialog.get_by_label("Resolved")).to_be_checked()
    await page.keyboard.press("Tab")
    assert (await focused(page)).strip() == "Submit"
    await page.keyboard.press("Tab")  # cycles back to the first control
    assert await focused(page) == "wrapup-search"
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect_state(page, "available")
    await phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors
    await context.close()
