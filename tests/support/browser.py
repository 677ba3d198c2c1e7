"""Headless Chromium as a browser-phone agent's desktop, inside a network
namespace of the test run's own.

WebRTC media cannot use loopback (Asterisk offers no 127.0.0.0/8 ICE
candidate), and the tests may reach no address but loopback and the
namespaces they create. So: a veth pair, 10.99.0.1/30 on the host and
10.99.0.2/30 in the namespace ``cp-phone-test`` (no default route). The
service also listens on 10.99.0.1 and Asterisk's webrtc endpoints take
their media there (see ``tests/integration/conftest.py``). Chromium runs in
the namespace through a wrapper script (``ip netns exec``); Playwright
drives it over a pipe, which the namespace does not touch.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import struct
import subprocess
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

NETNS: Final = "cp-phone-test"
HOST_IF: Final = "cpph-host"
NS_IF: Final = "cpph-ns"
HOST_ADDRESS: Final = "10.99.0.1"
NS_ADDRESS: Final = "10.99.0.2"
NETWORK: Final = "10.99.0.0/30"
CHROMIUM: Final = "/usr/bin/chromium"
# Headless Chromium as root on a machine without a network: no sandbox, no
# GPU, and none of the background connections it would try to make.
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TONE_HZ: Final = 1000


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ip = shutil.which("ip") or "/usr/sbin/ip"
    return subprocess.run([ip, *args], capture_output=True, text=True, check=check)


class PhoneNet:
    """The namespace and its veth pair; ``up()`` and ``down()`` are idempotent."""

    def up(self) -> None:
        self.down()  # a run that died may have left them
        _ip("netns", "add", NETNS)
        _ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        _ip("link", "set", NS_IF, "netns", NETNS)
        _ip("addr", "add", f"{HOST_ADDRESS}/30", "dev", HOST_IF)
        _ip("link", "set", HOST_IF, "up")
        _ip("-n", NETNS, "addr", "add", f"{NS_ADDRESS}/30", "dev", NS_IF)
        _ip("-n", NETNS, "link", "set", NS_IF, "up")
        _ip("-n", NETNS, "link", "set", "lo", "up")

    def down(self) -> None:
        _ip("link", "del", HOST_IF, check=False)  # (takes its peer along)
        _ip("netns", "del", NETNS, check=False)

    def set_link(self, up: bool) -> None:
        _ip("link", "set", HOST_IF, "up" if up else "down")


def tone_wav(path: Path, hz: int = TONE_HZ, seconds: float = 10.0, rate: int = 48000) -> Path:
    """A mono 16-bit sine: Chromium's fake microphone plays it in a loop."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        sample = int(12000 * math.sin(2 * math.pi * hz * n / rate))
        frames += struct.pack("<h", sample)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return path


def chromium_in_netns(directory: Path) -> Path:
    wrapper = directory / "chromium-in-netns"
    ip = shutil.which("ip") or "/usr/sbin/ip"
    wrapper.write_text(f'#!/bin/sh\nexec {ip} netns exec {NETNS} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def chromium_args(origin: str, wav: Path) -> list[str]:
    return [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
        f"--unsafely-treat-insecure-origin-as-secure={origin}",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def browser_files(directory: Path) -> tuple[Path, Path]:
    """(the Chromium wrapper, the fake microphone's 1 kHz wav) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return chromium_in_netns(directory), tone_wav(directory / "tone-1000.wav")


@contextlib.asynccontextmanager
async def netns_browser(files: tuple[Path, Path], origin: str) -> AsyncIterator[Browser]:
    """Chromium in the namespace, its fake microphone playing a 1 kHz tone."""
    executable, wav = files
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(executable), headless=True, args=chromium_args(origin, wav)
        )
        try:
            yield browser
        finally:
            await browser.close()


class PhonePage:
    """A desktop page of one agent in the namespace's browser, with the
    browser phone's test hooks (``?phonetest``)."""

    def __init__(self, context: BrowserContext, page: Page, origin: str) -> None:
        self.context = context
        self.page = page
        self.origin = origin

    async def eval(self, script: str, arg: Any = None) -> Any:
        return await self.page.evaluate(script, arg)

    async def reg(self) -> str:
        state: str = await self.eval("() => window.cpPhone ? window.cpPhone.reg.value : 'none'")
        return state

    async def flags(self) -> dict[str, bool]:
        result: dict[str, bool] = await self.eval(
            "() => ({incoming: cpPhone.incoming.value, inCall: cpPhone.inCall.value,"
            " muted: cpPhone.muted.value})"
        )
        return result

    async def peak_hz(self, seconds: float = 1.0) -> tuple[float, float]:
        """(frequency, level in dB) of the loudest bin of the remote audio."""
        result: list[float] = await self.eval(
            """async (seconds) => {
                const stream = window.cpPhone.test.remoteStream;
                if (!stream) return [0, -200];
                const ctx = new AudioContext();
                const src = ctx.createMediaStreamSource(stream);
                const an = ctx.createAnalyser();
                an.fftSize = 4096;
                src.connect(an);
                const bins = new Float32Array(an.frequencyBinCount);
                const best = new Float32Array(an.frequencyBinCount).fill(-200);
                const end = performance.now() + seconds * 1000;
                while (performance.now() < end) {
                    await new Promise((r) => setTimeout(r, 50));
                    an.getFloatFrequencyData(bins);
                    for (let i = 0; i < bins.length; i++) best[i] = Math.max(best[i], bins[i]);
                }
                let at = 1;
                for (let i = 2; i < best.length; i++) if (best[i] > best[at]) at = i;
                await ctx.close();
                return [at * ctx.sampleRate / an.fftSize, best[at]];
            }""",
            seconds,
        )
        return result[0], result[1]
