"""DSK-6: the transfer dialog in a real browser against the real stack: the
kinds the call allows, search, refresh, agents with their state (colour and
text), address-book names with numbers, the dial-number field (DN-1 as
typed, 3 to 14 digits before sending), and the wrap-up dialog after the
transfer (TR-6)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.integration.conftest import Stack
from tests.integration.desktop.conftest import (
    OpenDesktop,
    PageErrors,
    assert_accessible,
    screenshot,
)
from tests.integration.desktop.dialog_steps import (
    AVAILABLE_GREEN,
    colour,
    control,
    expect_state,
    take_call,
    wrap_up,
)
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


@pytest.mark.spec("DSK-6", "TR-1", "TR-2", "TR-6", "DN-1", "DN-2")
async def test_transfer_dialog_lists_kinds_agents_with_state_and_numbers_then_transfers_to_an_agent(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    async with (
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
        Desktop(stack.url, "demo-erin-token", "erin") as erin,
    ):
        bob_phone = await phones.agent("1002", answer_after_ms=0)
        await bob.login("1002")
        await erin.login("1005")  # idle: listed, but no blind-transfer target (TR-2)
        page = await desktop_page("alice", extension="1001")
        _, customer = await take_call(page, phones, "1001")
        await bob.available()
        await bob.state_event("available")

        await control(page, "Transfer").click()
        dialog = page.locator("#transfer-dialog")
        await expect(dialog.get_by_role("heading", name="Transfer request")).to_be_visible()
        # TR-1: an inbound call goes to an agent, a queue (or entry point) or a number.
        kinds = dialog.get_by_role("group", name="Transfer to").get_by_role("radio")
        await expect(kinds).to_have_count(3)
        await expect(dialog.get_by_role("radio", name="Agent", exact=True)).to_be_checked()
        await expect(dialog.get_by_role("radio", name="Queue", exact=True)).to_be_visible()
        await expect(dialog.get_by_role("radio", name="Dial number", exact=True)).to_be_visible()

        # Agents with their current state: colour and text; only available ones are choosable.
        bob_row = dialog.locator('li[data-target="bob"]')
        await expect(bob_row).to_contain_text("Bob Baker")
        await expect(bob_row.locator(".badge")).to_have_text("Available")
        assert await colour(bob_row.locator(".dot")) == AVAILABLE_GREEN
        erin_row = dialog.locator('li[data-target="erin"]')
        await expect(erin_row.locator(".badge")).to_have_text("Idle")
        assert await colour(erin_row.locator(".dot")) != AVAILABLE_GREEN
        await expect(erin_row.get_by_role("radio")).to_be_disabled()
        await expect(dialog.locator('li[data-target="alice"]')).to_have_count(0)

        # Search filters; refresh reads the current states again.
        await dialog.get_by_label("Search").fill("bak")
        await expect(dialog.locator("li[data-target]")).to_have_count(1)
        await expect(bob_row).to_be_visible()
        await dialog.get_by_label("Search").fill("")
        await expect(erin_row.locator(".badge")).to_have_text("Idle")
        await erin.available()
        await erin.state_event("available")
        await page.wait_for_timeout(300)
        await expect(erin_row.locator(".badge")).to_have_text("Idle")  # not re-read yet
        await dialog.get_by_role("button", name="Refresh list").click()
        await expect(erin_row.locator(".badge")).to_have_text("Available")
        await expect(erin_row.get_by_role("radio")).to_be_enabled()

        # Queues and entry points.
        await dialog.get_by_role("radio", name="Queue", exact=True).check()
        await expect(
            dialog.locator('li[data-kind="queue"][data-target="support"]')
        ).to_contain_text("Support")
        await expect(
            dialog.locator('li[data-kind="entry_point"][data-target="support"]')
        ).to_contain_text("8005550100")

        # A number: typed (only digits and + # * : stay, as typed) or from the address book.
        await dialog.get_by_role("radio", name="Dial number", exact=True).check()
        book = dialog.locator('li[data-kind="address_book"]')
        await expect(book.filter(has_text="Acme Billing")).to_contain_text("+15551000000")
        await expect(book.filter(has_text="Field service")).to_contain_text("+15552000003")
        field = dialog.get_by_role("textbox", name="Dial number")
        await field.press_sequentially("+1 (555) x-100")
        await expect(field).to_have_value("+1555100")
        await field.fill("")
        await field.press_sequentially("1-2")
        await expect(field).to_have_value("12")
        await dialog.get_by_role("button", name="Transfer", exact=True).click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "The number has fewer than 3 digits."
        )
        await expect(dialog).to_be_visible()  # nothing was sent
        await field.press_sequentially("3456789012345")
        await dialog.get_by_role("button", name="Transfer", exact=True).click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "The number has more than 14 digits."
        )
        await assert_accessible(page, "the transfer dialog")
        await dialog.get_by_role("radio", name="Agent", exact=True).check()
        await bob_row.get_by_role("radio").check()
        await screenshot(page, "transfer-dialog")

        # TR-6: the transfer goes out; the agent leaves the call and wraps up.
        await dialog.get_by_role("button", name="Transfer", exact=True).click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#wrapup")).to_be_visible(timeout=10000)
        await expect_state(page, "wrap_up")
        await bob_phone.wait_for("established")
        connected = await bob.event("interaction.connected")
        assert connected["data"]["agent"] == "bob"
        await wrap_up(page)
        await expect_state(page, "available")

        await customer.hangup()
        await bob.state_event("wrap_up")
        await bob.wrap_up(connected["data"]["id"], "resolved")
    assert not page_errors.errors, page_errors.errors
