"""DSK-11: the preview campaign in a real browser against the real stack:
the Campaign contact button for an agent of an assigned team, the contact
dialog with details, Skip and Call, the ringing card with Cancel (the
tenant enables it), and the call-guide tab (question tree, submit)."""

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
    choose_state,
    end_and_wrap_up,
    expect_state,
    expect_status,
)
from tests.support.constants import ECHO
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory

pytestmark = pytest.mark.integration


async def contact_with(page: Page, number: str) -> None:
    """Opens the contact dialog and skips until the contact with `number` shows."""
    await page.get_by_role("button", name="Campaign contact").click()
    dialog = page.locator("#campaign-dialog")
    await expect(dialog.get_by_role("heading", name="Campaign contact")).to_be_visible()
    shown = dialog.locator('[data-field="number"]')
    for _ in range(4):
        await expect(shown).not_to_have_text("")
        if await shown.text_content() == number:
            return
        before = await dialog.locator('[data-field="name"]').text_content()
        await dialog.get_by_role("button", name="Skip").click()
        await expect(dialog.locator('[data-field="name"]')).not_to_have_text(before or "")
    raise AssertionError(f"no contact with {number}")


@pytest.mark.spec("DSK-11", "PC-2", "PC-3", "PC-4")
async def test_campaign_contact_skip_cancel_call_and_call_guide(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    phone = await phones.agent("1001", answer_after_ms=None)
    page = await desktop_page("alice", extension="1001")
    button = page.get_by_role("button", name="Campaign contact")
    await expect(button).to_be_disabled()  # PC-2: only when available
    await choose_state(page, "Available")
    await expect_state(page, "available")
    await expect(button).to_be_enabled()

    # PC-2: the contact with details; Skip shows the next one.
    await button.click()
    dialog = page.locator("#campaign-dialog")
    await expect(dialog).to_contain_text("Contract renewals")
    first = await dialog.locator('[data-field="name"]').text_content()
    await expect(dialog.locator("[data-detail]").first).to_be_visible()
    await screenshot(page, "campaign-contact")
    await assert_accessible(page, "the campaign contact dialog")
    await dialog.get_by_role("button", name="Skip").click()
    await expect(dialog.locator('[data-field="name"]')).not_to_have_text(first or "")
    await dialog.get_by_role("button", name="Close").click()

    # PC-3: Call rings the agent's phone; the ringing card has Cancel.
    await contact_with(page, ECHO)
    await dialog.get_by_role("button", name="Call", exact=True).click()
    card = page.locator(".outbound-card")
    await expect(card).to_contain_text(ECHO)
    await expect(button).to_be_disabled()
    await phone.wait_for("incoming")
    await card.get_by_role("button", name="Cancel").click()
    await expect(page.locator(".notice", has_text="The call was cancelled.")).to_be_visible(
        timeout=10000
    )
    await phone.wait_for("closed")
    await expect_state(page, "available")

    # The contact is callable again; answered, the call guide is there.
    await contact_with(page, ECHO)
    await dialog.get_by_role("button", name="Call", exact=True).click()
    await phone.wait_for("incoming")
    await phone.answer()
    await expect_status(page, "connected", timeout=15000)
    guide_tab = page.get_by_role("tab", name="Call guide")
    await guide_tab.click()
    guide = page.locator("#aux-panel-call-guide")
    question = guide.locator(".guide-question legend")
    await expect(question).to_have_text("Does the customer want to renew?")
    submit = guide.get_by_role("button", name="Submit answers")
    await expect(submit).to_be_disabled()
    await guide.get_by_role("button", name="yes", exact=True).click()
    await expect(question).to_have_text("Which plan?")
    await guide.get_by_role("button", name="gold", exact=True).click()
    await expect(submit).to_be_enabled()
    # An earlier answer changed: the walk goes another way.
    await guide.locator('li[data-question="renew"]').get_by_role("button", name="Change").click()
    await expect(question).to_have_text("Does the customer want to renew?")
    await guide.get_by_role("button", name="no", exact=True).click()
    await expect(question).to_have_text("Why not?")
    await guide.get_by_label("Answer").fill("Too expensive")
    await guide.get_by_role("button", name="Next").click()
    await screenshot(page, "campaign-call-guide")
    await assert_accessible(page, "the call guide")
    await submit.click()
    await expect(guide.locator(".guide-done")).to_be_visible()
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        ix = (await alice.call("GET", "/v1/agents/alice"))["interaction"]
        stored = await alice.call("GET", f"/v1/interactions/{ix}/call-guide")
        assert [(a["question"], a["answer"]) for a in stored["submitted"]["answers"]] == [
            ("renew", "no"),
            ("why", "Too expensive"),
        ]
    await end_and_wrap_up(page)
    await phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors
