"""DSK-10: the interaction history tab in a real browser against the real
stack: All and Calls, each wrapped-up call with number, direction, queue
and wrap-up reason; Click-to-call and Edit before call, both disabled
during an active call (HI-1, HI-2)."""

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
    end_and_wrap_up,
    expect_state,
    expect_status,
    take_call,
)
from tests.support.constants import ECHO
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration

CALLER = "+15551000123"  # a number the PSTN simulator answers


@pytest.mark.spec("DSK-10", "HI-1", "HI-2")
async def test_history_tabs_click_to_call_and_edit_before_call_disabled_during_a_call(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    page = await desktop_page("alice", extension="1001")
    tab = page.get_by_role("tab", name="History")
    await expect(tab).to_have_attribute("aria-selected", "true")
    history = page.locator("#aux-panel-history")
    await expect(history).to_contain_text("No interactions yet.")

    # HI-1: a wrapped-up inbound call is in the history, in All and in Calls.
    phone, customer = await take_call(page, phones, "1001", ani=CALLER)
    await end_and_wrap_up(page)
    await customer.wait_for("closed")
    await phone.wait_for("closed")
    entry = history.locator(".history-entry").first
    await expect(entry.locator(".history-number")).to_have_text(CALLER, timeout=10000)
    await expect(entry).to_contain_text("Inbound")
    await expect(entry).to_contain_text("Support")
    await expect(entry).to_contain_text("Resolved")
    await history.get_by_role("tab", name="Calls", exact=True).click()
    await expect(history.get_by_role("tab", name="Calls", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(history.locator(".history-entry")).to_have_count(1)
    await history.get_by_role("tab", name="All", exact=True).click()
    await screenshot(page, "history")
    await assert_accessible(page, "the history tab")

    # HI-2: click-to-call; during the call both actions are disabled.
    call = history.get_by_role("button", name=f"Click-to-call {CALLER}")
    edit = history.get_by_role("button", name=f"Edit before call {CALLER}")
    await expect(call).to_be_enabled()
    await call.click()
    await phone.wait_for("incoming")
    await expect(call).to_be_disabled()
    await expect(edit).to_be_disabled()
    await expect(history).to_contain_text("Calls from the history are possible")
    await phone.answer()
    await expect_status(page, "connected", timeout=15000)
    await expect(page.locator(".call-id .number")).to_have_text(CALLER)
    await expect(call).to_be_disabled()
    await end_and_wrap_up(page)
    await phone.wait_for("closed")
    await expect(history.locator(".history-entry")).to_have_count(2, timeout=10000)
    await expect(history.locator(".history-entry").first).to_contain_text("Outbound")

    # HI-2: edited before calling: the edited number is dialled.
    await expect(edit.first).to_be_enabled()
    await edit.first.click()
    dialog = page.locator("#history-edit")
    number = dialog.get_by_role("textbox", name="Dial number")
    await expect(number).to_have_value(CALLER)
    await number.fill("")
    await number.press_sequentially(ECHO.replace("+1", "+1 ("))  # DN-1: '(' is dropped
    await expect(number).to_have_value(ECHO)
    await dialog.get_by_role("button", name="Call", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator(".outbound-card")).to_contain_text(ECHO)
    await phone.wait_for("incoming")
    await phone.reject()
    await expect(
        page.locator(".notice", has_text="you declined the call on your phone")
    ).to_be_visible(timeout=10000)
    await expect_state(page, "available")
    await phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors
