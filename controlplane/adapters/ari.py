"""A small typed ARI client on aiohttp: REST with a warm keep-alive pool, and
the Stasis event WebSocket with heartbeat, in-order delivery and reconnect
with capped backoff.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypedDict, cast

import aiohttp

log = logging.getLogger(__name__)

Event = dict[str, Any]


class CallerId(TypedDict):
    name: str
    number: str


class Channel(TypedDict, total=False):
    id: str
    name: str
    state: str
    caller: CallerId
    connected: CallerId
    dialplan: dict[str, Any]
    creationtime: str


class Bridge(TypedDict, total=False):
    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    name: str
    channels: list[str]


class Endpoint(TypedDict, total=False):
    technology: str
    resource: str
    state: str
    channel_ids: list[str]


class RtpStatistics(TypedDict, total=False):
    txcount: int
    rxcount: int
    txoctetcount: int
    rxoctetcount: int
    local_ssrc: int  # what Asterisk sends under (a relayed stream's, while relaying)
    remote_ssrc: int


class LiveRecording(TypedDict, total=False):
    name: str
    format: str
    state: str  # queued, recording, paused, done, failed, canceled
    target_uri: str
    duration: int
    silence_duration: int
    talking_duration: int


class StoredRecording(TypedDict, total=False):
    name: str
    format: str


class AriError(Exception):
    """ARI answered with an error status (or could not be reached: status 0).

    `sent` tells whether the request may have reached Asterisk: False when no
    connection could be had for it (Asterisk did nothing), True otherwise
    (including a connection lost before the answer: it may have run)."""

    def __init__(
        self, method: str, path: str, status: int, body: str, *, sent: bool = True
    ) -> None:
        super().__init__(f"ARI {method} {path}: {status} {body.strip()[:200]}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        self.sent = sent


def _auth_header(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


# REST connections to Asterisk. Asterisk serves each HTTP connection on a
# thread of its own, one request at a time, and many ARI requests wait there
# for the channel's own thread; so requests run on a bounded set of
# keep-alive connections and, while all are busy (Asterisk is slow), *wait*
# for one in order instead of failing: a request that gave up on a
# connection would leave its step half done (an originate that never rang,
# a hang-up that never happened).
CONNECTIONS = 32
# An idle connection is closed by us before Asterisk closes it (http.conf
# `session_keep_alive`, 15 s here): a request sent on a connection Asterisk
# is just closing gets no answer, and a POST could not be sent again.
KEEPALIVE_SECONDS = 10.0
# A request waits this long at most for a free connection (a last resort:
# only an Asterisk that answers nothing for this long lets it run out).
CONNECTION_WAIT_SECONDS = 30.0
# Time to open a TCP connection, and the longest pause in an answer.
SOCKET_CONNECT_SECONDS = 3.0
READ_SECONDS = 30.0
# A request that failed without an answer is sent again (when that is safe,
# see `request`) with capped backoff for this long.
RETRY_SECONDS = 5.0
# A hang-up (or a bridge's destruction) that failed is tried again in the
# background, with this cap on the backoff, until Asterisk confirms it.
TEARDOWN_MAX_BACKOFF = 5.0


class AriClient:
    """REST side of ARI. One instance per Asterisk node."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        pool_size: int = 8,
        connections: int = CONNECTIONS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._auth = _auth_header(user, password)
        self._pool_size = pool_size
        self._connections = connections
        self._retry_seconds = retry_seconds
        self._session: aiohttp.ClientSession | None = None
        self._events_session: aiohttp.ClientSession | None = None
        self._teardowns: dict[str, asyncio.Task[None]] = {}
        # told (method, seconds) of every request, its waits and retries included
        self.observer: Callable[[str, float], None] | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._connections,
            limit_per_host=self._connections,
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": self._auth},
            # `connect` bounds the wait for a free connection plus opening one;
            # no `total`: a slow answer is bounded by the pause between reads.
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=CONNECTION_WAIT_SECONDS,
                sock_connect=SOCKET_CONNECT_SECONDS,
                sock_read=READ_SECONDS,
            ),
        )
        # The event WebSocket has a connection of its own, never queued
        # behind REST requests.
        self._events_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=2),
            headers={"Authorization": self._auth},
            timeout=aiohttp.ClientTimeout(total=10, sock_connect=SOCKET_CONNECT_SECONDS),
        )

    async def warm(self) -> None:
        """Open a few keep-alive connections ahead of need (ARI's listen backlog is small)."""
        await asyncio.gather(*(self.ping() for _ in range(self._pool_size)))

    async def close(self) -> None:
        teardowns = list(self._teardowns.values())
        for task in teardowns:
            task.cancel()
        await asyncio.gather(*teardowns, return_exceptions=True)
        for session in (self._session, self._events_session):
            if session is not None:
                await session.close()
        self._session = self._events_session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AriClient.start() was not called")
        return self._session

    @property
    def events_session(self) -> aiohttp.ClientSession:
        if self._events_session is None:
            raise RuntimeError("AriClient.start() was not called")
        return self._events_session

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
        """Send a request; one that got no answer is sent again for a few
        seconds with capped backoff: always when it never reached Asterisk,
        and when it may have, only if sending it twice does no harm
        (`idempotent`; by default GET and DELETE). An error status that
        Asterisk answered is raised at once, except 503 (busy) for
        idempotent requests. With `conflict_means_done`, a 409 answered to a
        request sent again after one that may have run means that one did
        (a resource created under an ID of ours): the result is then None."""
        if idempotent is None:
            idempotent = method in ("GET", "DELETE")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry_seconds
        delay = 0.05
        may_have_run = False
        started = time.perf_counter()
        try:
            while True:
                try:
                    return await self._send(method, path, params, body)
                except AriError as exc:
                    if exc.status == 409 and conflict_means_done and may_have_run:
                        return None
                    again = (exc.status == 0 and (not exc.sent or idempotent)) or (
                        exc.status == 503 and idempotent
                    )
                    if not again or loop.time() + delay > deadline:
                        raise
                    may_have_run = may_have_run or exc.sent
                    log.info("%s; sending it again in %.2fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
        finally:
            if self.observer is not None:
                self.observer(method, time.perf_counter() - started)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
    ) -> Any:
        url = f"{self.base_url}{path}"
        try:
            async with self.session.request(method, url, params=params, json=body) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise AriError(method, path, resp.status, text)
                if not text:
                    return None
                return json.loads(text)
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # no connection was had: Asterisk never saw the request
            raise AriError(method, path, 0, f"{type(exc).__name__}: {exc}", sent=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriError(method, path, 0, f"{type(exc).__name__}: {exc}") from exc

    def _until_confirmed(self, key: str, attempt: Callable[[], Awaitable[bool]]) -> None:
        """Try `attempt` again in the background, with capped backoff, until
        it returns (Asterisk confirmed); one task per key."""
        if key in self._teardowns:
            return

        async def retry() -> None:
            delay = 0.1
            try:
                while True:
                    await asyncio.sleep(delay)
                    try:
                        await attempt()
                        return
                    except AriError as exc:
                        delay = min(delay * 2, TEARDOWN_MAX_BACKOFF)
                        log.warning("%s; trying again in %.1fs", exc, delay)
            finally:
                self._teardowns.pop(key, None)

        self._teardowns[key] = asyncio.create_task(retry(), name=f"ari-teardown:{key}")

    @property
    def teardowns_pending(self) -> int:
        """Hang-ups and bridge destructions still being tried again."""
        return len(self._teardowns)

    # Asterisk ------------------------------------------------------------------------

    async def ping(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request("GET", "/asterisk/ping"))

    async def info(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request("GET", "/asterisk/info"))

    # Channels ------------------------------------------------------------------------

    async def channels(self) -> list[Channel]:
        return cast(list[Channel], await self.request("GET", "/channels"))

    async def channel(self, channel_id: str) -> Channel:
        return cast(Channel, await self.request("GET", f"/channels/{channel_id}"))

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app_args: str,
        caller_id: str | None = None,
        timeout: int = 30,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Create a channel into our Stasis app. The chosen channel_id makes a
        request sent again answer 409 instead of placing a second call: so it
        is sent again when its answer was lost, and a 409 then means that
        the first one placed the call."""
        params: dict[str, str | int] = {
            "endpoint": endpoint,
            "app": self.app,
            "appArgs": app_args,
            "channelId": channel_id,
            "timeout": timeout,
        }
        if caller_id:
            params["callerId"] = caller_id
        body = {"variables": dict(variables)} if variables else None
        created = await self.request(
            "POST",
            "/channels",
            params=params,
            body=body,
            idempotent=True,
            conflict_means_done=True,
        )
        return cast(Channel, created) if created is not None else {"id": channel_id}

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def stop_ringing(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, reason: str = "normal") -> bool:
        """Hang a channel up; False when it was already gone. Never fails: a
        hang-up that Asterisk did not confirm (an answer other than 404, the
        channel being gone) is tried again in the background until it does."""

        async def attempt() -> bool:
            try:
                await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})
            except AriError as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        try:
            return await attempt()
        except AriError as exc:
            log.warning("hang-up of %s not confirmed (%s); trying again", channel_id, exc)
            self._until_confirmed(f"channel:{channel_id}", attempt)
            return True

    async def start_moh(self, channel_id: str, moh_class: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/moh")

    async def play(self, channel_id: str, media: str, playback_id: str | None = None) -> None:
        params: dict[str, str | int] = {"media": media}
        if playback_id:
            params["playbackId"] = playback_id
        await self.request("POST", f"/channels/{channel_id}/play", params=params)

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request(
            "POST", f"/channels/{channel_id}/variable", params={"variable": name, "value": value}
        )

    async def get_variable(self, channel_id: str, name: str) -> str:
        res = await self.request(
            "GET", f"/channels/{channel_id}/variable", params={"variable": name}
        )
        return str(res.get("value", "")) if isinstance(res, dict) else ""

    async def rtp_statistics(self, channel_id: str) -> RtpStatistics:
        return cast(
            RtpStatistics, await self.request("GET", f"/channels/{channel_id}/rtp_statistics")
        )

    # Bridges -------------------------------------------------------------------------

    async def bridges(self) -> list[Bridge]:
        return cast(list[Bridge], await self.request("GET", "/bridges"))

    async def bridge(self, bridge_id: str) -> Bridge:
        return cast(Bridge, await self.request("GET", f"/bridges/{bridge_id}"))

    async def create_bridge(self, bridge_id: str, name: str, kind: str = "mixing") -> Bridge:
        return cast(
            Bridge,
            await self.request(
                "POST", f"/bridges/{bridge_id}", params={"type": kind, "name": name}
            ),
        )

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request(
            "POST",
            f"/bridges/{bridge_id}/addChannel",
            params={"channel": ",".join(channel_ids)},
        )

    async def remove_from_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request(
            "POST",
            f"/bridges/{bridge_id}/removeChannel",
            params={"channel": ",".join(channel_ids)},
        )

    async def destroy_bridge(self, bridge_id: str) -> bool:
        """Destroy a bridge; False when it was gone. Never fails: like a
        hang-up, it is tried again in the background until confirmed."""

        async def attempt() -> bool:
            try:
                await self.request("DELETE", f"/bridges/{bridge_id}")
            except AriError as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        try:
            return await attempt()
        except AriError as exc:
            log.warning("bridge %s not destroyed (%s); trying again", bridge_id, exc)
            self._until_confirmed(f"bridge:{bridge_id}", attempt)
            return True

    # Recordings ----------------------------------------------------------------------

    async def record_bridge(self, bridge_id: str, name: str, fmt: str = "wav") -> LiveRecording:
        """Record what the bridge mixes into the file `name`.`fmt` (until stopped)."""
        params: dict[str, str | int] = {
            "name": name,
            "format": fmt,
            "ifExists": "overwrite",
            "beep": "false",
            "terminateOn": "none",
            "maxDurationSeconds": 0,
            "maxSilenceSeconds": 0,
        }
        return cast(
            LiveRecording,
            await self.request("POST", f"/bridges/{bridge_id}/record", params=params),
        )

    async def live_recording(self, name: str) -> LiveRecording:
        return cast(LiveRecording, await self.request("GET", f"/recordings/live/{name}"))

    async def stop_recording(self, name: str) -> bool:
        """Stop a live recording and keep its file. False when it was not live."""
        try:
            await self.request("POST", f"/recordings/live/{name}/stop")
        except AriError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def mute_recording(self, name: str, muted: bool) -> None:
        """Write silence to the recording (muted) or the audio again."""
        await self.request("POST" if muted else "DELETE", f"/recordings/live/{name}/mute")

    async def stored_recordings(self) -> list[StoredRecording]:
        return cast(list[StoredRecording], await self.request("GET", "/recordings/stored"))

    # Endpoints -----------------------------------------------------------------------

    async def endpoints(self, tech: str) -> list[Endpoint]:
        return cast(list[Endpoint], await self.request("GET", f"/endpoints/{tech}"))

    async def endpoint(self, tech: str, resource: str) -> Endpoint:
        return cast(Endpoint, await self.request("GET", f"/endpoints/{tech}/{resource}"))


EventHandler = Callable[[Event], Awaitable[None]]
ConnectHandler = Callable[[], Awaitable[None]]


class AriEventStream:
    """The Stasis app's event WebSocket.

    Delivers events to `handler` strictly in the order Asterisk sent them
    (the handler must not block: it should hand work off quickly). Reconnects
    with capped exponential backoff; `on_connect` runs after every
    (re)connection, before any event of that connection is delivered, so the
    service can reconcile what it missed; `on_lost` runs when a connected
    stream drops (not when it is stopped).

    With `event_types`, every connection first sets the app's event filter
    to those types (`PUT /applications/{app}/eventFilter`, allowed list):
    Asterisk then writes no other event to the socket. The filter lives in
    the app inside Asterisk and is gone after Asterisk restarts, so it is
    set again on every connection, before `on_connect`. A refused filter is
    logged and the stream runs unfiltered (more events, nothing missed).
    (ARI requests sent over this socket would need `RESTResponse` among
    the types: their answers pass the same filter.)
    """

    def __init__(
        self,
        client: AriClient,
        handler: EventHandler,
        *,
        on_connect: ConnectHandler | None = None,
        on_lost: Callable[[], None] | None = None,
        event_types: Callable[[], Collection[str]] | None = None,
        heartbeat: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._client = client
        self._handler = handler
        self._event_types = event_types
        self._on_connect = on_connect
        self._on_lost = on_lost
        self._heartbeat = heartbeat
        self._max_backoff = max_backoff
        self._stop = asyncio.Event()
        self.connected = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    def _ws_url(self) -> str:
        base = self._client.base_url
        scheme = "wss" if base.startswith("https") else "ws"
        rest = base.split("://", 1)[1]
        return f"{scheme}://{rest}/events"

    async def run(self) -> None:
        # A stream may be run again after stop() (its owner lost and retook
        # the lease): start each run with the stop flag cleared.
        self._stop.clear()
        backoff = 0.1
        try:
            while not self._stop.is_set():
                try:
                    await self._connect_once()
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("ARI event stream: %s; reconnecting in %.1fs", exc, backoff)
                if self.connected.is_set():
                    self.connected.clear()
                    if self._on_lost is not None and not self._stop.is_set():
                        self._on_lost()
                if self._stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, self._max_backoff)
        finally:
            # however the run ends (stopped, or cancelled by its owner)
            self.connected.clear()

    async def _connect_once(self) -> None:
        params = {"app": self._client.app, "subscribeAll": "false"}
        async with self._client.events_session.ws_connect(
            self._ws_url(),
            params=params,
            heartbeat=self._heartbeat,
            timeout=aiohttp.ClientWSTimeout(ws_close=2),
        ) as ws:
            self._ws = ws
            log.info("ARI event stream connected (app %s)", self._client.app)
            await self._set_event_filter()
            if self._on_connect is not None:
                await self._on_connect()
            self.connected.set()
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    try:
                        event = json.loads(msg.data)
                    except ValueError:
                        log.warning("ARI sent a frame that is not JSON")
                        continue
                    await self._handler(event)
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
            self._ws = None
            if not self._stop.is_set():
                raise ConnectionError("ARI closed the event stream")

    async def _set_event_filter(self) -> None:
        if self._event_types is None:
            return
        allowed = [{"type": kind} for kind in sorted(self._event_types())]
        try:
            await self._client.request(
                "PUT",
                f"/applications/{self._client.app}/eventFilter",
                body={"allowed": allowed, "disallowed": []},
                idempotent=True,
            )
        except AriError as exc:
            log.warning("ARI event filter not set, every event comes: %s", exc)

    async def stop(self) -> None:
        self._stop.set()
        self.connected.clear()
        if self._ws is not None:
            await self._ws.close()
