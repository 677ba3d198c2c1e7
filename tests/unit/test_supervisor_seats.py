"""The supervisors' browser-phone seats without a network (SUP-5, PH-1, PH-4):
which seat a sign-in takes, the configured range, and which endpoint a
session may speak as on /v1/phone/ws."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from controlplane.adapters.session_store import StoredSession
from controlplane.api.auth import Forbidden
from controlplane.api.phone import own_endpoint
from controlplane.browser_phone import is_browser_endpoint, sip_credentials
from controlplane.config import Config, load_config
from controlplane.domain.seats import SEAT_GRACE_MS, SeatHolder, choose_seat
from tests.support.constants import DEMO

SEATS = ("2101", "2102", "2103")
NOW = 10_000_000


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(DEMO)


def demo_data() -> dict[str, Any]:
    return tomllib.loads(DEMO.read_text())


def held(session: str, owner: str, since: int = NOW - SEAT_GRACE_MS) -> SeatHolder:
    return SeatHolder(session=session, owner=owner, since=since)


@pytest.mark.spec("SUP-5")
def test_a_sign_in_takes_the_first_seat_nobody_holds() -> None:
    assert choose_seat(SEATS, {}, set(), "acme/sam", NOW) == "2101"
    holders = {"2101": held("s1", "acme/sam")}
    assert choose_seat(SEATS, holders, {"s1"}, "globex/grace", NOW) == "2102"


@pytest.mark.spec("SUP-5")
def test_a_supervisor_signing_in_again_keeps_their_seat() -> None:
    holders = {"2101": held("s1", "acme/sam"), "2102": held("s2", "globex/grace")}
    # (the older session is live until the new one replaces it)
    assert choose_seat(SEATS, holders, {"s1", "s2"}, "globex/grace", NOW) == "2102"


@pytest.mark.spec("SUP-5")
def test_a_seat_whose_session_ended_is_free_again_but_not_one_just_taken() -> None:
    ended = {"2101": held("gone", "acme/sam"), "2102": held("s2", "globex/grace")}
    assert choose_seat(SEATS, ended, {"s2"}, "acme/other", NOW) == "2101"
    # taken a moment ago: its session is about to be saved by that sign-in
    just = {"2101": held("new", "acme/sam", since=NOW - SEAT_GRACE_MS + 1)}
    assert choose_seat(SEATS, just, set(), "acme/other", NOW) == "2102"


@pytest.mark.spec("SUP-5")
def test_every_seat_held_refuses() -> None:
    holders = {seat: held(f"s{seat}", f"t/{seat}") for seat in SEATS}
    assert choose_seat(SEATS, holders, {f"s{seat}" for seat in SEATS}, "acme/sam", NOW) is None


owners = st.sampled_from(["acme/sam", "acme/sue", "globex/grace", "globex/gus"])


@st.composite
def seat_states(draw: st.DrawFn) -> tuple[dict[str, SeatHolder], set[str]]:
    holders: dict[str, SeatHolder] = {}
    live: set[str] = set()
    for i, seat in enumerate(SEATS):
        if draw(st.booleans()):
            session = f"session{i}"
            age = draw(st.integers(min_value=0, max_value=3 * SEAT_GRACE_MS))
            holders[seat] = held(session, draw(owners), since=NOW - age)
            if draw(st.booleans()):
                live.add(session)
    return holders, live


@pytest.mark.spec("SUP-5")
@given(state=seat_states(), owner=owners)
def test_a_seat_is_never_taken_from_another_supervisors_live_session(
    state: tuple[dict[str, SeatHolder], set[str]], owner: str
) -> None:
    holders, live = state
    before = copy.deepcopy(holders)
    seat = choose_seat(SEATS, holders, live, owner, NOW)
    assert holders == before
    if seat is None:
        for s in SEATS:  # refused only when every seat is someone else's
            h = holders.get(s)
            assert h is not None and h.owner != owner
            assert h.session in live or NOW - h.since < SEAT_GRACE_MS
        return
    h = holders.get(seat)
    assert (
        h is None or h.owner == owner or (h.session not in live and NOW - h.since >= SEAT_GRACE_MS)
    )
    mine = [s for s in SEATS if (x := holders.get(s)) is not None and x.owner == owner]
    if mine:
        assert seat == mine[0]


@pytest.mark.spec("SUP-5")
def test_the_seats_are_a_range_of_the_datacenter_and_no_agents_phones(config: Config) -> None:
    assert config.datacenter.supervisor_browser_extensions == tuple(
        str(n) for n in range(2101, 2111)
    )
    data = demo_data()
    data["datacenters"]["dc1"]["supervisor_browser_extensions"] = "3001-3003"
    assert Config.model_validate(data).datacenter.supervisor_browser_extensions == (
        "3001",
        "3002",
        "3003",
    )
    for bad in ("3003-3001", "30x1-3003", "3001"):
        data["datacenters"]["dc1"]["supervisor_browser_extensions"] = bad
        with pytest.raises(ValidationError):
            Config.model_validate(data)
    # an agent's phone or browser phone cannot be a seat
    for taken in ("1001", "2001"):
        data["datacenters"]["dc1"]["supervisor_browser_extensions"] = [taken, "3001"]
        with pytest.raises(ValidationError, match="supervisor_browser_extensions"):
            Config.model_validate(data)


def session(role: str, phone: str, extension: str, agent: str = "sam") -> StoredSession:
    return StoredSession(
        key="k" * 64,
        handle="h",
        tenant="acme",
        agent=agent,
        csrf="c",
        phone=phone,
        extension=extension,
        created=0,
        expires=1,
        role=role,
    )


@pytest.mark.spec("SUP-5", "PH-4")
def test_a_supervisors_session_speaks_only_as_its_seat(config: Config) -> None:
    assert own_endpoint(config, session("supervisor", "browser", "2103")) == "2103"
    assert own_endpoint(config, session("agent", "browser", "2001", agent="alice")) == "2001"
    # an extension (a hard phone, or an agent's browser endpoint) is no seat
    for extension in ("1009", "2001"):
        with pytest.raises(Forbidden):
            own_endpoint(config, session("supervisor", "browser", extension))
    assert is_browser_endpoint(config, "2101") and is_browser_endpoint(config, "2001")
    assert not is_browser_endpoint(config, "1009")
    creds = sip_credentials(config, "2103", "k" * 64, "Sam Super")
    assert creds["username"] == "2103" and creds["uri"].startswith("sip:2103@")
    assert creds["password"] != sip_credentials(config, "2103", "j" * 64, "Sam Super")["password"]


@pytest.mark.spec("SUP-5", "PH-1")
def test_every_seat_is_a_webrtc_endpoint_of_the_shipped_asterisk(config: Config) -> None:
    pjsip = (
        Path(__file__).resolve().parents[2] / "asterisk-conf" / "etc" / "pjsip.conf"
    ).read_text()
    for seat in config.datacenter.supervisor_browser_extensions:
        assert f"[{seat}](webrtc-endpoint)\nauth = {seat}\naors = {seat}\n" in pjsip, seat
        assert f"[{seat}](webrtc-aor)" in pjsip, seat
