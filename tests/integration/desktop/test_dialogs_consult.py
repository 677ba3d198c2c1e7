"""DSK-7, DSK-8: consult and conference in two real browsers (the consulting
agent and the consulted agent, each with the hard phone of their extension)
against the real stack: the consult dialog, "consult requested" with
Cancel, the consulted agent's offer with its nine variables, the two panes
with their statuses, switching, the conference with its icon, and the
controls each role may use (the role tables of the product)."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.integration.conftest import Stack
from tests.integration.desktop.conftest import (
    OpenDesktop,
    PageErrors,
    assert_accessible,
    screenshot,
)
from tests.integration.desktop.dialog_steps import (
    choose_state,
    control,
    end_and_wrap_up,
    expect_state,
    expect_status,
    take_call,
    wrap_up,
)
from tests.support.phones import Phone, PhoneFactory

pytestmark = pytest.mark.integration


async def consult_bob(page: Page) -> None:
    """Agent 1 opens the consult dialog and consults Bob."""
    await control(page, "Consult").click()
    dialog = page.locator("#consult-dialog")
    await expect(dialog.get_by_role("heading", name="Consult request")).to_be_visible()
    await dialog.locator('li[data-target="bob"]').get_by_role("radio").check()
    await dialog.get_by_role("button", name="Consult", exact=True).click()
    await expect(dialog).to_be_hidden()


async def bob_ready(open_page: OpenDesktop, phones: PhoneFactory) -> tuple[Page, Phone]:
    phone = await phones.agent("1002", answer_after_ms=None)
    page = await open_page("bob", extension="1002")
    await choose_state(page, "Available")
    await expect_state(page, "available")
    return page, phone


def pane(page: Page, which: str) -> Locator:
    return page.locator(f".consult-panes .party-pane.{which}")


@pytest.mark.spec("DSK-7", "DSK-8", "CO-1", "CO-2", "CO-3", "CO-5", "CF-1", "CF-3", "CF-5")
async def test_consult_panes_switching_conference_and_the_consulted_agent_leaving(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    alice = await desktop_page("alice", extension="1001")
    alice_phone, customer = await take_call(alice, phones, "1001")
    bob, bob_phone = await bob_ready(desktop_page, phones)

    # The consult dialog: agents (with their state), queues, numbers.
    await control(alice, "Consult").click()
    dialog = alice.locator("#consult-dialog")
    kinds = dialog.get_by_role("group", name="Consult with").get_by_role("radio")
    await expect(kinds).to_have_count(3)
    await expect(dialog.locator('li[data-target="bob"] .badge')).to_have_text("Available")
    await dialog.get_by_role("button", name="Cancel").click()
    await consult_bob(alice)

    # CO-1: "consult requested" beside the timer while Bob's phone rings.
    await expect_status(alice, "consultRequested")
    await expect(alice.locator("#call-status")).to_have_text("Consult requested")
    await expect(
        pane(alice, "consulted").get_by_role("button", name="Cancel consult")
    ).to_be_enabled()
    # CO-2: Bob's offer shows the nine variables, agent 1's name first.
    offer = bob.locator("#offer")
    await expect(offer).to_be_visible(timeout=10000)
    await expect(offer.locator("[data-variable]")).to_have_count(9)
    await expect(offer.locator('[data-variable="consulting_agent_name"] dd')).to_have_text(
        "Alice Able"
    )
    await expect(offer.locator('[data-variable="consulting_agent_dn"] dd')).to_have_text("1001")
    await expect(offer.locator('[data-variable="consulting_agent_team"] dd')).to_have_text("Tier 1")
    await bob_phone.wait_for("incoming")
    await bob_phone.answer()

    # CO-3: two panes: the customer held, Bob consulting.
    await expect_status(alice, "consulting")
    await expect(pane(alice, "customer").locator(".status")).to_have_text("Call on hold")
    await expect(pane(alice, "consulted").locator(".status")).to_have_text("Consult")
    await expect(pane(alice, "consulted")).to_contain_text("Bob Baker")
    for name in (
        "Hold consulted party",
        "Transfer to consulted party",
        "Conference",
        "End consult",
    ):
        await expect(pane(alice, "consulted").get_by_role("button", name=name)).to_be_enabled()
    await expect(
        pane(alice, "consulted").get_by_role("button", name="Cancel consult")
    ).to_have_count(0)
    await expect(control(alice, "End")).to_be_disabled()  # END-1: the customer is held
    # CO-5: Bob only leaves; he cannot hold, resume or end the customer's call.
    await expect(bob.locator(".consult-panes")).to_have_attribute("data-role", "consulted_agent")
    await expect(bob.get_by_role("button", name="Leave consult")).to_be_enabled()
    await expect(control(bob, "End")).to_be_disabled()
    await expect(bob.locator(".controls button.resume")).to_be_disabled()  # the held customer
    await expect(bob.get_by_role("button", name="Conference")).to_have_count(0)
    await expect(bob.locator(".consult-vars [data-variable]")).to_have_count(9)
    await screenshot(alice, "consult-panes")
    await screenshot(bob, "consult-consulted-agent")
    await assert_accessible(alice, "the consult panes")
    await assert_accessible(bob, "the consulted agent's desktop")

    # CO-3: switching: back to the customer (Bob held), and back to Bob.
    await pane(alice, "customer").get_by_role("button", name="Resume customer").click()
    await expect(pane(alice, "customer").locator(".status")).to_have_text("Connected")
    await expect(pane(alice, "consulted").locator(".status")).to_have_text("Consult on hold")
    await expect_status(alice, "consultHeld")
    await expect(bob.locator("#pane-consulted-status")).to_have_text("Consult on hold")
    await pane(alice, "consulted").get_by_role("button", name="Resume consulted party").click()
    await expect(pane(alice, "customer").locator(".status")).to_have_text("Call on hold")
    await expect(pane(alice, "consulted").locator(".status")).to_have_text("Consult")

    # CF-1: the conference: the icon beside the timer; CF-3: nobody can be held.
    await pane(alice, "consulted").get_by_role("button", name="Conference").click()
    await expect_status(alice, "conference")
    await expect(alice.locator("#call-status .icon-conference")).to_be_visible()
    await expect(alice.get_by_role("img", name="Conference").first).to_be_visible()
    await expect(pane(alice, "customer").locator(".status")).to_have_text("Conference")
    await expect(control(alice, "Hold")).to_be_disabled()
    await expect(
        pane(alice, "consulted").get_by_role("button", name="End conference")
    ).to_be_enabled()
    await expect(
        pane(alice, "consulted").get_by_role("button", name="Transfer to consulted party")
    ).to_be_enabled()
    await expect(alice.get_by_role("button", name="Hold consulted party")).to_have_count(0)
    await expect_status(bob, "conference")
    await expect(bob.locator("#call-status .icon-conference")).to_be_visible()
    await expect(bob.get_by_role("button", name="Leave conference")).to_be_enabled()
    await expect(bob.get_by_role("button", name="End conference")).to_have_count(0)
    await screenshot(alice, "conference")
    await screenshot(bob, "conference-consulted-agent")
    await assert_accessible(alice, "the conference")

    # CF-5: Bob leaves; the call goes on with Alice; Bob has no wrap-up.
    await bob.get_by_role("button", name="Leave conference").click()
    await expect_state(bob, "available")
    await expect(bob.locator("#wrapup")).to_have_count(0)
    await bob_phone.wait_for("closed")
    await expect_status(alice, "connected")
    await expect(alice.locator(".consult-panes")).to_have_count(0)
    await end_and_wrap_up(alice)
    await customer.wait_for("closed")
    await alice_phone.wait_for("closed")
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-7", "DSK-8", "CO-1", "CO-4", "CF-4")
async def test_consult_cancelled_while_ringing_then_conference_transferred_to_the_consulted_agent(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    alice = await desktop_page("alice", extension="1001")
    _, customer = await take_call(alice, phones, "1001")
    bob, bob_phone = await bob_ready(desktop_page, phones)

    # CO-1: cancelled while it rings: back with the customer.
    await consult_bob(alice)
    await expect_status(alice, "consultRequested")
    await bob_phone.wait_for("incoming")
    await pane(alice, "consulted").get_by_role("button", name="Cancel consult").click()
    await expect(alice.locator(".consult-panes")).to_have_count(0)
    await bob_phone.wait_for("closed")
    await expect(bob.locator("#offer")).to_have_count(0)
    await expect_status(alice, "connected")  # back with the customer
    await expect_state(bob, "available")

    # Again, answered, a conference, then CF-4: transferred to Bob.
    await consult_bob(alice)
    await bob_phone.wait_for("incoming")
    await bob_phone.answer()
    await expect_status(alice, "consulting")
    await pane(alice, "consulted").get_by_role("button", name="Conference").click()
    await expect_status(alice, "conference")
    await expect_status(bob, "conference")
    await pane(alice, "consulted").get_by_role("button", name="Transfer to consulted party").click()
    await wrap_up(alice)
    # Bob has the call now, with the full controls of the call's agent.
    await expect_status(bob, "connected")
    await expect(bob.locator(".consult-panes")).to_have_count(0)
    await expect(control(bob, "Hold")).to_be_enabled()
    await expect(control(bob, "Transfer")).to_be_enabled()
    await end_and_wrap_up(bob)
    await customer.wait_for("closed")
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-7", "CO-4")
async def test_consulting_agent_ends_the_consult_for_everyone_and_wraps_up(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    alice = await desktop_page("alice", extension="1001", lang="de")
    _, customer = await take_call(alice, phones, "1001", available="Verfügbar")
    bob, bob_phone = await bob_ready(desktop_page, phones)
    await alice.locator(".controls button.consult").click()
    dialog = alice.locator("#consult-dialog")
    await expect(dialog.get_by_role("heading", name="Beratungs-Anforderung")).to_be_visible()
    await dialog.locator('li[data-target="bob"]').get_by_role("radio").check()
    await dialog.get_by_role("button", name="Konsultieren", exact=True).click()
    await expect(alice.locator("#call-status")).to_have_text("Beratung angefordert")
    await bob_phone.wait_for("incoming")
    await bob_phone.answer()
    await expect(alice.locator("#pane-consulted-status")).to_have_text("Beratung")
    await screenshot(alice, "consult-panes", lang="de")
    # CO-4: "Beratung beenden": the customer and Bob are removed; Alice wraps up.
    await alice.locator(".consult-panes .end-consult").click()
    await expect(alice.locator("#wrapup")).to_be_visible(timeout=10000)
    await customer.wait_for("closed")
    await bob_phone.wait_for("closed")
    await expect_state(bob, "available")
    await wrap_up(alice, "Resolved")  # the tenant's reason, as configured
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-8", "CF-6")
async def test_consulting_agent_ends_the_conference_for_everyone(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    alice = await desktop_page("alice", extension="1001")
    _, customer = await take_call(alice, phones, "1001")
    bob, bob_phone = await bob_ready(desktop_page, phones)
    await consult_bob(alice)
    await bob_phone.wait_for("incoming")
    await bob_phone.answer()
    await pane(alice, "consulted").get_by_role("button", name="Conference").click()
    await expect_status(bob, "conference")
    # CF-6: "End conference": the customer and Bob are out; Alice wraps up, Bob does not.
    await pane(alice, "consulted").get_by_role("button", name="End conference").click()
    await expect(alice.locator("#wrapup")).to_be_visible(timeout=10000)
    await customer.wait_for("closed")
    await bob_phone.wait_for("closed")
    await expect_state(bob, "available")
    await expect(bob.locator("#wrapup")).to_have_count(0)
    await expect(bob.locator(".consult-panes")).to_have_count(0)
    await wrap_up(alice)
    assert not page_errors.errors, page_errors.errors


@pytest.mark.spec("DSK-7", "CO-1")
async def test_consult_waiting_in_a_queue_shows_consult_requested_and_is_cancelled(
    stack: Stack, desktop_page: OpenDesktop, phones: PhoneFactory, page_errors: PageErrors
) -> None:
    alice = await desktop_page("alice", extension="1001")
    _, customer = await take_call(alice, phones, "1001")
    await control(alice, "Consult").click()
    dialog = alice.locator("#consult-dialog")
    await dialog.get_by_role("radio", name="Queue", exact=True).check()
    # CO-1: queues only (no entry points for a consult).
    await expect(dialog.locator('li[data-kind="entry_point"]')).to_have_count(0)
    await dialog.locator('li[data-kind="queue"][data-target="vip"]').get_by_role("radio").check()
    await dialog.get_by_role("button", name="Consult", exact=True).click()
    # Nobody of the queue's teams is available: the request waits, with Cancel.
    await expect_status(alice, "consultRequested")
    consulted = pane(alice, "consulted")
    await expect(consulted).to_contain_text("Waiting in queue VIP support")
    await expect(consulted.locator(".status")).to_have_text("Consult requested")
    await expect(pane(alice, "customer").locator(".status")).to_have_text("Call on hold")
    await consulted.get_by_role("button", name="Cancel consult").click()
    await expect(alice.locator(".consult-panes")).to_have_count(0)
    await expect_status(alice, "connected")
    await end_and_wrap_up(alice)
    await customer.wait_for("closed")
    assert not page_errors.errors, page_errors.errors
