"""The browser phone's rules without a network: its credentials (PH-4), the
SIP proxy's check of what a browser may send (PH-4), and which device
states make a browser phone unofferable (PH-1)."""

from __future__ import annotations

import pytest

from controlplane import browser_phone
from controlplane.api.openapi import build_openapi
from controlplane.api.phone import PolicyViolation, call_id_of_request, check_from_browser
from controlplane.config import Config, load_config
from controlplane.domain.errors import InvalidInput
from tests.support.constants import DEMO


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(DEMO)


def sip(first: str, *headers: str) -> str:
    return "\r\n".join([first, *headers, "Content-Length: 0"]) + "\r\n\r\n"


def register(user: str, to: str | None = None, auth: str | None = None) -> str:
    lines = [
        f"From: <sip:{user}@127.0.0.1>;tag=a1",
        f"To: <sip:{to or user}@127.0.0.1>",
        "Call-ID: r1",
        "CSeq: 1 REGISTER",
    ]
    if auth is not None:
        lines.append(f'Authorization: Digest username="{auth}", realm="asterisk", nonce="n"')
    return sip("REGISTER sip:127.0.0.1 SIP/2.0", *lines)


@pytest.mark.spec("PH-4")
def test_a_browser_may_register_only_its_own_endpoint() -> None:
    check_from_browser(register("2001"), "2001", ())
    check_from_browser(register("2001", auth="2001"), "2001", ())
    for message in (
        register("2002"),
        register("1001"),  # a hard phone
        register("2001", to="1001"),
        register("2001", auth="1001"),
        register("2001", auth=""),
    ):
        with pytest.raises(PolicyViolation):
            check_from_browser(message, "2001", ())


@pytest.mark.spec("PH-4")
def test_requests_in_a_dialog_pass_only_for_calls_asterisk_offered_on_the_connection() -> None:
    offered = sip(
        "INVITE sip:abc@x.invalid;transport=ws SIP/2.0",
        "From: <sip:+15551234567@127.0.0.1>;tag=ast",
        "To: <sip:abc@x.invalid;transport=ws>",
        "Call-ID: call-1",
        "CSeq: 10 INVITE",
    )
    assert call_id_of_request(offered) == "call-1"
    bye = sip(
        "BYE sip:asterisk@127.0.0.1 SIP/2.0",
        "From: <sip:abc@x.invalid>;tag=js",  # JsSIP's contact user, not the endpoint
        "To: <sip:+15551234567@127.0.0.1>;tag=ast",
        "Call-ID: call-1",
        "CSeq: 2 BYE",
    )
    check_from_browser(bye, "2001", {"call-1"})
    with pytest.raises(PolicyViolation):
        check_from_browser(bye, "2001", {"call-2"})
    # compact header names count the same
    compact = bye.replace("From:", "f:").replace("To:", "t:").replace("Call-ID:", "i:")
    check_from_browser(compact, "2001", {"call-1"})
    # an INVITE outside a dialog: only as the endpoint itself
    invite = sip(
        "INVITE sip:*43@127.0.0.1 SIP/2.0",
        "From: <sip:1001@127.0.0.1>;tag=x",
        "To: <sip:*43@127.0.0.1>",
        "Call-ID: c9",
        "CSeq: 1 INVITE",
    )
    with pytest.raises(PolicyViolation):
        check_from_browser(invite, "2001", {"call-1"})
    check_from_browser(invite.replace("sip:1001@", "sip:2001@"), "2001", ())


@pytest.mark.spec("PH-4")
def test_responses_and_keep_alives_pass_and_a_request_needs_one_from_and_to() -> None:
    check_from_browser("SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n", "2001", ())
    check_from_browser("\r\n\r\n", "2001", ())
    assert call_id_of_request("SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n") is None
    with pytest.raises(PolicyViolation):
        check_from_browser(sip("OPTIONS sip:127.0.0.1 SIP/2.0", "Call-ID: o"), "2001", ())
    doubled = register("2001").replace("To:", "From: <sip:2001@127.0.0.1>;tag=b\r\nTo:", 1)
    with pytest.raises(PolicyViolation):
        check_from_browser(doubled, "2001", ())


@pytest.mark.spec("PH-4")
def test_the_sip_password_is_new_with_every_session_and_bound_to_the_endpoint() -> None:
    a = browser_phone.sip_password("session-key-1", "2001")
    assert a == browser_phone.sip_password("session-key-1", "2001")  # every replica agrees
    assert len(a) == 32 and a.isascii()
    assert a != browser_phone.sip_password("session-key-2", "2001")
    assert a != browser_phone.sip_password("session-key-1", "2002")


@pytest.mark.spec("PH-1", "PH-4")
def test_credentials_only_with_a_session_and_only_for_agents_with_a_browser_phone(
    config: Config,
) -> None:
    assert browser_phone.browser_phone_for(config, "acme", "alice") == ("2001", None)
    extension, creds = browser_phone.browser_phone_for(config, "acme", "alice", "k")
    assert extension == "2001" and creds is not None
    assert creds == {
        "ws_url": "/v1/phone/ws",
        "uri": "sip:2001@127.0.0.1",
        "username": "2001",
        "password": browser_phone.sip_password("k", "2001"),
        "display_name": "Alice Able",
        "realm": "asterisk",
    }
    no_browser = config.model_copy(deep=True)
    agent = no_browser.tenants["acme"].agents["alice"]
    no_browser.tenants["acme"].agents["alice"] = agent.model_copy(
        update={"browser_extension": None}
    )
    with pytest.raises(InvalidInput) as refused:
        browser_phone.browser_phone_for(no_browser, "acme", "alice", "k")
    assert refused.value.details.get("rule") == "PH-1"


@pytest.mark.spec("PH-1")
def test_a_browser_phone_that_is_not_registered_is_unreachable(config: Config) -> None:
    assert browser_phone.agent_by_browser_extension(config, "2001") == ("acme", "alice")
    assert browser_phone.agent_by_browser_extension(config, "1001") is None
    assert browser_phone.unreachable("UNAVAILABLE") and browser_phone.unreachable("invalid")
    for state in ("NOT_INUSE", "INUSE", "RINGING", "UNKNOWN"):
        assert not browser_phone.unreachable(state), state


def test_the_openapi_document_describes_the_browser_phone_routes() -> None:
    paths = build_openapi()["paths"]
    assert "get" in paths["/v1/phone/ws"]
    assert "get" in paths["/v1/agents/{agent_id}/device"]
