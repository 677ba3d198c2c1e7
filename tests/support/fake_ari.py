"""An in-memory Asterisk behind the service's own ARI client.

`FakeAri` is an `AriClient` (the very interface the service calls) whose
REST requests never leave the process: `request` answers them from a small
model of Asterisk 22 (channels, bridges, music on hold, recordings, snoops,
endpoints, dynamic configuration) and records every one of them. Its Stasis
events reach the service over a real WebSocket on 127.0.0.1, served by the
fake itself, so the service's `AriEventStream` (heartbeat, in-order
delivery, reconciliation on every connection) runs unchanged.

The events follow what Asterisk 22 sends to an app with `subscribeAll=false`
(see the integration tests and the design notes):

- a customer calling an entry point: `StasisStart` with the dialplan's args
  (`inbound,<number>`), channel state `Ring`;
- an originated leg: `Dial` (`RINGING`), then either, when the far end
  answers, `Dial` (`ANSWER`), `ChannelStateChange` (`Up`), `StasisStart` with
  the originate's `appArgs`; or, when it does not, `Dial` (`BUSY`,
  `NOANSWER`, `CANCEL`, ...) and `ChannelDestroyed` with the cause (0 on
  Local channels, whose outcome is only in the dial status);
- the hang-up of a channel in the app: `ChannelHangupRequest`,
  `ChannelLeftBridge` (if bridged), `StasisEnd`, `ChannelDestroyed`;
- bridges: `ChannelEnteredBridge` / `ChannelLeftBridge`, `BridgeDestroyed`.

Far ends are scripted per endpoint (`script`): ring until the test acts or
the originate's own timeout runs out, answer, busy, or unreachable (the
originate is refused as Asterisk refuses it for an endpoint without a
contact). The test drives the far ends with `customer_calls`, `far_answer`,
`far_hangup`, `far_busy`, `far_no_answer` and `far_dtmf`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aiohttp import WSMsgType, web

from controlplane.adapters.ari import AriClient, AriError, Event

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
# ARI's hang-up reasons (DELETE /channels/{id}?reason=...) and their causes.
REASON_CAUSE = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "noanswer": 19,
    "unallocated": 1,
    "answered_elsewhere": 26,
}


class Far(StrEnum):
    """What the far end of an originated leg does."""

    RING = "ring"  # rings until the test acts or the originate's timeout runs out
    ANSWER = "answer"  # answers (after the script's delay)
    BUSY = "busy"  # answers busy
    UNREACHABLE = "unreachable"  # no registered contact: the originate is refused


@dataclass(frozen=True)
class Request:
    """One REST request the service sent."""

    method: str
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    at: float


@dataclass
class FakeChannel:
    id: str
    name: str
    endpoint: str
    state: str
    caller: dict[str, str]
    args: list[str]
    originated: bool
    in_stasis: bool = False
    moh: str | None = None
    ringback: bool = False
    bridge: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    dtmf_sent: list[str] = field(default_factory=list)
    created: str = ""
    timer: asyncio.TimerHandle | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": dict(self.caller),
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {"context": "", "exten": "", "priority": 1, "app_name": "Stasis"},
            "creationtime": self.created,
            "language": "en",
        }


@dataclass
class FakeBridge:
    id: str
    name: str
    types: str
    channels: list[str] = field(default_factory=list)
    recording: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": "simple_bridge",
            "bridge_type": self.types or "mixing",
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "video_mode": "none",
        }


@dataclass
class FakeRecording:
    name: str
    format: str
    target: str
    state: str = "recording"
    muted: bool = False

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target,
            "duration": 0,
        }


@dataclass
class Script:
    far: Far
    delay: float = 0.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class FakeAri(AriClient):
    """An `AriClient` whose Asterisk is an in-memory model (see the module)."""

    def __init__(
        self,
        app: str = "controlplane",
        *,
        device_state: Callable[[str, str], None] | None = None,
        registered: Mapping[str, bool] | None = None,
        playback_seconds: float = 0.05,
    ) -> None:
        super().__init__("http://127.0.0.1:0/ari", "fake", "fake", app)
        self.requests: list[Request] = []
        # every event of the app, in order (its socket gets those its filter allows)
        self.events: list[Event] = []
        self.channels_by_id: dict[str, FakeChannel] = {}
        self.bridges_by_id: dict[str, FakeBridge] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.stored: set[str] = set()
        self.dynamic_config: dict[str, dict[str, Any]] = {}
        self.unsupported: list[str] = []  # requests the model does not know: a test failure
        self.registered: dict[str, bool] = dict(registered or {})
        self.playback_seconds = playback_seconds
        self._device_state = device_state
        self._scripts: dict[str, Script] = {}
        self._carrier_seq = 0
        self._ws: set[web.WebSocketResponse] = set()
        self._queues: dict[web.WebSocketResponse, asyncio.Queue[str | None]] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self._devices: dict[str, str] = {}
        self._busy_outside: set[str] = set()  # phones on a call the app does not see
        # The app's event filter (`PUT /applications/{app}/eventFilter`): the
        # types Asterisk writes to the app's socket; empty: every type.
        self.events_allowed: list[dict[str, Any]] = []
        self.events_disallowed: list[dict[str, Any]] = []

    # The client's lifecycle ------------------------------------------------------

    async def start(self) -> None:
        """Serve the event WebSocket on a free loopback port, then start the client."""
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{port}/ari"
        await super().start()

    async def close(self) -> None:
        await super().close()
        for queue in self._queues.values():
            queue.put_nowait(None)
        for ws in list(self._ws):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for channel in self.channels_by_id.values():
            if channel.timer is not None:
                channel.timer.cancel()

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("app") != self.app:
            raise web.HTTPBadRequest(text="unknown app")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._ws.add(ws)
        self._queues[ws] = queue

        async def pump() -> None:
            while True:
                data = await queue.get()
                if data is None:
                    return
                await ws.send_str(data)

        sender = asyncio.create_task(pump(), name="fake-ari-events")
        await self._notify()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._ws.discard(ws)
            self._queues.pop(ws, None)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
            await self._notify()
        return ws

    @property
    def stream_connected(self) -> bool:
        return bool(self._ws)

    async def drop_event_stream(self) -> None:
        """Asterisk closes the app's WebSocket (the service reconnects)."""
        for ws in list(self._ws):
            await ws.close()

    # REST ------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        conflict_means_done: bool = False,
    ) -> Any:
        started = time.perf_counter()
        args = {k: str(v) for k, v in (params or {}).items()}
        self.requests.append(
            Request(method, path, args, dict(body) if body is not None else None, time.time())
        )
        try:
            return self._route(method, path.strip("/").split("/"), args, body or {})
        finally:
            await self._notify()
            if self.observer is not None:
                self.observer(method, time.perf_counter() - started)

    def _route(
        self, method: str, parts: list[str], params: dict[str, str], body: Mapping[str, Any]
    ) -> Any:
        path = "/" + "/".join(parts)
        head, rest = parts[0], parts[1:]
        if head == "asterisk":
            return self._asterisk(method, path, rest, body)
        if head == "channels":
            return self._channels(method, path, rest, params, body)
        if head == "bridges":
            return self._bridges(method, path, rest, params)
        if head == "recordings":
            return self._recordings(method, path, rest)
        if head == "endpoints" and method == "GET":
            return self._endpoints(path, rest)
        if head == "applications" and rest and (method, rest[1:]) in (
            ("GET", []),
            ("PUT", ["eventFilter"]),
        ):
            if rest[0] != self.app or not self._ws:
                raise AriError(method, path, 404, '{"message": "Application not found"}')
            if method == "PUT":
                self._set_event_filter(method, path, body)
            return {
                "name": self.app,
                "channel_ids": sorted(c for c, ch in self.channels_by_id.items() if ch.in_stasis),
                "bridge_ids": sorted(self.bridges_by_id),
                "endpoint_ids": [],
                "device_names": [],
                "events_allowed": list(self.events_allowed),
                "events_disallowed": list(self.events_disallowed),
            }
        return self._unsupported(method, path)

    def _set_event_filter(self, method: str, path: str, body: Mapping[str, Any]) -> None:
        """As Asterisk: an empty body clears both lists, a list left out
        stays as it was, every entry names a type."""
        if not body:
            self.events_allowed, self.events_disallowed = [], []
            return
        for key in ("allowed", "disallowed"):
            if key not in body:
                continue
            entries = body[key]
            if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("type"), str) and e["type"]
                for e in entries
            ):
                raise AriError(method, path, 400, '{"message": "Invalid format definition"}')
            setattr(self, f"events_{key}", [dict(e) for e in entries])

    def _event_allowed(self, kind: str) -> bool:
        if any(e["type"] == kind for e in self.events_disallowed):
            return False
        return not self.events_allowed or any(e["type"] == kind for e in self.events_allowed)

    def _unsupported(self, method: str, path: str) -> Any:
        self.unsupported.append(f"{method} {path}")
        raise AriError(method, path, 501, '{"message": "not in the fake Asterisk"}')

    def _asterisk(
        self, method: str, path: str, rest: list[str], body: Mapping[str, Any]
    ) -> Any:
        if rest == ["ping"] and method == "GET":
            return {"asterisk_id": "fake", "ping": "pong", "timestamp": _now()}
        if rest == ["info"] and method == "GET":
            return {"system": {"version": "22.0.0-fake", "entity_id": "fake"}}
        if len(rest) >= 4 and rest[:2] == ["config", "dynamic"]:
            key = "/".join(rest[2:])
            if method == "PUT":
                fields = body.get("fields") or []
                self.dynamic_config[key] = {str(f["attribute"]): f["value"] for f in fields}
                return [{"attribute": k, "value": v} for k, v in self.dynamic_config[key].items()]
            if method == "GET":
                if key not in self.dynamic_config:
                    raise AriError(method, path, 404, '{"message": "not found"}')
                return [{"attribute": k, "value": v} for k, v in self.dynamic_config[key].items()]
            if method == "DELETE":
                if self.dynamic_config.pop(key, None) is None:
                    raise AriError(method, path, 404, '{"message": "not found"}')
                return None
        return self._unsupported(method, path)

    def _channel(self, method: str, path: str, channel_id: str) -> FakeChannel:
        channel = self.channels_by_id.get(channel_id)
        if channel is None:
            raise AriError(method, path, 404, '{"message": "Channel not found"}')
        return channel

    def _in_stasis(self, method: str, path: str, channel_id: str) -> FakeChannel:
        channel = self._channel(method, path, channel_id)
        if not channel.in_stasis:
            raise AriError(method, path, 409, '{"message": "Channel not in Stasis application"}')
        return channel

    def _channels(
        self,
        method: str,
        path: str,
        rest: list[str],
        params: dict[str, str],
        body: Mapping[str, Any],
    ) -> Any:
        if not rest:
            if method == "GET":
                return [c.snapshot() for c in self.channels_by_id.values()]
            if method == "POST":
                return self._originate(path, params, body)
            return self._unsupported(method, path)
        channel_id, action = rest[0], "/".join(rest[1:])
        if action == "" and method == "GET":
            return self._channel(method, path, channel_id).snapshot()
        if action == "" and method == "DELETE":
            channel = self._channel(method, path, channel_id)
            cause = REASON_CAUSE.get(params.get("reason", "normal"), 16)
            self._hang_up(channel, cause, by_app=True)
            return None
        if action == "answer" and method == "POST":
            channel = self._in_stasis(method, path, channel_id)
            if channel.state != "Up":
                channel.state = "Up"
                self._emit("ChannelStateChange", channel=channel.snapshot())
                self._devices_changed()
            return None
        if action == "ring":
            channel = self._in_stasis(method, path, channel_id)
            channel.ringback = method == "POST"
            return None
        if action == "moh":
            channel = self._in_stasis(method, path, channel_id)
            channel.moh = params.get("mohClass", "default") if method == "POST" else None
            return None
        if action == "play" and method == "POST":
            return self._play(path, self._in_stasis(method, path, channel_id), params)
        if action == "variable":
            channel = self._channel(method, path, channel_id)
            name = params.get("variable", "")
            if method == "POST":
                channel.variables[name] = params.get("value", "")
                return None
            if name not in channel.variables:
                raise AriError(method, path, 404, '{"message": "Provided variable was not found"}')
            return {"value": channel.variables[name]}
        if action == "rtp_statistics" and method == "GET":
            channel = self._channel(method, path, channel_id)
            return {"txcount": 100, "rxcount": 100} if channel.state == "Up" else {}
        if action == "dtmf" and method == "POST":
            channel = self._in_stasis(method, path, channel_id)
            channel.dtmf_sent.append(params.get("dtmf", ""))
            return None
        if action == "continue" and method == "POST":
            channel = self._in_stasis(method, path, channel_id)
            self._leave_stasis(channel)
            del self.channels_by_id[channel.id]  # (the dialplan ends it, outside the app)
            self._devices_changed()
            return None
        if action == "snoop" and method == "POST":
            return self._snoop(path, self._in_stasis(method, path, channel_id), params)
        return self._unsupported(method, path)

    def _originate(self, path: str, params: dict[str, str], body: Mapping[str, Any]) -> Any:
        channel_id = params.get("channelId") or f"fake-{len(self.requests)}"
        endpoint = params.get("endpoint", "")
        if channel_id in self.channels_by_id:
            raise AriError("POST", path, 409, '{"message": "Channel with given unique ID exists"}')
        if params.get("app") != self.app:
            raise AriError("POST", path, 400, '{"message": "app is required"}')
        script = self.script_for(endpoint)
        if script.far is Far.UNREACHABLE or (
            endpoint.startswith("PJSIP/") and not self.registered.get(endpoint[6:], True)
        ):
            raise AriError("POST", path, 500, '{"message": "Allocation failed"}')
        number, _, name = "", "", ""
        caller_id = params.get("callerId", "")
        if "<" in caller_id:
            name, _, rest = caller_id.partition("<")
            number = rest.rstrip(">").strip()
            name = name.strip().strip('"')
        else:
            number = caller_id
        tech, _, resource = endpoint.partition("/")
        channel = FakeChannel(
            id=channel_id,
            name=f"{tech}/{resource.split('@')[0]}-{len(self.channels_by_id):08x}",
            endpoint=endpoint,
            state="Down",
            caller={"name": name, "number": number},
            args=params.get("appArgs", "").split(",") if params.get("appArgs") else [],
            originated=True,
            variables=dict((body.get("variables") or {}) if body else {}),
            created=_now(),
        )
        self.channels_by_id[channel_id] = channel
        loop = asyncio.get_running_loop()
        timeout = float(params.get("timeout", "30"))
        if timeout > 0:
            channel.timer = loop.call_later(timeout, self.far_no_answer, channel_id)
        snapshot = channel.snapshot()
        loop.call_soon(self._ringing, channel_id, script)
        return snapshot

    def _ringing(self, channel_id: str, script: Script) -> None:
        channel = self.channels_by_id.get(channel_id)
        if channel is None or channel.state != "Down":
            return
        channel.state = "Ringing"
        self._emit("Dial", peer=channel.snapshot(), dialstatus="RINGING", dialstring=channel.name)
        self._emit("ChannelStateChange", channel=channel.snapshot())
        self._devices_changed()
        loop = asyncio.get_running_loop()
        if script.far is Far.ANSWER:
            loop.call_later(script.delay, self.far_answer, channel_id)
        elif script.far is Far.BUSY:
            loop.call_later(script.delay, self.far_busy, channel_id)
        self._notify_soon()

    def _snoop(self, path: str, target: FakeChannel, params: dict[str, str]) -> Any:
        snoop_id = params.get("snoopId") or f"snoop-{len(self.requests)}"
        if snoop_id in self.channels_by_id:
            raise AriError("POST", path, 409, '{"message": "Channel with given unique ID exists"}')
        channel = FakeChannel(
            id=snoop_id,
            name=f"Snoop/{target.id}-{len(self.channels_by_id):08x}",
            endpoint="",
            state="Up",
            caller={"name": "", "number": ""},
            args=params.get("appArgs", "").split(",") if params.get("appArgs") else [],
            originated=True,
            created=_now(),
        )
        self.channels_by_id[snoop_id] = channel
        channel.in_stasis = True
        snapshot = channel.snapshot()
        self._emit("StasisStart", args=list(channel.args), channel=snapshot)
        return snapshot

    def _play(self, path: str, channel: FakeChannel, params: dict[str, str]) -> Any:
        playback_id = params.get("playbackId") or f"playback-{len(self.requests)}"
        playback = {
            "id": playback_id,
            "media_uri": params.get("media", ""),
            "target_uri": f"channel:{channel.id}",
            "language": "en",
            "state": "playing",
        }
        self._emit("PlaybackStarted", playback=dict(playback))

        def finished() -> None:
            if channel.id in self.channels_by_id:
                self._emit("PlaybackFinished", playback={**playback, "state": "done"})

        asyncio.get_running_loop().call_later(self.playback_seconds, finished)
        return {**playback, "state": "queued"}

    def _bridge(self, method: str, path: str, bridge_id: str) -> FakeBridge:
        bridge = self.bridges_by_id.get(bridge_id)
        if bridge is None:
            raise AriError(method, path, 404, '{"message": "Bridge not found"}')
        return bridge

    def _bridges(
        self, method: str, path: str, rest: list[str], params: dict[str, str]
    ) -> Any:
        if not rest:
            if method == "GET":
                return [b.snapshot() for b in self.bridges_by_id.values()]
            return self._unsupported(method, path)
        bridge_id, action = rest[0], "/".join(rest[1:])
        if action == "" and method == "GET":
            return self._bridge(method, path, bridge_id).snapshot()
        if action == "" and method == "POST":
            bridge = self.bridges_by_id.get(bridge_id)
            if bridge is None:
                bridge = FakeBridge(bridge_id, params.get("name", ""), params.get("type", ""))
                self.bridges_by_id[bridge_id] = bridge
            return bridge.snapshot()
        if action == "" and method == "DELETE":
            bridge = self._bridge(method, path, bridge_id)
            for channel_id in list(bridge.channels):
                self._leave_bridge(self.channels_by_id[channel_id])
            if bridge.recording is not None:
                self._finish_recording(bridge.recording)
            del self.bridges_by_id[bridge_id]
            self._emit("BridgeDestroyed", bridge=bridge.snapshot())
            return None
        if action in ("addChannel", "removeChannel") and method == "POST":
            bridge = self._bridge(method, path, bridge_id)
            for channel_id in params.get("channel", "").split(","):
                channel = self.channels_by_id.get(channel_id)
                if channel is None:
                    raise AriError(method, path, 400, '{"message": "Channel not found"}')
                if not channel.in_stasis:
                    raise AriError(
                        method, path, 422, '{"message": "Channel not in Stasis application"}'
                    )
                if action == "addChannel":
                    if channel.bridge == bridge_id:
                        continue
                    if channel.bridge is not None:  # Asterisk moves it
                        self._leave_bridge(channel)
                    channel.bridge = bridge_id
                    bridge.channels.append(channel.id)
                    self._emit(
                        "ChannelEnteredBridge", bridge=bridge.snapshot(), channel=channel.snapshot()
                    )
                else:
                    if channel.bridge != bridge_id:
                        raise AriError(
                            method, path, 422, '{"message": "Channel not in this bridge"}'
                        )
                    self._leave_bridge(channel)
            return None
        if action == "record" and method == "POST":
            bridge = self._bridge(method, path, bridge_id)
            name = params.get("name", "")
            if name in self.recordings and self.recordings[name].state == "recording":
                raise AriError(method, path, 409, '{"message": "Recording already in progress"}')
            recording = FakeRecording(name, params.get("format", "wav"), f"bridge:{bridge_id}")
            self.recordings[name] = recording
            bridge.recording = name
            self._emit("RecordingStarted", recording=recording.snapshot())
            return recording.snapshot()
        return self._unsupported(method, path)

    def _recordings(self, method: str, path: str, rest: list[str]) -> Any:
        if rest == ["stored"] and method == "GET":
            return [{"name": n, "format": "wav"} for n in sorted(self.stored)]
        if len(rest) >= 2 and rest[0] == "live":
            recording = self.recordings.get(rest[1])
            if recording is None or recording.state != "recording":
                raise AriError(method, path, 404, '{"message": "Recording not found"}')
            action = "/".join(rest[2:])
            if action == "" and method == "GET":
                return recording.snapshot()
            if action == "stop" and method == "POST":
                self._finish_recording(recording.name)
                return None
            if action == "mute":
                recording.muted = method == "POST"
                return None
        return self._unsupported(method, path)

    def _finish_recording(self, name: str) -> None:
        recording = self.recordings.get(name)
        if recording is None or recording.state != "recording":
            return
        recording.state = "done"
        self.stored.add(name)
        for bridge in self.bridges_by_id.values():
            if bridge.recording == name:
                bridge.recording = None
        self._emit("RecordingFinished", recording=recording.snapshot())

    def _endpoints(self, path: str, rest: list[str]) -> Any:
        if len(rest) not in (1, 2) or rest[0] != "PJSIP":
            return self._unsupported("GET", path)
        if len(rest) == 2:
            if rest[1] not in self.registered:
                raise AriError("GET", path, 404, '{"message": "Endpoint not found"}')
            return self._endpoint(rest[1])
        return [self._endpoint(resource) for resource in sorted(self.registered)]

    def _endpoint(self, resource: str) -> dict[str, Any]:
        return {
            "technology": "PJSIP",
            "resource": resource,
            "state": "online" if self.registered.get(resource) else "offline",
            "channel_ids": [
                c.id for c in self.channels_by_id.values() if c.endpoint == f"PJSIP/{resource}"
            ]
            + ([f"PJSIP/{resource}-outside"] if resource in self._busy_outside else []),
        }

    # The model's moves -----------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> None:
        event: Event = {
            "type": kind,
            "timestamp": _now(),
            "application": self.app,
            "asterisk_id": "fake",
            **fields,
        }
        self.events.append(event)
        if not self._event_allowed(kind):  # (Asterisk built it, and wrote it to no socket)
            return
        data = json.dumps(event)
        for queue in self._queues.values():
            queue.put_nowait(data)

    def _leave_bridge(self, channel: FakeChannel) -> None:
        bridge = self.bridges_by_id.get(channel.bridge or "")
        channel.bridge = None
        if bridge is None:
            return
        bridge.channels.remove(channel.id)
        self._emit("ChannelLeftBridge", bridge=bridge.snapshot(), channel=channel.snapshot())

    def _leave_stasis(self, channel: FakeChannel) -> None:
        if channel.bridge is not None:
            self._leave_bridge(channel)
        if channel.in_stasis:
            channel.in_stasis = False
            self._emit("StasisEnd", channel=channel.snapshot())

    def _hang_up(self, channel: FakeChannel, cause: int, *, by_app: bool) -> None:
        """The channel goes: hung up by the app (a REST DELETE) or by its far end."""
        if channel.timer is not None:
            channel.timer.cancel()
        was_in_stasis = channel.in_stasis
        if channel.in_stasis:
            self._emit(
                "ChannelHangupRequest", cause=cause, soft=False, channel=channel.snapshot()
            )
            self._leave_stasis(channel)
        elif channel.originated:
            status = "CANCEL" if by_app else _dial_status(cause)
            self._emit("Dial", peer=channel.snapshot(), dialstatus=status, dialstring=channel.name)
        local = channel.endpoint.startswith("Local/")
        # (Local channels end busy and unanswered legs with cause 0)
        destroyed_cause = 0 if local and not was_in_stasis and not by_app else cause
        channel.state = "Down"
        del self.channels_by_id[channel.id]
        self._emit(
            "ChannelDestroyed",
            cause=destroyed_cause,
            cause_txt=CAUSE_TEXT.get(destroyed_cause, "Unknown"),
            channel=channel.snapshot(),
        )
        self._devices_changed()

    def _devices_changed(self) -> None:
        """Device states of the PJSIP endpoints, as AMI tells them."""
        if self._device_state is None:
            return
        for resource in self.registered:
            legs = [
                c for c in self.channels_by_id.values() if c.endpoint == f"PJSIP/{resource}"
            ]
            if any(c.state == "Up" for c in legs) or resource in self._busy_outside:
                state = "INUSE"
            elif legs:
                state = "RINGING"
            else:
                state = "NOT_INUSE" if self.registered[resource] else "UNAVAILABLE"
            if self._devices.get(resource) != state:
                self._devices[resource] = state
                self._device_state(f"PJSIP/{resource}", state)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # What a test scripts and does --------------------------------------------------

    def script(self, endpoint: str, far: Far, delay: float = 0.0) -> None:
        """How the far end of legs originated to `endpoint` behaves (default: ring)."""
        self._scripts[endpoint] = Script(far, delay)

    def script_for(self, endpoint: str) -> Script:
        return self._scripts.get(endpoint, Script(Far.RING))

    def customer_calls(self, number: str, caller: str, *, channel_id: str | None = None) -> str:
        """A customer calls `number` from the carrier: the dialplan puts the
        channel into the app with `inbound,<number>`. Its channel's ID."""
        self._carrier_seq += 1
        channel = FakeChannel(
            id=channel_id or f"carrier-{self._carrier_seq}-{time.monotonic_ns()}",
            name=f"PJSIP/carrier-{self._carrier_seq:08x}",
            endpoint="PJSIP/carrier",
            state="Ring",
            caller={"name": "", "number": caller},
            args=["inbound", number],
            originated=False,
            in_stasis=True,
            created=_now(),
        )
        self.channels_by_id[channel.id] = channel
        self._emit("StasisStart", args=list(channel.args), channel=channel.snapshot())
        return channel.id

    def far_answer(self, channel_id: str) -> None:
        """The far end of an originated leg answers: it enters the app."""
        channel = self.channels_by_id.get(channel_id)
        if channel is None or channel.in_stasis or not channel.originated:
            return
        if channel.timer is not None:
            channel.timer.cancel()
        self._emit("Dial", peer=channel.snapshot(), dialstatus="ANSWER", dialstring=channel.name)
        channel.state = "Up"
        self._emit("ChannelStateChange", channel=channel.snapshot())
        channel.in_stasis = True
        self._emit("StasisStart", args=list(channel.args), channel=channel.snapshot())
        self._devices_changed()
        self._notify_soon()

    def far_hangup(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up (a ringing leg: declines with `cause`)."""
        channel = self.channels_by_id.get(channel_id)
        if channel is not None:
            self._hang_up(channel, cause, by_app=False)
            self._notify_soon()

    def far_busy(self, channel_id: str) -> None:
        self.far_hangup(channel_id, 17)

    def far_no_answer(self, channel_id: str) -> None:
        """The originate's ring time ran out."""
        channel = self.channels_by_id.get(channel_id)
        if channel is not None and not channel.in_stasis:
            self.far_hangup(channel_id, 19)

    def phone_in_use_outside(self, resource: str, busy: bool) -> None:
        """A phone on a call of its own that never enters the app (the echo
        test, a private call): its device state and endpoint show it."""
        if busy:
            self._busy_outside.add(resource)
        else:
            self._busy_outside.discard(resource)
        self._devices_changed()
        self._notify_soon()

    def far_dtmf(self, channel_id: str, digit: str) -> None:
        channel = self.channels_by_id[channel_id]
        self._emit("ChannelDtmfReceived", digit=digit, duration_ms=100, channel=channel.snapshot())

    def _notify_soon(self) -> None:
        asyncio.get_running_loop().create_task(self._notify())

    # What a test reads -------------------------------------------------------------

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """The requests sent so far, of that method and with that path (or
        path ending, when it starts with no '/')."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (
                path is None
                or r.path == path
                or (not path.startswith("/") and r.path.endswith("/" + path))
            )
        ]

    def originated(self, endpoint: str) -> list[Request]:
        return [r for r in self.sent("POST", "/channels") if r.params.get("endpoint") == endpoint]

    def of_kind(self, kind: str, channel_id: str | None = None) -> list[Event]:
        """The events of that kind sent so far (of that channel, or Dial peer)."""
        return [
            e
            for e in self.events
            if e["type"] == kind
            and (
                channel_id is None
                or (e.get("channel") or e.get("peer") or {}).get("id") == channel_id
            )
        ]

    async def wait_for(
        self, what: str, check: Callable[[], Any], timeout: float = 5.0
    ) -> Any:
        """Wait until `check()` returns something truthy (re-checked after
        every request and far-end move); that value."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), timeout)
            except TimeoutError:
                raise AssertionError(f"fake Asterisk: not within {timeout}s: {what}") from None
        return check()

    async def ringing(self, endpoint: str, timeout: float = 5.0) -> FakeChannel:
        """The (first) originated leg to `endpoint` that rings now."""

        def find() -> FakeChannel | None:
            for channel in self.channels_by_id.values():
                if channel.endpoint == endpoint and channel.state == "Ringing":
                    return channel
            return None

        found: FakeChannel = await self.wait_for(f"a leg ringing at {endpoint}", find, timeout)
        return found

    def call_bridge(self, ix_id: str) -> FakeBridge:
        """The bridge an interaction's parties talk in: its shared one once
        there is one (IN-2), else its direct one."""
        return self.bridges_by_id.get(f"{ix_id}-shared") or self.bridges_by_id[ix_id]

    def leftovers(self) -> list[str]:
        """Channels and bridges still in the fake Asterisk."""
        return [f"channel {c}" for c in self.channels_by_id] + [
            f"bridge {b}" for b in self.bridges_by_id
        ]


def _dial_status(cause: int) -> str:
    if cause == 17:
        return "BUSY"
    if cause in (18, 19, 0):
        return "NOANSWER"
    if cause in (34, 38, 41, 42):
        return "CONGESTION"
    return "CHANUNAVAIL"
