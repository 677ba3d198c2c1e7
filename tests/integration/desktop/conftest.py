"""The agent desktop in a real browser (headless Chromium, Playwright) against
the real stack: the service serves the built web app (controlplane/webui),
the agent signs in through the form like a person and works with a hard
phone on the agent's extension (tests/support/phones.py).

Fixtures: `browser` (Chromium at 1366x768), `desktop_page` (signs an agent
in and answers the page), and the helpers `screenshot` (PNG files under
build/screenshots/) and `assert_accessible` (axe-core: no serious or
critical violation).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

import devstack
from tests.integration.conftest import Stack, agent_password
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

REPO = devstack.REPO_ROOT
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = REPO / "build" / "screenshots"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
WEBUI_INDEX = REPO / "controlplane" / "webui" / "index.html"

# How long the desktop may take to show what the service knows (DSK-13: 2 s).
SHOWN_WITHIN_MS = 2000


@pytest.fixture(autouse=True)
def built_desktop() -> None:
    """The service serves the build of web/; without it every page is a 503."""
    assert WEBUI_INDEX.is_file(), (
        "build the desktop first: ./scripts/bootstrap (or cd web && npm run build)"
    )


@pytest.fixture
async def browser(stack: Stack) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class OpenDesktop(Protocol):
    def __call__(
        self,
        agent: str,
        password: str | None = None,
        *,
        phone: Literal["extension", "browser"] = "extension",
        extension: str | None = None,
        lang: Literal["en", "de"] = "en",
        context: BrowserContext | None = None,
    ) -> Awaitable[Page]: ...


class PageErrors:
    """Uncaught errors and console errors of the pages a test opened. The
    browser logs every answered 401, 409 or 429 as a failed resource: those
    are answers the page expects (signed out, refused, throttled)."""

    EXPECTED = re.compile(r"^Failed to load resource: .* status of (401|409|429) ")

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and not self.EXPECTED.match(msg.text):
            self.errors.append(f"console: {msg.text}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


async def new_context(browser: Browser, stack: Stack) -> BrowserContext:
    return await browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-US",
        timezone_id="Europe/Berlin",
        base_url=stack.url,
    )


@pytest.fixture
async def desktop_page(
    stack: Stack, browser: Browser, page_errors: PageErrors
) -> AsyncIterator[OpenDesktop]:
    """`await desktop_page("alice", extension="1001")`: a page on which the
    agent signed in through the form (agent ID, password, phone choice)."""
    contexts: list[BrowserContext] = []

    async def open_desktop(
        agent: str,
        password: str | None = None,
        *,
        phone: Literal["extension", "browser"] = "extension",
        extension: str | None = None,
        lang: Literal["en", "de"] = "en",
        context: BrowserContext | None = None,
    ) -> Page:
        tenant, _, agent_id = agent.rpartition("/")
        if context is None:
            context = await new_context(browser, stack)
            contexts.append(context)
        page = await context.new_page()
        page_errors.watch(page)
        await page.goto("/")
        form = page.locator("form.signin-card")
        await expect(form).to_be_visible()
        if lang == "de":
            await page.get_by_label("Language").select_option("de")
        await page.locator("#signin-agent").fill(agent)
        await page.locator("#signin-password").fill(
            password or agent_password(tenant or "acme", agent_id)
        )
        if phone == "extension":
            await page.locator("input[name=phone][value=extension]").check()
            await page.locator("#signin-extension").fill(extension or "")
        else:
            await page.locator("input[name=phone][value=browser]").check()
        await page.locator("form.signin-card button[type=submit]").click()
        await expect(page.locator("#state-button")).to_be_visible()
        return page

    try:
        yield open_desktop
    finally:
        for context in contexts:
            await context.close()


async def screenshot(page: Page, name: str, lang: Literal["en", "de"] = "en") -> Path:
    """Saves the page as build/screenshots/<name>.png (<name>.de.png in German)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (f"{name}.de.png" if lang == "de" else f"{name}.png")
    await page.screenshot(path=str(path))
    return path


async def assert_accessible(page: Page, what: str) -> None:
    """axe-core on the page as it is: no serious or critical violation. The
    script is evaluated (not a <script> tag: the page's CSP forbids inline
    scripts, rightly)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        """async () => {
            const r = await window.axe.run(document, { resultTypes: ['violations'] });
            return { violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) })) };
        }"""
    )
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core, {what}: " + json.dumps(bad, indent=1)


async def wait_for_text(page: Page, selector: str, text: str, timeout_ms: int = 10000) -> None:
    await expect(page.locator(selector)).to_contain_text(text, timeout=timeout_ms)
