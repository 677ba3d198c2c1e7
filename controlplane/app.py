"""Composition root: builds the clients and services, wires them, runs them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from controlplane import metrics
from controlplane.adapters.ami import AmiClient, AmiError
from controlplane.adapters.ari import AriClient, AriEventStream
from controlplane.adapters.lease_store import LeaseStore
from controlplane.adapters.store import Store
from controlplane.api.http import EventHub, Services, build_app
from controlplane.config import AsteriskNode, Config
from controlplane.contact_center import ContactCenter
from controlplane.core.assembly import build_core
from controlplane.core.devices import DeviceTracker
from controlplane.domain.limits import SLOT_LEASE_MS
from controlplane.features.callbacks import plugin as callbacks_plugin
from controlplane.features.campaigns import plugin as campaigns_plugin
from controlplane.features.consult import plugin as consult_plugin
from controlplane.features.media import plugin as media_plugin
from controlplane.features.outbound import plugin as outbound_plugin
from controlplane.features.supervision import plugin as supervision_plugin
from controlplane.features.transfers import plugin as transfers_plugin
from controlplane.features.variables import plugin as variables_plugin
from controlplane.notifier import Notifier
from controlplane.opsevents import OpsEvents
from controlplane.orphans import SWEEP_SECONDS, OrphanSweeper
from controlplane.overload import AdmissionGate
from controlplane.tasks import TaskGroup
from controlplane.timers import Timers

log = logging.getLogger(__name__)

EVENT_STREAM_LEASE_MS = 2000
LEASE_SECONDS = EVENT_STREAM_LEASE_MS / 1000
# Renew (and, when free, try to take) the lease four times per lease time.
LEASE_POLL_SECONDS = LEASE_SECONDS / 4
DISPATCH_TICK_SECONDS = 1.0


def make_ari(node: AsteriskNode) -> AriClient:
    return AriClient(node.ari_url, node.ari_user, node.ari_password, node.app)


def make_ami(node: AsteriskNode) -> AmiClient:
    return AmiClient(node.ami_host, node.ami_port, node.ami_user, node.ami_secret)


class EventStreamOwner:
    """Asterisk allows one WebSocket per Stasis app, and a new one takes the app
    from the old one; so one replica at a time owns a node's event stream,
    under a lease in Redis that another replica takes over when it lapses.

    The lease is kept on the store's lease connections (a pool of their own:
    however busy the command pool, a renewal never waits behind it). A
    renewal that fails (Redis slow or restarting) is tried again while the
    lease surely still runs (its expiry, by our own clock, counted from before
    the last renewal that succeeded was sent); the stream stops only when
    Redis says another replica holds the lease, or when it may have lapsed.
    """

    def __init__(self, store: Store, node: AsteriskNode, stream: AriEventStream) -> None:
        self._lease = LeaseStore(store, node.name)
        self._key = self._lease.key
        self._stream = stream
        self.replica = uuid.uuid4().hex[:12]
        self._renew = self._lease.renew
        self._release = self._lease.release
        self._held_until = 0.0  # monotonic time until which the lease is surely ours
        self.renewals_failed = 0

    async def run(self) -> None:
        while True:
            sent = time.monotonic()
            try:
                got = await self._lease.take(self.replica, EVENT_STREAM_LEASE_MS)
            except Exception as exc:
                log.warning("cannot reach Redis for the event-stream lease: %s", exc)
                got = False
            if got:
                self._held_until = sent + LEASE_SECONDS
                log.info("replica %s owns the event stream of %s", self.replica, self._key)
                await self._own()
            await asyncio.sleep(LEASE_POLL_SECONDS)

    async def _own(self) -> None:
        stream_task = asyncio.create_task(self._stream.run(), name="ari-events")
        try:
            while not stream_task.done():
                await asyncio.sleep(LEASE_POLL_SECONDS)
                if not await self.renew_once():
                    break
        finally:
            self._held_until = 0.0
            await self._stream.stop()
            stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stream_task

    async def renew_once(self) -> bool:
        """One renewal; False when the stream must stop (the lease is another
        replica's, or may have lapsed)."""
        sent = time.monotonic()
        try:
            kept = await self._renew(replica=self.replica, lease_ms=EVENT_STREAM_LEASE_MS)
        except Exception as exc:
            self.renewals_failed += 1
            # Keep a margin of one poll for the next try and for stopping.
            if time.monotonic() + LEASE_POLL_SECONDS < self._held_until:
                log.warning("event-stream lease not renewed (trying again): %s", exc)
                return True
            log.warning("event-stream lease not renewed and may lapse; stopping: %s", exc)
            return False
        if not kept:
            log.warning("lost the event-stream lease; stopping the stream")
            return False
        self._held_until = sent + LEASE_SECONDS
        return True

    async def is_owner(self) -> bool:
        """True while this replica holds the event-stream lease (known here,
        without asking Redis)."""
        return time.monotonic() < self._held_until

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await self._release(self.replica)


async def _dispatch_tick(cc: ContactCenter, tenants: list[str]) -> None:
    """Safety net: whatever trigger was missed, waiting calls meet free agents."""
    while True:
        await asyncio.sleep(DISPATCH_TICK_SECONDS)
        for tenant in tenants:
            try:
                await cc.dispatch(tenant)
            except Exception as exc:
                log.warning("dispatch tick for %s failed: %s", tenant, exc)


async def _renew_slots(cc: ContactCenter) -> None:
    """LIM-3: keep the leases of live calls; a dead owner's lapse."""
    while True:
        await asyncio.sleep(SLOT_LEASE_MS / 3000)
        try:
            await cc.renew_slots()
        except Exception as exc:
            log.warning("slot leases not renewed: %s", exc)


async def _sweep_orphans(
    sweeper: OrphanSweeper, owner: EventStreamOwner, stream: AriEventStream
) -> None:
    """The event-stream owner removes the channels and bridges no live
    interaction wants (see `controlplane.orphans`)."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        if not (await owner.is_owner() and stream.connected.is_set()):
            sweeper.forget()
            continue
        try:
            await sweeper.sweep()
        except Exception as exc:
            log.warning("orphan sweep failed: %s", exc)


def build_services(
    config: Config,
    *,
    store: Store,
    ari: AriClient,
    notifier: Notifier,
    tasks: TaskGroup,
    timers: Timers,
) -> ContactCenter:
    """The core, then each feature plugged into it. Each feature registers on
    the core's hooks in this order, which is the order the core asks them in
    (e.g. a transfer's legs before an outdial's, SUP-5's legs first)."""
    core = build_core(config, store=store, ari=ari, notifier=notifier, tasks=tasks, timers=timers)
    cc = ContactCenter(core)
    cc.variables = variables_plugin.plug(core)
    cc.media = media_plugin.plug(core)
    cc.supervision = supervision_plugin.plug(core)
    cc.transfers = transfers_plugin.plug(core, media=cc.media, variables=cc.variables)
    cc.consults = consult_plugin.plug(
        core, media=cc.media, variables=cc.variables, transfers=cc.transfers
    )
    cc.outbound = outbound_plugin.plug(core)
    cc.callbacks = callbacks_plugin.plug(
        core, variables=cc.variables, admit_callback=cc.outbound.admit_callback
    )
    cc.campaigns = campaigns_plugin.plug(core, outbound=cc.outbound)
    return cc


def build(
    config: Config, *, ari: AriClient | None = None, ami: AmiClient | None = None
) -> web.Application:
    """The aiohttp application with every service started in its cleanup context.
    `ari` and `ami` stand in for the clients made from the config (the
    in-process tests pass an in-memory Asterisk)."""
    node = config.datacenter.asterisk[0]
    store = Store.from_url(config.service.redis_url, config.service.datacenter)
    ari = ari if ari is not None else make_ari(node)
    ami = ami if ami is not None else make_ami(node)
    tasks = TaskGroup()
    notifier = Notifier(store, ami)
    timers = Timers(store)
    cc = build_services(config, store=store, ari=ari, notifier=notifier, tasks=tasks, timers=timers)
    hub = EventHub(store)
    DeviceTracker(config, ami=ami, store=store, tasks=tasks, routing=cc.routing)  # ST-4
    ami.on_connection(lost=lambda: metrics.connection_lost("ami"))
    app = build_app(Services(config=config, cc=cc, store=store, ari=ari, ami=ami, hub=hub))

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await ari.start()
        with contextlib.suppress(Exception):
            await ari.warm()
        try:
            await ami.start(timeout=5)
        except AmiError as exc:
            log.warning("%s; the service runs on and AMI keeps retrying", exc)
        # Overload: new customer calls are refused at the entry point while the service lags.
        gate = AdmissionGate(
            config,
            ari,
            tasks,
            jobs=lambda: cc.serial.pending,
            job_age=cc.serial.oldest_age,
            handler=cc.on_ari_event,
        )
        stream = AriEventStream(
            ari,
            gate.on_event,
            on_connect=cc.reconcile,
            on_lost=lambda: metrics.connection_lost("ari"),
            event_types=cc.hooks.event_types,  # Asterisk sends only what is read
        )
        owner = EventStreamOwner(store, node, stream)
        metrics.watch_event_stream(stream.connected.is_set)
        metrics.watch_work(lambda: cc.serial.pending, lambda: ari.teardowns_pending)
        metrics.watch_overload(
            lambda: gate.state.refusing, lambda: {s.value: v for s, v in gate.signals().items()}
        )

        def ari_observed(method: str, seconds: float) -> None:
            metrics.ari_request(method, seconds)
            gate.observe_ari(method, seconds)

        ari.observer = ari_observed
        tasks.spawn("loop-lag", metrics.watch_loop_lag(gate.observe_loop_lag), loop=True)
        if config.overload.debug_lag_file:  # tests only
            lag_file = Path(config.overload.debug_lag_file)
            tasks.spawn("debug-lag", gate.debug_lag(lag_file), loop=True)
        tasks.spawn("event-hub", hub.run(), loop=True)
        tasks.spawn("event-stream-owner", owner.run(), loop=True)
        tasks.spawn("dispatch-tick", _dispatch_tick(cc, sorted(config.local_tenants())), loop=True)
        tasks.spawn("timers", timers.run(), loop=True)
        tasks.spawn("slot-leases", _renew_slots(cc), loop=True)
        ops = OpsEvents(config, store, ami, owner.is_owner)
        tasks.spawn("ops-events", ops.run(), loop=True)  # OPS-1
        sweeper = OrphanSweeper(store, ari, node.app, cc.channel_owner, metrics.orphan_removed)
        tasks.spawn("orphan-sweep", _sweep_orphans(sweeper, owner, stream), loop=True)
        yield
        await tasks.stop_loops()  # the event stream first: no new work starts
        await owner.release()  # another replica may take the stream over at once
        await tasks.close()  # the work in progress finishes, or is cancelled after 5 s
        await ami.close()
        await ari.close()
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    return app


def settle_heap() -> None:
    """Once started: what start-up built (modules, configuration, the
    application, about 70,000 objects) leaves the garbage collector's view
    for good. A full collection then walks only what calls create (it took
    13-17 ms, the whole loop stopped, with those objects in it)."""
    gc.collect()
    gc.freeze()


async def serve(config: Config) -> None:
    app = build(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    for host in (config.service.listen_host, *config.service.extra_listen_hosts):
        site = web.TCPSite(runner, host, config.service.listen_port)
        await site.start()
        log.info("controlplane listening on http://%s:%s", host, config.service.listen_port)
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
