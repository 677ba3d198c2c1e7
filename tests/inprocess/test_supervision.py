"""Monitor, whisper and barge in-process: the supervisor's leg, the snoop on
the agent's leg and the bridges they are placed in."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import connected_call
from tests.support.constants import SUPERVISOR_EXTENSION
from tests.support.desktop import ApiError, Desktop
from tests.support.fake_ari import Far

pytestmark = pytest.mark.inprocess


@pytest.mark.spec("SUP-5")
async def test_supervisor_monitors_whispers_barges_and_stops(service: Service) -> None:
    fake = service.ari
    fake.script(service.agent_endpoint(SUPERVISOR_EXTENSION), Far.ANSWER)
    async with (
        Desktop(service.url, "demo-alice-token", "alice") as alice,
        Desktop(service.url, "demo-supervisor-token") as sup,
    ):
        call = await connected_call(service, alice, "1001")
        ix = call.ix_id
        path = f"/v1/interactions/{ix}/supervision"
        started = await sup.call(
            "POST", path, {"mode": "monitor", "extension": SUPERVISOR_EXTENSION}, expect=201
        )
        assert started["mode"] == "monitor"
        await sup.event("interaction.supervision_started")
        (ring,) = fake.originated(service.agent_endpoint(SUPERVISOR_EXTENSION))
        leg = ring.params["channelId"]
        assert ring.params["appArgs"] == f"supervisor,{ix}"

        # monitor: a snoop on the agent's leg hears both ways and speaks to nobody;
        # it and the supervisor's leg are in a bridge of their own
        def snoop_joined() -> str | None:
            bridge = fake.channels_by_id[leg].bridge
            members = fake.bridges_by_id[bridge].channels if bridge else []
            return next((c for c in members if c != leg), None)

        snoop = await fake.wait_for("the snoop in the supervisor's bridge", snoop_joined)
        (request,) = fake.sent("POST", f"/channels/{call.agent_leg}/snoop")
        assert request.params["spy"] == "both" and request.params["whisper"] == "none"
        assert request.params["snoopId"] == snoop
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, call.agent_leg])

        # whisper: a new snoop that also speaks to the agent, on the same supervisor leg
        await sup.call("PUT", path, {"mode": "whisper"})
        await sup.event("interaction.supervision_switched")
        whisper = fake.sent("POST", f"/channels/{call.agent_leg}/snoop")[-1]
        assert whisper.params["spy"] == "both" and whisper.params["whisper"] == "out"
        assert snoop not in fake.channels_by_id
        await fake.wait_for("the whisper snoop joined", lambda: snoop_joined() not in (None, snoop))

        # barge: the supervisor's leg joins the call's bridge; no snoop any more
        await sup.call("PUT", path, {"mode": "barge"})
        await fake.wait_for(
            "the supervisor in the call's bridge", lambda: leg in fake.call_bridge(ix).channels
        )
        assert not [c for c in fake.channels_by_id if c.startswith(f"{ix}-p")]
        with pytest.raises(ApiError) as same:
            await sup.call("PUT", path, {"mode": "barge"})
        assert same.value.status == 409 and same.value.body["details"]["rule"] == "SUP-5"

        # stop: the supervisor's leg and the bridge of the session go; the call goes on
        stopped = await sup.call("DELETE", path)
        assert stopped["state"] == "stopped"
        assert leg not in fake.channels_by_id
        assert list(fake.bridges_by_id) == [fake.call_bridge(ix).id]
        assert sorted(fake.call_bridge(ix).channels) == sorted([call.customer, call.agent_leg])
        await alice.end(ix)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix, "resolved")
