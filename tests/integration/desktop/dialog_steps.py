"""Steps the dialog tests share: a person choosing a state, taking a call on
the hard phone of their extension, ending it and applying a wrap-up reason,
all through the desktop's screens."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

from tests.support.constants import CUSTOMER, SUPPORT
from tests.support.phones import Phone, PhoneFactory

AVAILABLE_GREEN = "rgb(30, 123, 52)"  # --available


async def choose_state(page: Page, item: str) -> None:
    """Opens the state selector and chooses an item ("Available", "Idle: Lunch")."""
    await page.locator("#state-button").click()
    await page.get_by_role("menuitemradio", name=item, exact=True).click()


async def expect_state(page: Page, state: str, timeout: float = 10000) -> None:
    await expect(page.locator("#state-button [data-state]")).to_have_attribute(
        "data-state", state, timeout=timeout
    )


async def expect_status(page: Page, status: str, timeout: float = 10000) -> None:
    await expect(page.locator("#call-status")).to_have_attribute(
        "data-status", status, timeout=timeout
    )


async def offered_call(
    page: Page,
    phones: PhoneFactory,
    extension: str,
    *,
    ani: str = CUSTOMER,
    number: str = SUPPORT,
    available: str = "Available",
) -> tuple[Phone, Phone]:
    """The agent goes available (state selector); a customer calls `number`;
    the offer shows and the agent's phone rings."""
    phone = await phones.agent(extension, answer_after_ms=None)
    await choose_state(page, available)
    await expect_state(page, "available")
    customer = await phones.customer(ani)
    await customer.dial(number)
    await expect(page.locator("#offer")).to_be_visible(timeout=10000)
    await phone.wait_for("incoming")
    return phone, customer


async def take_call(
    page: Page,
    phones: PhoneFactory,
    extension: str,
    *,
    ani: str = CUSTOMER,
    available: str = "Available",
) -> tuple[Phone, Phone]:
    """The agent goes available (state selector); a customer calls; the
    agent's phone answers; the control pane shows the call connected."""
    phone, customer = await offered_call(page, phones, extension, ani=ani, available=available)
    await phone.answer()
    await expect_status(page, "connected")
    await customer.wait_for("established")
    return phone, customer


async def wrap_up(page: Page, reason: str = "Resolved") -> None:
    dialog = page.locator("#wrapup")
    await expect(dialog).to_be_visible(timeout=10000)
    await dialog.get_by_label(reason, exact=True).check()
    await dialog.locator("button[type=submit]").click()
    await expect(dialog).to_be_hidden()


async def end_and_wrap_up(page: Page, reason: str = "Resolved") -> None:
    await page.locator(".controls button.end").click()
    await wrap_up(page, reason)


def control(page: Page, name: str) -> Locator:
    """A button of the interaction control pane's toolbar."""
    return page.get_by_role("toolbar", name="Interaction control").get_by_role(
        "button", name=name, exact=True
    )


async def colour(locator: Locator) -> str:
    return str(await locator.evaluate("el => getComputedStyle(el).backgroundColor"))
