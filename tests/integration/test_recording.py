"""Recording (REC-1) and its privacy shield (REC-2, REC-3), checked on the
real file that Asterisk writes: both phones send a tone, so conversation
audio is measurable in the file; the paused stretch must hold silence."""

from __future__ import annotations

import math
import sys
import time
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from controlplane.adapters.ari import AriClient, AriError
from tests.integration.conftest import PRIVACY_SHIELD_SECONDS, Stack
from tests.support.asterisk import audio_flows, wait_until
from tests.support.constants import DC_PREFIX, SUPPORT, VIP
from tests.support.desktop import ApiError, Desktop
from tests.support.phones import PhoneFactory
from tests.support.scenes import Call, connected_call

pytestmark = pytest.mark.integration


WINDOW_S = 0.1  # analysis window
SILENT_RMS = 50.0  # of 32768: nothing but codec noise
LOUD_RMS = 1000.0  # the phones' tones are about -10 dBov


async def given_connected_call(
    phones: PhoneFactory, ari: AriClient, desktop: Desktop, extension: str, number: str
) -> Call:
    """A connected call, and nothing else in Asterisk than its two legs."""
    call = await connected_call(phones, ari, desktop, extension, number=number)
    legs = [str(c["id"]) for c in await ari.channels()]
    assert len(legs) == 2 and set(legs) == set(call.legs), legs
    return call


@dataclass
class Analysis:
    seconds: float
    rms: list[float]  # per WINDOW_S

    def silent_runs(self, min_seconds: float = 0.5) -> list[tuple[float, float]]:
        """(start, length) in seconds of every silent stretch of at least `min_seconds`."""
        runs: list[tuple[float, float]] = []
        start: int | None = None
        for i, value in enumerate([*self.rms, LOUD_RMS]):
            if value < SILENT_RMS and start is None:
                start = i
            elif value >= SILENT_RMS and start is not None:
                if (i - start) * WINDOW_S >= min_seconds:
                    runs.append((start * WINDOW_S, (i - start) * WINDOW_S))
                start = None
        return runs

    def loud_share(self, start_s: float, end_s: float) -> float:
        """Share of the windows between the two times that carry a tone."""
        part = self.rms[int(start_s / WINDOW_S) : int(end_s / WINDOW_S)]
        return sum(1 for v in part if v >= LOUD_RMS) / max(len(part), 1)


def analyse(path: Path) -> Analysis:
    """The RMS level of each 100 ms of an 8 kHz 16-bit mono wav file."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2, wav.getparams()
        rate = wav.getframerate()
        samples = array("h")
        samples.frombytes(wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    n = int(rate * WINDOW_S)
    rms = [
        math.sqrt(sum(x * x for x in samples[i : i + n]) / n)
        for i in range(0, len(samples) - n + 1, n)
    ]
    return Analysis(seconds=len(samples) / rate, rms=rms)


async def finished_recording(stack: Stack, ari: AriClient, name: str) -> Path:
    """The file of a recording once Asterisk has stored it and closed it."""

    async def stored() -> bool:
        names = {r.get("name") for r in await ari.stored_recordings()}
        try:
            await ari.live_recording(name)
        except AriError as exc:
            return exc.status == 404 and name in names
        return False

    await wait_until(stored, what=f"recording {name} stored")
    return stack.asterisk.recording_dir / f"{name}.wav"


async def hang_up_and_wrap_up(desktop: Desktop, call: Call) -> float:
    ended = await desktop.end(call.ix_id)
    at = time.monotonic()
    assert ended["recording"] == "off"
    await call.customer.wait_for("closed")
    await call.phone.wait_for("closed")
    await desktop.state_event("wrap_up")
    await desktop.wrap_up(call.ix_id, "resolved")
    return at


@pytest.mark.spec("REC-1")
async def test_given_recording_enabled_when_call_connects_then_conversation_is_recorded(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await given_connected_call(phones, ari, alice, "1001", SUPPORT)
        assert call.connected["recording"] == "recording"
        assert call.connected["recording_name"] == call.ix_id
        live = await ari.live_recording(call.ix_id)
        assert live.get("state") == "recording" and live.get("format") == "wav"
        assert await audio_flows(ari, call.legs, seconds=2.0)
        ended_at = await hang_up_and_wrap_up(alice, call)
        final = await alice.call("GET", f"/v1/interactions/{call.ix_id}")
        assert final["recording"] == "off" and final["recording_name"] == call.ix_id

    path = await finished_recording(stack, ari, call.ix_id)
    try:
        audio = analyse(path)
        talked = ended_at - call.connected_at
        # the file covers the connected conversation: from connect to end
        assert abs(audio.seconds - talked) < 0.6, (audio.seconds, talked)
        assert audio.loud_share(0.3, audio.seconds - 0.3) > 0.95
        assert audio.silent_runs() == []
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.spec("REC-1", "REC-2")
async def test_given_profile_without_recording_when_call_connects_then_nothing_is_recorded(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    # carol's profile (restricted) has neither recording nor privacy shield
    async with Desktop(stack.url, "demo-carol-token", "carol") as carol:
        call = await given_connected_call(phones, ari, carol, "1003", VIP)
        assert call.connected["recording"] == "off"
        assert call.connected["recording_name"] is None
        with pytest.raises(AriError) as no_recording:
            await ari.live_recording(call.ix_id)
        assert no_recording.value.status == 404
        with pytest.raises(ApiError) as refused:
            await carol.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        assert refused.value.status == 409
        assert refused.value.body["details"]["rule"] == "REC-2"
        assert await audio_flows(ari, call.legs)
        await hang_up_and_wrap_up(carol, call)

    names = {r.get("name") for r in await ari.stored_recordings()}
    assert call.ix_id not in names
    assert not (stack.asterisk.recording_dir / f"{call.ix_id}.wav").exists()


@pytest.mark.spec("REC-2", "REC-3")
async def test_given_recorded_call_when_agent_pauses_and_resumes_then_file_has_no_paused_audio(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        call = await given_connected_call(phones, ari, alice, "1001", SUPPORT)
        assert await audio_flows(ari, call.legs, seconds=1.0)  # talking, recorded
        with pytest.raises(ApiError) as not_paused:
            await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/resume")
        assert not_paused.value.status == 409
        assert not_paused.value.body["details"]["rule"] == "REC-2"
        with pytest.raises(ApiError) as not_bobs:
            await bob.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        assert not_bobs.value.status == 403

        # REC-2: pause: the call shows it, with the time it resumes by itself
        paused_at = time.monotonic()
        paused = await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        assert paused["recording"] == "paused"
        event = (await alice.event("interaction.recording_paused"))["data"]
        assert event["recording"] == "paused" and event["resume_at"]
        with pytest.raises(ApiError) as twice:
            await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        assert twice.value.status == 409
        # the conversation goes on while the recording is paused
        assert await audio_flows(ari, call.legs, seconds=1.5)

        # ... and the agent resumes before the shield's time is over
        resumed = await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/resume")
        resumed_at = time.monotonic()
        assert resumed_at - paused_at < PRIVACY_SHIELD_SECONDS
        assert resumed["recording"] == "recording"
        event = (await alice.event("interaction.recording_resumed"))["data"]
        assert event["by"] == "agent"
        assert (await alice.call("GET", f"/v1/interactions/{call.ix_id}"))[
            "recording"
        ] == "recording"
        assert await audio_flows(ari, call.legs, seconds=1.0)
        await hang_up_and_wrap_up(alice, call)

    path = await finished_recording(stack, ari, call.ix_id)
    try:
        audio = analyse(path)
        # REC-3: exactly one silent stretch, where and as long as the pause
        runs = audio.silent_runs()
        assert len(runs) == 1, runs
        start, length = runs[0]
        assert abs(start - (paused_at - call.connected_at)) < 0.5, (runs, paused_at)
        assert abs(length - (resumed_at - paused_at)) < 0.4, (runs, resumed_at - paused_at)
        # conversation before and after it is in the file
        assert audio.loud_share(0.3, start - 0.1) > 0.9
        assert audio.loud_share(start + length + 0.1, audio.seconds - 0.3) > 0.9
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.spec("REC-2", "REC-3")
async def test_given_paused_recording_when_shield_time_is_over_then_it_resumes_by_itself(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await given_connected_call(phones, ari, alice, "1001", SUPPORT)
        assert await audio_flows(ari, call.legs, seconds=1.0)
        await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        paused_at = time.monotonic()
        event = (
            await alice.event("interaction.recording_resumed", timeout=PRIVACY_SHIELD_SECONDS + 5)
        )["data"]
        resumed_after = time.monotonic() - paused_at
        assert event["by"] == "timer" and event["recording"] == "recording"
        assert PRIVACY_SHIELD_SECONDS - 0.1 <= resumed_after < PRIVACY_SHIELD_SECONDS + 1.0
        assert (await alice.call("GET", f"/v1/interactions/{call.ix_id}"))[
            "recording"
        ] == "recording"
        assert await audio_flows(ari, call.legs, seconds=1.0)
        await hang_up_and_wrap_up(alice, call)

    path = await finished_recording(stack, ari, call.ix_id)
    try:
        runs = analyse(path).silent_runs()
        assert len(runs) == 1, runs
        assert abs(runs[0][1] - PRIVACY_SHIELD_SECONDS) < 0.5, runs
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.spec("REC-2", "REC-3")
async def test_given_paused_recording_when_service_restarts_then_it_still_resumes_by_itself(
    stack: Stack, ari: AriClient, phones: PhoneFactory
) -> None:
    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:
        call = await given_connected_call(phones, ari, alice, "1001", SUPPORT)
        assert await audio_flows(ari, call.legs, seconds=1.0)
        await alice.call("POST", f"/v1/interactions/{call.ix_id}/recording/pause")
        paused_at = time.monotonic()
    stack.service.stop()
    stopped_after = time.monotonic() - paused_at

    # the process that paused is gone before the shield was over: its timer
    # is still waiting in Redis
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        due = await client.zscore(f"{DC_PREFIX}timers", f"privacy_shield|{call.ix_id}")
    finally:
        await client.aclose()
    assert due is not None, f"the shield's timer fired before the stop ({stopped_after:.1f}s)"
    stack.service.start()

    async with Desktop(stack.url, "demo-alice-token", "alice") as alice:

        async def recording_again() -> bool:
            ix = await alice.call("GET", f"/v1/interactions/{call.ix_id}")
            return bool(ix["recording"] == "recording")

        await wait_until(recording_again, timeout=PRIVACY_SHIELD_SECONDS + 10)
        resumed_after = time.monotonic() - paused_at
        assert call.customer.current_call is not None  # the call survived the restart
        assert await audio_flows(ari, call.legs, seconds=1.0)
        await hang_up_and_wrap_up(alice, call)

    path = await finished_recording(stack, ari, call.ix_id)
    try:
        audio = analyse(path)
        runs = audio.silent_runs()
        assert len(runs) == 1, runs
        start, length = runs[0]
        # silent from the pause until the restarted service resumed it
        assert PRIVACY_SHIELD_SECONDS - 0.4 < length < resumed_after + 0.4, (runs, resumed_after)
        assert audio.loud_share(start + length + 0.1, audio.seconds - 0.3) > 0.9
    finally:
        path.unlink(missing_ok=True)
