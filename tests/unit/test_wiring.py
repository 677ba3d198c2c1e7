"""The composition root plugs every feature into the core: each kind of leg
the control plane places has its handler, and the core's hooks have the
claimants the features register, in the order the core asks them in."""

from __future__ import annotations

import pytest

from controlplane.adapters.ari import AriClient
from controlplane.adapters.store import Store
from controlplane.app import build_services
from controlplane.config import load_config
from controlplane.contact_center import ContactCenter
from controlplane.core.hooks import Hooks
from controlplane.notifier import Notifier
from controlplane.tasks import TaskGroup
from controlplane.timers import Timers
from tests.support.constants import DEMO


@pytest.fixture
def services() -> ContactCenter:
    config = load_config(DEMO)
    # nothing is connected while the services are built
    store = Store.from_url("redis://127.0.0.1:9/0", config.service.datacenter)
    ari = AriClient("http://127.0.0.1:9/ari", "none", "none", "none")
    return build_services(
        config,
        store=store,
        ari=ari,
        notifier=Notifier(store, None),
        tasks=TaskGroup(),
        timers=Timers(store),
    )


def _owners(handlers: list[object]) -> list[str]:
    """The feature package each hook handler comes from."""
    return [str(getattr(h, "__module__", "")).split(".")[2] for h in handlers]


def test_every_leg_the_control_plane_places_has_a_handler(services: ContactCenter) -> None:
    hooks: Hooks = services.hooks
    # the purposes our originates name in their app arguments
    assert set(hooks.answered) == {
        "agent",  # IN-2 (the core)
        "outbound",  # OD-4
        "customer",  # CB-3
        "consult",  # CO-3
        "transfer",  # TR-2, TR-5
        "supervisor",  # SUP-5
        "snoop",  # SUP-5
    }
    assert hooks.request_reserved is not None  # CO-1: a queue consult's agent
    assert hooks.offer_variables is not None  # IN-1: the offer shows the variables


def test_claimants_are_asked_in_the_order_the_features_were_plugged_in(
    services: ContactCenter,
) -> None:
    hooks = services.hooks
    # SUP-5's legs first; a transfer's before an outdial's (an outbound call
    # transferred to an agent rings as outbound); a callback's last
    assert _owners(list(hooks.leg_gone)) == [
        "supervision",
        "transfers",
        "consult",
        "outbound",
        "callbacks",
    ]
    assert _owners(list(hooks.agent_answered)) == ["outbound", "callbacks"]
    assert _owners(list(hooks.ending)) == ["media", "supervision", "consult"]
    assert _owners(list(hooks.before_wrap_up)) == ["consult"]
    assert _owners(list(hooks.after_wrap_up)) == ["outbound"]
    assert _owners(list(hooks.reconcile_interaction)) == ["consult"]
    assert _owners(list(hooks.reconcile)) == ["supervision"]
    assert [h.__module__ for h in hooks.observers["Dial"]] == ["controlplane.core.legs"]
    assert _owners(list(hooks.observers["ChannelDtmfReceived"])) == ["callbacks"]


def test_a_purpose_has_one_handler() -> None:
    hooks = Hooks()

    async def handler(ix_id: str, channel_id: str) -> None:
        return None

    hooks.on_answered("agent", handler)
    with pytest.raises(ValueError, match="agent"):
        hooks.on_answered("agent", handler)
