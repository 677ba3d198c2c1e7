"""Agent phones' device state (ST-4), from AMI DeviceStateChange events.

An agent whose phone is still off-hook (in use, ringing, on hold) gets no
offer: the routing script skips extensions in the busy set. So does a
browser phone that is not registered (PH-1). When a phone goes idle,
waiting calls are offered again. Events missed while AMI was
away are not replayed: after every login the set is read afresh.
"""

from __future__ import annotations

import logging

from controlplane import browser_phone
from controlplane.adapters.ami import AmiClient
from controlplane.adapters.store import Store
from controlplane.config import Config
from controlplane.core.routing import Routing
from controlplane.domain.agent import device_is_busy
from controlplane.tasks import TaskGroup

log = logging.getLogger(__name__)

_PREFIX = "PJSIP/"


class DeviceTracker:
    def __init__(
        self,
        config: Config,
        *,
        ami: AmiClient,
        store: Store,
        tasks: TaskGroup,
        routing: Routing,
    ) -> None:
        self._config = config
        self._store = store
        self._tasks = tasks
        self._routing = routing
        ami.on_event("DeviceStateChange", self._on_event)
        ami.on_connection(login=self._on_login)

    def _on_login(self) -> None:
        self._tasks.spawn("devices:resync", self._routing.resync_devices())

    def _on_event(self, event: dict[str, str]) -> None:
        device = event.get("Device", "")
        if not device.startswith(_PREFIX):
            return
        extension = device.removeprefix(_PREFIX)
        state = event.get("State", "")
        found = self._config.agent_by_extension(extension)
        if found is not None:
            tenant = found[0]
            busy = device_is_busy(state)
        else:
            # PH-1: a browser phone also gets no offer while it is not registered
            browser = browser_phone.agent_by_browser_extension(self._config, extension)
            if browser is None:
                return
            tenant = browser[0]
            busy = device_is_busy(state) or browser_phone.unreachable(state)
        self._tasks.spawn(f"device:{extension}", self._update(tenant, extension, busy))

    async def _update(self, tenant: str, extension: str, busy: bool) -> None:
        changed = await self._store.set_device_busy(extension, busy)
        if changed:
            log.info("phone %s is %s", extension, "busy" if busy else "idle")
            if not busy:
                await self._routing.dispatch(tenant)
