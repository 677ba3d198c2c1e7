"""The contact center's services, as the API and the desktop use them: the
core's (`controlplane.core`) and every feature's (`controlplane.features`),
built and wired by the composition root (`controlplane.app.build_services`).

This is no service of its own: it only gathers the others under one name
for the request handlers.
"""

from __future__ import annotations

from controlplane.core.assembly import Core
from controlplane.features.callbacks.service import Callbacks
from controlplane.features.campaigns.service import Campaigns
from controlplane.features.consult.service import ConsultService
from controlplane.features.media.service import MediaService
from controlplane.features.outbound.service import Outbound
from controlplane.features.supervision.service import Supervision
from controlplane.features.transfers.service import TransferService
from controlplane.features.variables.service import CallVariables


class ContactCenter:
    # The features, set by the composition root as it plugs each in.
    media: MediaService  # HOLD-1, HOLD-2, REC-1..REC-3
    variables: CallVariables  # CAD-1..CAD-7
    callbacks: Callbacks  # CB-1..CB-3
    outbound: Outbound  # OD-1..OD-8, HI-2, CB-4
    transfers: TransferService  # TR-1..TR-7
    consults: ConsultService  # CO-1..CO-6, CF-1..CF-7
    supervision: Supervision  # SUP-1..SUP-6
    campaigns: Campaigns  # PC-1..PC-4

    def __init__(self, core: Core) -> None:
        self.core = core
        self.config = core.config
        self.node = core.node
        self.store = core.store
        self.ari = core.ari
        self.notifier = core.notifier
        self.tasks = core.tasks
        self.timers = core.timers
        self.serial = core.serial
        self.hooks = core.hooks
        self.agents = core.agents
        self.interactions = core.interactions
        self.legs = core.legs
        self.limits = core.limits
        self.routing = core.routing
        self.calls = core.calls
        # The core's operations under the names the request handlers use.
        self.tenant = core.agents.tenant
        self.agent = core.agents.agent
        self.login = core.agents.login
        self.change_state = core.agents.change_state
        self.interaction = core.interactions.get
        self.channel_owner = core.interactions.owner
        self.end = core.calls.end
        self.wrap_up = core.wrapup.apply
        self.on_ari_event = core.calls.on_ari_event
        self.reconcile = core.calls.reconcile
        self.dispatch = core.routing.dispatch
        self.resync_devices = core.routing.resync_devices
        self.admit = core.limits.admit
        self.renew_slots = core.limits.renew_slots
