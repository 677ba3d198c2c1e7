"""The core, built: its services, wired with each other. Features get the
parts they need from it by name (see each feature's `plugin.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.config import AsteriskNode, Config
from controlplane.core.agents import Agents
from controlplane.core.bridges import Bridges
from controlplane.core.calls import Calls
from controlplane.core.hooks import Hooks
from controlplane.core.interactions import Interactions
from controlplane.core.legs import LegDialer
from controlplane.core.limits import Limits
from controlplane.core.routing import Routing
from controlplane.core.wrapup import WrapUp
from controlplane.notifier import Notifier
from controlplane.tasks import KeyedSerializer, TaskGroup
from controlplane.timers import Timers


@dataclass(frozen=True)
class Core:
    config: Config
    node: AsteriskNode
    store: Store
    ari: AriClient
    notifier: Notifier
    tasks: TaskGroup
    timers: Timers
    serial: KeyedSerializer
    hooks: Hooks
    bridges: Bridges
    agents: Agents
    interactions: Interactions
    legs: LegDialer
    limits: Limits
    routing: Routing
    wrapup: WrapUp
    calls: Calls


def build_core(
    config: Config,
    *,
    store: Store,
    ari: AriClient,
    notifier: Notifier,
    tasks: TaskGroup,
    timers: Timers,
) -> Core:
    node = config.datacenter.asterisk[0]
    hooks = Hooks()
    serial = KeyedSerializer(tasks)
    bridges = Bridges(store=store, ari=ari, tasks=tasks)
    agents = Agents(config, store=store, notifier=notifier, hooks=hooks, tasks=tasks)
    interactions = Interactions(store=store)
    legs = LegDialer(
        node=node,
        ari=ari,
        store=store,
        notifier=notifier,
        agents=agents,
        interactions=interactions,
    )
    limits = Limits(config, store=store)
    routing = Routing(
        config,
        store=store,
        ari=ari,
        notifier=notifier,
        serial=serial,
        tasks=tasks,
        agents=agents,
        interactions=interactions,
        legs=legs,
        hooks=hooks,
        bridges=bridges,
    )
    wrapup = WrapUp(
        store=store,
        notifier=notifier,
        timers=timers,
        serial=serial,
        agents=agents,
        interactions=interactions,
        routing=routing,
        hooks=hooks,
    )
    calls = Calls(
        config,
        store=store,
        ari=ari,
        notifier=notifier,
        tasks=tasks,
        serial=serial,
        agents=agents,
        interactions=interactions,
        legs=legs,
        routing=routing,
        limits=limits,
        wrapup=wrapup,
        hooks=hooks,
        bridges=bridges,
    )
    return Core(
        config=config,
        node=node,
        store=store,
        ari=ari,
        notifier=notifier,
        tasks=tasks,
        timers=timers,
        serial=serial,
        hooks=hooks,
        bridges=bridges,
        agents=agents,
        interactions=interactions,
        legs=legs,
        limits=limits,
        routing=routing,
        wrapup=wrapup,
        calls=calls,
    )
