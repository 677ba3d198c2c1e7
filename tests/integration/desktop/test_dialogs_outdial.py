"""DSK-9: the outdial dialog in a real browser against the real stack: the
header button, the searchable address book, the keypad, the ANI drop-down
(alphabetical, with the "none chosen" entry), a message for the failures
of OD-5, Cancel while it rings, the limit's code and text (LIM-2), and
in the call the transfer kinds of an outdial (TR-7)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.integration.conftest import Stack
from tests.integration.desktop.conftest import (
    OpenDesktop,
    PageErrors,
    assert_accessible,
    screenshot,
)
from tests.integration.desktop.dialog_steps import (
    control,
    end_and_wrap_up,
    expect_state,
    expect_status,
)
from tests.support.constants import BUSY, DEFAULT_ANI, ECHO, OTHER_ANI, REJECTS
from tests.support.desktop import Desktop
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration


async def dial_typed(page: Page, number: str) -> None:
    await page.get_by_role("button", name="Outdial").click()
    dialog = page.locator("#outdial-dialog")
    # The dialog opens with the focus in its search field (DSK-15), as a
    # person sees it, before the number is typed.
    await expect(dialog.get_by_label("Search")).to_be_focused()
    await dialog.get_by_role("textbox", name="Dial number").fill(number)
    await dialog.locator("button.call-number").click()
    # (the dialog closes once the agent's phone rings: the request answers then)
    try:
        await expect(dialog).to_be_hidden(timeout=15000)
    except AssertionError:
        raise AssertionError(
            f"the outdial dialog stayed open: {await dialog.inner_text()}"
        ) from None


async def notice(page: Page, text: str) -> None:
    await expect(page.locator(".notice", has_text=text)).to_be_visible(timeout=15000)


async def attempt_fails(page: Page, phone: Phone, number: str, message: str) -> None:
    """Dialled from the keypad; the agent answers; the customer's side fails."""
    await dial_typed(page, number)
    await phone.wait_for("incoming")
    await phone.answer()
    await notice(page, message)
    await phone.wait_for("closed")
    await expect_state(page, "idle")


@pytest.mark.spec("DSK-9", "DSK-15", "OD-1", "OD-2", "OD-3", "OD-4", "OD-5", "TR-7", "DN-1")
async def test_outdial_dialog_book_keypad_anis_failures_cancel_and_the_call(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    page = await desktop_page("alice", extension="1001")
    await expect_state(page, "idle")
    button = page.get_by_role("button", name="Outdial")
    await expect(button).to_be_enabled()
    # DSK-15: by keyboard: Enter opens the dialog with the focus in its search
    # field, Tab reaches the entries' Call buttons, Escape closes it and the
    # focus is back on the button.
    dialog = page.locator("#outdial-dialog")
    await button.focus()
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_label("Search")).to_be_focused()
    await expect(dialog.locator(".book-entry")).to_have_count(2)
    await page.keyboard.press("Tab")
    await expect(dialog.get_by_role("button", name="Call Acme Billing")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(button).to_be_focused()
    await button.click()
    await expect(dialog.get_by_role("heading", name="Outdial")).to_be_visible()

    # OD-3: the ANIs alphabetically after the "none chosen" entry (the default is used).
    options = dialog.get_by_label("Outdial ANI").locator("option")
    await expect(options).to_have_text(
        [f"Choose outdial ANI (default: {DEFAULT_ANI})", DEFAULT_ANI, OTHER_ANI]
    )
    await expect(dialog.get_by_label("Outdial ANI")).to_have_value("")
    # OD-2: the address book, searchable; the keypad (the profile allows it).
    await expect(dialog.locator(".book-entry")).to_have_count(2)
    await dialog.get_by_label("Search").fill("field")
    await expect(dialog.locator(".book-entry")).to_have_count(1)
    await expect(dialog.locator(".book-entry")).to_contain_text("Field service")
    await expect(dialog.locator(".book-entry")).to_contain_text("+15552000003")
    await dialog.get_by_label("Search").fill("")
    await expect(dialog.get_by_role("group", name="Keypad")).to_be_visible()
    field = dialog.get_by_role("textbox", name="Dial number")
    await field.press_sequentially("+1 (555) 100-0000")
    await expect(field).to_have_value("+15551000000")  # DN-1, as typed
    await field.fill("")
    for key in "+1555":
        await dialog.get_by_role("button", name=f"Key {key}", exact=True).click()
    await expect(field).to_have_value("+1555")
    await screenshot(page, "outdial-dialog")
    await assert_accessible(page, "the outdial dialog")
    await dialog.get_by_role("button", name="Close").click()

    # OD-5: a message for each failure, and the agent is idle again.
    await attempt_fails(page, phone, BUSY, "The call failed: the number is busy.")
    await attempt_fails(page, phone, REJECTS, "The call failed: the customer rejected the call.")
    await dial_typed(page, ECHO)
    await phone.wait_for("incoming")
    await phone.reject()
    await notice(page, "The call failed: you declined the call on your phone.")
    await expect_state(page, "idle")
    await phone.wait_for("closed")

    # OD-4: Cancel while it rings (the tenant enables it), from the ringing card.
    await page.get_by_role("button", name="Outdial").click()
    await dialog.get_by_role("button", name="Call Acme Billing").click()
    card = page.locator(".outbound-card")
    await expect(card).to_contain_text(ECHO)
    await phone.wait_for("incoming")
    await card.get_by_role("button", name="Cancel").click()
    await notice(page, "The call was cancelled.")
    await phone.wait_for("closed")
    await expect_state(page, "idle")

    # OD-3, OD-4: with the second ANI, the call connects; TR-7: no queue targets.
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        await page.get_by_role("button", name="Outdial").click()
        await dialog.get_by_label("Outdial ANI").select_option(OTHER_ANI)
        await dialog.get_by_role("textbox", name="Dial number").fill(ECHO)
        await dialog.locator("button.call-number").click()
        await phone.wait_for("incoming")
        await expect(button).to_be_disabled()  # OD-1: not with a call going on
        await phone.answer()
        await expect_status(page, "connected", timeout=15000)
        connected = await alice.event("interaction.connected")
        assert connected["data"]["ani"] == OTHER_ANI and connected["data"]["kind"] == "outdial"
        await control(page, "Transfer").click()
        kinds = page.locator("#transfer-dialog").get_by_role("group", name="Transfer to")
        await expect(kinds.get_by_role("radio")).to_have_count(2)
        await expect(kinds).to_contain_text("Agent")
        await expect(kinds).to_contain_text("Dial number")
        await expect(kinds).not_to_contain_text("Queue")
        await page.locator("#transfer-dialog").get_by_role("button", name="Cancel").click()
        await end_and_wrap_up(page)
        await phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-9", "LIM-2")
async def test_outdial_over_the_tenant_limit_shows_code_27_and_its_text(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    ringing = [await phones.agent(ext, answer_after_ms=None) for ext in ("1013", "1014")]
    page = await desktop_page("lim/l1012", extension="1012", lang="de")
    await page.get_by_role("button", name="Externer Anruf").click()
    dialog = page.locator("#outdial-dialog")
    await dialog.get_by_role("textbox", name="Rufnummer").fill(ECHO)
    async with (
        Desktop(stack.url, "test-lim-l1013-token", "l1013") as a,
        Desktop(stack.url, "test-lim-l1014-token", "l1014") as b,
    ):
        # The tenant's two slots are taken while these agents' phones ring.
        for desk, ext in ((a, "1013"), (b, "1014")):
            await desk.login(ext)
            await desk.call(
                "POST", f"/v1/agents/{desk.agent}/outdial", {"number": ECHO}, expect=201
            )
        await dialog.locator("button.call-number").click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "Code 27: Der Mandant hat die Höchstgrenze für gleichzeitige Anrufe erreicht."
        )
        await screenshot(page, "outdial-limit", lang="de")
        await dialog.get_by_role("button", name="Schließen").click()
        for p in ringing:
            await p.wait_for("incoming")
            await p.reject()
        for desk in (a, b):
            await desk.event("interaction.outdial_failed")
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-9", "OD-2")
async def test_outdial_without_the_keypad_permission_offers_the_address_book_only(
    stack: Stack, desktop_page: OpenDesktop, page_errors: PageErrors
) -> None:
    page = await desktop_page("lim/l1020", extension="1020")
    await page.get_by_role("button", name="Outdial").click()
    dialog = page.locator("#outdial-dialog")
    await expect(dialog.locator(".book-entry")).to_contain_text("Echo desk")
    await expect(dialog.get_by_role("region", name="Keypad")).to_have_count(0)
    await expect(dialog.get_by_role("textbox", name="Dial number")).to_have_count(0)
    await assert_accessible(page, "the outdial dialog without keypad")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    assert not page_errors.errors, page_errors.errors
