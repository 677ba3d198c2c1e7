"""AMI through panoramisk: login, actions and UserEvents for operators'
dashboards. Reconnects by itself; actions are never replayed after a
reconnect (an Originate must not happen twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from panoramisk import Manager

log = logging.getLogger(__name__)


class AmiError(Exception):
    pass


def _log_refusal(name: str, fut: asyncio.Future[Any]) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    resp = None if exc is not None else fut.result()
    if isinstance(resp, list):
        resp = resp[0] if resp else None
    if exc is not None or (resp is not None and dict(resp).get("Response") == "Error"):
        log.warning("AMI UserEvent %s not sent: %s", name, exc or dict(resp or {}).get("Message"))


class AmiClient:
    def __init__(
        self, host: str, port: int, user: str, secret: str, *, reconnect_seconds: int = 2
    ) -> None:
        self._host = host
        self._port = port
        self._logged_in = asyncio.Event()
        self._closing = False
        self._manager: Any = None
        self._user = user
        self._secret = secret
        self._reconnect_seconds = reconnect_seconds
        self._listeners: list[tuple[str, Callable[[dict[str, str]], None]]] = []
        self._on_login_hooks: list[Callable[[], None]] = []
        self._on_lost_hooks: list[Callable[[], None]] = []

    @property
    def logged_in(self) -> bool:
        return self._logged_in.is_set()

    async def start(self, timeout: float = 5.0) -> None:
        """Connect and log in; raises AmiError if login does not succeed in time."""
        loop = asyncio.get_running_loop()
        self._manager = Manager(
            loop=loop,
            host=self._host,
            port=self._port,
            username=self._user,
            secret=self._secret,
            events="on",
            ping_delay=5,
            ping_interval=5,
            reconnect_timeout=self._reconnect_seconds,
            forgetable_actions=("ping", "login", "originate", "userevent", "command"),
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
            log=log,
        )
        # Asterisk's own test events are noise for a control plane.
        self._manager.register_event("TestEvent", lambda *_: None)
        for pattern, callback in self._listeners:
            self._register(pattern, callback)
        self._manager.connect()
        try:
            await asyncio.wait_for(self._logged_in.wait(), timeout=timeout)
        except TimeoutError:
            await self.close()
            raise AmiError(
                f"AMI login to {self._host}:{self._port} as {self._user!r} did not succeed"
            ) from None

    def on_event(self, pattern: str, callback: Callable[[dict[str, str]], None]) -> None:
        """Call `callback` with every AMI event whose name matches `pattern` (glob)."""
        self._listeners.append((pattern, callback))
        if self._manager is not None:
            self._register(pattern, callback)

    def on_connection(
        self, *, login: Callable[[], None] | None = None, lost: Callable[[], None] | None = None
    ) -> None:
        """Call `login` after every login (events missed while the connection
        was down are not replayed) and `lost` when a live connection drops."""
        if login is not None:
            self._on_login_hooks.append(login)
        if lost is not None:
            self._on_lost_hooks.append(lost)

    def _register(self, pattern: str, callback: Callable[[dict[str, str]], None]) -> None:
        def relay(_manager: Any, message: Any) -> None:
            callback({str(k): str(v) for k, v in dict(message).items()})

        self._manager.register_event(pattern, relay)

    def _on_login(self, _manager: Any) -> None:
        log.info("AMI logged in to %s:%s", self._host, self._port)
        self._logged_in.set()
        for hook in self._on_login_hooks:
            hook()

    def _on_disconnect(self, _manager: Any, exc: Exception | None) -> None:
        was_logged_in = self._logged_in.is_set()
        self._logged_in.clear()
        if not self._closing:
            log.warning("AMI connection lost (%s); reconnecting", exc)
            if was_logged_in:
                for hook in self._on_lost_hooks:
                    hook()

    async def action(self, action: Mapping[str, str], timeout: float = 5.0) -> dict[str, str]:
        if not self.logged_in or self._manager is None:
            raise AmiError("AMI is not connected")
        fut = self._manager.send_action(dict(action))
        try:
            resp = await asyncio.wait_for(fut, timeout=timeout)
        except TimeoutError:
            raise AmiError(f"AMI {action.get('Action')} timed out") from None
        if isinstance(resp, list):
            resp = resp[0] if resp else {}
        out = {str(k): str(v) for k, v in dict(resp).items()}
        if out.get("Response") == "Error":
            raise AmiError(f"AMI {action.get('Action')}: {out.get('Message', 'error')}")
        return out

    async def ping(self) -> None:
        await self.action({"Action": "Ping"})

    async def user_event(self, name: str, fields: Mapping[str, str]) -> None:
        """Publish a UserEvent that any AMI dashboard can read. It is written
        to the connection at once, without waiting for Asterisk's answer (one
        connection keeps the order of what is written on it); a refusal is
        logged when the answer comes."""
        if not self.logged_in or self._manager is None:
            raise AmiError("AMI is not connected")
        action = {"Action": "UserEvent", "UserEvent": name}
        action.update({k: v.replace("\r", " ").replace("\n", " ") for k, v in fields.items()})
        fut = self._manager.send_action(action)
        fut.add_done_callback(partial(_log_refusal, name))

    async def close(self) -> None:
        self._closing = True
        if self._manager is not None:
            manager = self._manager
            # Stop panoramisk from scheduling a reconnect when the socket closes.
            manager.reconnect_timeout = 10**9
            manager.connection_lost = lambda _exc: None
            manager.close()
            self._manager = None
        self._logged_in.clear()
