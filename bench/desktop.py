"""The agent desktop's weight and speed, in headless Chromium against the
bench stack (real Asterisk, Redis, the service serving the built desktop):

- initial JavaScript: the entry script and the modules ``index.html``
  preloads, each gzipped (level 9) as a server would send it, summed; the
  target is at most 150 kB with the SIP stack;
- offer -> popover: over N offers (default 20), from the service publishing
  ``interaction.offered`` (the event's ``at``, the service's clock) to the
  contact-request popover being in the page (a MutationObserver's
  ``Date.now()``, the same machine's clock); the target is p95 <= 50 ms.
  The first popover of any kind (the connecting one) is timed too.

Each offer rings the agent's extension (a registered SIP phone that does not
answer); the customer hangs up once the popover is shown, which withdraws
the offer, and the next call starts when the agent is available again.

    .venv/bin/python -m bench.desktop             # 20 offers
    .venv/bin/python -m bench.desktop --offers 50
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
from datetime import datetime
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright

from bench.measure import percentile
from bench.stack import (
    CP_NUMBER,
    REPO,
    RUN_DIR,
    BenchStack,
    agent_id,
    agent_password,
    agent_token,
    log,
    machine_lock,
)
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.phones import PhoneFactory

EXTENSION = 1001
CUSTOMER_ANI = "+15557770002"
WEBUI = REPO / "controlplane" / "webui"
OUT = REPO / "build" / "bench" / "desktop.json"
JS_TARGET_KB = 150.0
POPOVER_TARGET_MS = 50.0

# Records when each kind of popover first enters the page, per offer.
OBSERVER = """() => {
  window.__popovers = [];
  let connecting = false, request = false;
  const look = () => {
    const c = document.querySelector('.offer-popover.connecting') !== null;
    const r = document.querySelector('.offer-popover:not(.connecting)') !== null;
    const now = Date.now();
    if (c && !connecting) window.__popovers.push({kind: 'connecting', at: now});
    if (r && !request) window.__popovers.push({kind: 'request', at: now});
    connecting = c; request = r;
  };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true});
}"""


def initial_js() -> dict[str, Any]:
    """The scripts a first visit loads before it can render: the entry and its
    preloaded modules (lazy chunks are left out), raw and gzipped."""
    index = (WEBUI / "index.html").read_text()
    refs = re.findall(r'<script[^>]+src="([^"]+\.js)"', index)
    refs += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"', index)
    files: dict[str, dict[str, float]] = {}
    for ref in dict.fromkeys(refs):
        data = (WEBUI / ref.lstrip("/")).read_bytes()
        files[ref] = {
            "raw_kb": round(len(data) / 1024, 1),
            "gzip_kb": round(len(gzip.compress(data, 9)) / 1024, 1),
        }
    return {
        "files": files,
        "raw_kb": round(sum(f["raw_kb"] for f in files.values()), 1),
        "gzip_kb": round(sum(f["gzip_kb"] for f in files.values()), 1),
        "target_gzip_kb": JS_TARGET_KB,
    }


def _epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


class Events:
    """The agent's events over the bearer-token WebSocket, as they come."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.new = asyncio.Condition()

    async def read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                async with self.new:
                    self.items.append(json.loads(msg.data))
                    self.new.notify_all()

    async def next(self, kind: str, since: int, timeout: float = 20) -> tuple[int, dict[str, Any]]:
        async def found() -> tuple[int, dict[str, Any]]:
            async with self.new:
                while True:
                    for index in range(since, len(self.items)):
                        if self.items[index].get("type") == kind:
                            return index, self.items[index]
                    await self.new.wait()

        return await asyncio.wait_for(found(), timeout)


async def sign_in(page: Page) -> None:
    await page.goto("/")
    await page.locator("#signin-agent").fill(agent_id(EXTENSION))
    await page.locator("#signin-password").fill(agent_password(EXTENSION))
    await page.locator("input[name=phone][value=extension]").check()
    await page.locator("#signin-extension").fill(str(EXTENSION))
    await page.locator("form.signin-card button[type=submit]").click()
    await page.locator("#state-button").wait_for(timeout=10_000)


async def offers(url: str, count: int) -> dict[str, list[float]]:
    agent = agent_id(EXTENSION)
    headers = {"Authorization": f"Bearer {agent_token(EXTENSION)}"}
    result: dict[str, list[float]] = {"request_ms": [], "connecting_ms": []}
    async with (
        PhoneFactory(RUN_DIR / "phones") as phones,
        aiohttp.ClientSession(headers=headers) as http,
        async_playwright() as pw,
    ):
        await phones.agent(str(EXTENSION), answer_after_ms=None)  # rings, never answers
        customer = await phones.customer(CUSTOMER_ANI)
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            context = await browser.new_context(
                base_url=url, viewport={"width": 1366, "height": 768}
            )
            page = await context.new_page()
            await sign_in(page)
            await page.evaluate(OBSERVER)
            events = Events()
            ws = await http.ws_connect(f"{url}/v1/events", heartbeat=15)
            reader = asyncio.create_task(events.read(ws), name="bench-desktop-events")
            try:
                seen = 0
                state = {"state": "available"}
                async with http.put(f"{url}/v1/agents/{agent}/state", json=state) as answer:
                    answer.raise_for_status()
                for index in range(count):
                    await page.evaluate("() => { window.__popovers = []; }")
                    await customer.dial(CP_NUMBER)
                    seen, offered = await events.next("interaction.offered", seen)
                    published = _epoch_ms(offered["at"])
                    await page.wait_for_function(
                        "() => window.__popovers.some(p => p.kind === 'request')",
                        timeout=10_000,
                    )
                    shown: list[dict[str, Any]] = await page.evaluate("() => window.__popovers")
                    at = {p["kind"]: float(p["at"]) for p in reversed(shown)}
                    result["request_ms"].append(at["request"] - published)
                    if "connecting" in at:
                        result["connecting_ms"].append(at["connecting"] - published)
                    await customer.hangup_all()
                    while True:
                        seen, change = await events.next("agent.state", seen + 1)
                        if change["data"]["state"] == "available":
                            break
                    if (index + 1) % 5 == 0:
                        log(f"{index + 1}/{count} offers")
            finally:
                reader.cancel()
                await ws.close()
                async with http.put(f"{url}/v1/agents/{agent}/state", json={"state": "logged_out"}):
                    pass
        finally:
            await browser.close()
    return result


def summary(samples: list[float]) -> dict[str, float | int]:
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }


async def run(count: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"initial_js": initial_js()}
    with machine_lock():
        stack = BenchStack(agents=1, desktop_agents=1)
        try:
            stack.start_base()
            stack.flush_redis()
            stack.start_services(1)
            samples = await offers(stack.urls[0], count)
        finally:
            stack.close()
    figures["offer_to_popover"] = {
        "request": summary(samples["request_ms"]),
        "connecting": summary(samples["connecting_ms"]),
        "target_p95_ms": POPOVER_TARGET_MS,
    }
    return figures


def report(figures: dict[str, Any]) -> str:
    js = figures["initial_js"]
    request = figures["offer_to_popover"]["request"]
    connecting = figures["offer_to_popover"]["connecting"]
    lines = [
        f"initial JS: {js['gzip_kb']} kB gzipped ({js['raw_kb']} kB raw) in "
        f"{len(js['files'])} file(s); target <= {JS_TARGET_KB:.0f} kB",
        f"offered -> contact-request popover over {request.get('n', 0)} offers: "
        f"p50 {request.get('p50_ms')} ms, p95 {request.get('p95_ms')} ms, "
        f"max {request.get('max_ms')} ms; target p95 <= {POPOVER_TARGET_MS:.0f} ms",
    ]
    if connecting.get("n"):
        lines.append(
            f"offered -> connecting popover: p50 {connecting['p50_ms']} ms, "
            f"p95 {connecting['p95_ms']} ms (it may come before the offer: negative)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=int, default=20)
    args = parser.parse_args()
    if not (WEBUI / "index.html").is_file():
        raise SystemExit("build the desktop first: ./scripts/bootstrap")
    figures = asyncio.run(run(args.offers))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(report(figures))
    print(f"written: {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
