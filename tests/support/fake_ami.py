"""An in-memory stand-in for the service's AMI client: it is logged in at
once, records every action and UserEvent the service sends, and delivers
the AMI events a test (or the fake Asterisk, for device states) raises."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from controlplane.adapters.ami import AmiClient, AmiError


@dataclass(frozen=True)
class SentUserEvent:
    name: str
    fields: dict[str, str] = field(default_factory=dict)


class FakeAmi(AmiClient):
    """The same interface as `AmiClient`, with no connection behind it."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0, "fake", "fake")
        self.actions: list[dict[str, str]] = []
        self.user_events: list[SentUserEvent] = []
        self.device_states: dict[str, str] = {}
        self._fake_listeners: list[tuple[str, Callable[[dict[str, str]], None]]] = []
        self._fake_login: list[Callable[[], None]] = []
        self._fake_lost: list[Callable[[], None]] = []
        self._fake_logged_in = False

    # The client's interface ----------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        return self._fake_logged_in

    async def start(self, timeout: float = 5.0) -> None:
        self._fake_logged_in = True
        for hook in self._fake_login:
            hook()

    def on_event(self, pattern: str, callback: Callable[[dict[str, str]], None]) -> None:
        self._fake_listeners.append((pattern, callback))

    def on_connection(
        self, *, login: Callable[[], None] | None = None, lost: Callable[[], None] | None = None
    ) -> None:
        if login is not None:
            self._fake_login.append(login)
        if lost is not None:
            self._fake_lost.append(lost)

    async def action(self, action: Mapping[str, str], timeout: float = 5.0) -> dict[str, str]:
        if not self._fake_logged_in:
            raise AmiError("AMI is not connected")
        self.actions.append(dict(action))
        return {"Response": "Success"}

    async def ping(self) -> None:
        await self.action({"Action": "Ping"})

    async def user_event(self, name: str, fields: Mapping[str, str]) -> None:
        if not self._fake_logged_in:
            raise AmiError("AMI is not connected")
        self.user_events.append(SentUserEvent(name, dict(fields)))

    async def close(self) -> None:
        self._fake_logged_in = False

    # What a test (or the fake Asterisk) does -----------------------------------------

    def emit(self, event: Mapping[str, str]) -> None:
        """Deliver an AMI event to every listener whose pattern matches its name."""
        message = {str(k): str(v) for k, v in event.items()}
        name = message.get("Event", "")
        for pattern, callback in list(self._fake_listeners):
            if fnmatch.fnmatchcase(name, pattern):
                callback(dict(message))

    def device_state(self, device: str, state: str) -> None:
        """A `DeviceStateChange` as Asterisk raises it (`PJSIP/1001`, `INUSE`)."""
        if self.device_states.get(device) == state:
            return
        self.device_states[device] = state
        self.emit({"Event": "DeviceStateChange", "Device": device, "State": state})

    def lose_connection(self) -> None:
        """The AMI connection drops (the service's `lost` hooks run)."""
        was = self._fake_logged_in
        self._fake_logged_in = False
        if was:
            for hook in self._fake_lost:
                hook()
