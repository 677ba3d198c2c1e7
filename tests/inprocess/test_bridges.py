"""The interaction's bridge in-process (IN-2): two phones talk in a direct
bridge, and move to a shared one before their first change of parties."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import Service
from tests.inprocess.scenes import connected_call
from tests.support.constants import VIP
from tests.support.desktop import Desktop

pytestmark = pytest.mark.inprocess


@pytest.mark.spec("IN-2", "HOLD-1", "HOLD-2")
async def test_a_call_not_recorded_moves_to_a_shared_bridge_at_its_first_hold(
    service: Service,
) -> None:
    fake = service.ari
    # carol's profile records nothing: no recorder makes the bridge mix
    async with Desktop(service.url, "demo-carol-token", "carol") as carol:
        call = await connected_call(service, carol, "1003", number=VIP)
        ix_id, customer, agent = call.ix_id, call.customer, call.agent_leg
        shared = f"{ix_id}-shared"
        direct = fake.bridges_by_id[ix_id]
        assert direct.types == "mixing"  # Asterisk may relay natively
        assert sorted(direct.channels) == sorted([customer, agent])
        assert not fake.sent("POST", f"/bridges/{ix_id}/record")

        # the first hold: the agent moves to a shared bridge (proxy_media) as
        # the customer leaves the direct one for music on hold; it goes
        await carol.call("POST", f"/v1/interactions/{ix_id}/hold")
        assert fake.bridges_by_id[shared].types == "mixing,proxy_media"
        assert fake.sent("POST", f"/bridges/{shared}/addChannel")[0].params["channel"] == agent
        left = fake.sent("POST", f"/bridges/{ix_id}/removeChannel")
        assert [r.params["channel"] for r in left] == [customer]
        await fake.wait_for("the direct bridge gone", lambda: ix_id not in fake.bridges_by_id)
        assert fake.bridges_by_id[shared].channels == [agent]
        assert fake.channels_by_id[customer].moh == "default"

        # resume, hold and resume again: the record names the shared bridge,
        # which stays; nothing moves again
        for action in ("resume", "hold", "resume"):
            await carol.call("POST", f"/v1/interactions/{ix_id}/{action}")
        assert len(fake.sent("POST", f"/bridges/{shared}")) == 1
        assert sorted(fake.bridges_by_id[shared].channels) == sorted([customer, agent])
        assert ix_id not in fake.bridges_by_id

        # the end destroys the shared bridge; nothing is left
        await carol.end(ix_id)
        await carol.state_event("wrap_up")
        await fake.wait_for("nothing left", lambda: not fake.leftovers())
        assert not fake.bridges_by_id
        await carol.wrap_up(ix_id, "resolved")


@pytest.mark.spec("IN-2", "REC-1")
async def test_a_call_to_be_recorded_gets_its_shared_bridge_before_the_recorder(
    service: Service,
) -> None:
    fake = service.ari
    # alice's profile records: a recorder must never find two phones relayed
    # natively, so her calls talk in the shared bridge from the start
    async with Desktop(service.url, "demo-alice-token", "alice") as alice:
        call = await connected_call(service, alice, "1001")
        shared = f"{call.ix_id}-shared"
        record = fake.sent("POST", f"/bridges/{shared}/record")
        added = fake.sent("POST", f"/bridges/{shared}/addChannel")
        assert record and added and record[0].at <= added[0].at  # the recorder first
        assert fake.bridges_by_id[shared].types == "mixing,proxy_media"
        assert set(fake.bridges_by_id) == {shared}
        await alice.call("POST", f"/v1/interactions/{call.ix_id}/hold")
        await alice.call("POST", f"/v1/interactions/{call.ix_id}/resume")
        assert len(fake.sent("POST", f"/bridges/{shared}")) == 1  # nothing moved again
        await alice.end(call.ix_id)
        await alice.state_event("wrap_up")
        await fake.wait_for("nothing left", lambda: not fake.leftovers())
        await alice.wrap_up(call.ix_id, "resolved")
