"""The Asterisk configuration the project ships (asterisk-conf/etc) is locked
down as the architecture notes ask: every listener on loopback, AMI users
with only the classes they need (never originate, system, command or config
to write; the control plane's user reads the device states it uses and no
other event, dashboards read without acting), only our ARI user, and
`live_dangerously = no`. Stasis message types nobody reads are declined."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ETC = REPO / "asterisk-conf" / "etc"
Sections = dict[str, list[tuple[str, str]]]

# AMI classes that would let a caller run anything (originate an application,
# a CLI command, reload modules, rewrite configuration).
DANGEROUS_WRITE = {"originate", "system", "command", "config", "all", "dialplan", "agi"}


def sections(name: str) -> Sections:
    """[section] -> [(key, value)] of an Asterisk .conf file."""
    out: Sections = {}
    current = ""
    for raw in (ETC / name).read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        head = re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line)
        if head:
            current = head[1]
            out.setdefault(current, [])
            continue
        key, _, value = line.partition("=")
        out.setdefault(current, []).append((key.strip(), value.lstrip(">").strip()))
    return out


def value(section: list[tuple[str, str]], key: str) -> str | None:
    found = [v for k, v in section if k == key]
    return found[-1] if found else None


@pytest.mark.spec("SEC-1")
def test_ami_listens_on_loopback_and_its_user_may_publish_user_events_only() -> None:
    conf = sections("manager.conf")
    general = conf.pop("general")
    assert value(general, "bindaddr") == "127.0.0.1"
    assert value(general, "webenabled") == "no"
    assert conf, "an AMI user"
    for user, entries in conf.items():
        assert value(entries, "deny") == "0.0.0.0/0.0.0.0", user
        assert [v for k, v in entries if k == "permit"] == ["127.0.0.1/255.255.255.255"], user
        write = set(filter(None, (value(entries, "write") or "").split(",")))
        assert write <= {"user"}, (user, write)
        read = set((value(entries, "read") or "").split(","))
        assert not read & {"all", "command", "config", "dialplan"}, (user, read)


def classes(entries: list[tuple[str, str]], key: str) -> set[str]:
    return set(filter(None, (value(entries, key) or "").split(",")))


def ami_events_read_by_the_service() -> set[str]:
    """The AMI event names the service registers for (`on_event("...")`)."""
    found: set[str] = set()
    for path in (REPO / "controlplane").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "on_event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


@pytest.mark.spec("SEC-1", "ST-4")
def test_the_control_planes_ami_user_reads_only_the_events_the_service_uses() -> None:
    demo = tomllib.loads((REPO / "config" / "demo.toml").read_text())
    entries = sections("manager.conf")[demo["datacenters"]["dc1"]["asterisk"][0]["ami_user"]]
    used = ami_events_read_by_the_service()
    assert used == {"DeviceStateChange"}, used  # ST-4: the agents' phones
    # DeviceStateChange is of class call; system only for FullyBooted at login
    assert classes(entries, "read") == {"system", "call"}
    assert classes(entries, "write") == {"user"}  # OPS-1: UserEvents
    # Asterisk wakes every session for every event: only these pass, by a
    # compare of the event name's hash (no pattern, no regex).
    filters = [(k, v) for k, v in entries if k.startswith("eventfilter")]
    assert filters == [
        (f"eventfilter(action(include),name({name}))", "") for name in sorted(used)
    ]


@pytest.mark.spec("OPS-1", "SEC-1")
def test_dashboards_have_an_ami_user_of_their_own_that_reads_and_does_nothing_else() -> None:
    entries = sections("manager.conf")["dashboard"]
    assert classes(entries, "write") == set()
    # OPS-1 UserEvents (user), call and device states (call), registrations
    assert classes(entries, "read") == {"system", "call", "user"}
    assert not [k for k, _v in entries if k.startswith("eventfilter")]


@pytest.mark.spec("SEC-1")
def test_stasis_declines_the_message_types_nobody_reads() -> None:
    declined = {v for k, v in sections("stasis.conf")["declined_message_types"] if k == "decline"}
    assert declined == {
        "ast_rtp_rtcp_sent_type",  # AMI RTCPSent (class reporting)
        "ast_rtp_rtcp_received_type",  # AMI RTCPReceived (class reporting)
        "ast_channel_varset_type",  # AMI VarSet (class dialplan), ARI ChannelVarset
    }
    # ... and nobody here reads what they would have carried: no AMI user
    # reads reporting or dialplan events (the bench's own user, appended
    # for its runs, reads named dialplan events only: Newexten) ...
    for user, entries in sections("manager.conf").items():
        if user != "general":
            assert not classes(entries, "read") & {"reporting", "dialplan"}, user
    bench = (REPO / "bench" / "stack.py").read_text()
    assert "VarSet" not in bench and "RTCP" not in bench
    # ... the service never names them (its ARI event filter is built from
    # what it reads), and CDR and CEL, which could, are off.
    code = "".join(p.read_text() for p in (REPO / "controlplane").rglob("*.py"))
    for name in ("ChannelVarset", "VarSet", "RTCPSent", "RTCPReceived"):
        assert f'"{name}"' not in code, name
    assert value(sections("cdr.conf")["general"], "enable") == "no"
    assert value(sections("cel.conf")["general"], "enable") == "no"


@pytest.mark.spec("SEC-1")
def test_ari_and_http_are_on_loopback_with_only_our_user() -> None:
    http = sections("http.conf")["general"]
    assert value(http, "bindaddr") == "127.0.0.1"
    assert value(http, "tlsenable") == "no" or value(http, "tlsbindaddr")
    ari = sections("ari.conf")
    general = ari.pop("general")
    assert value(general, "allowed_origins") in (None, "")
    assert list(ari) == ["controlplane"]
    assert value(ari["controlplane"], "type") == "user"


@pytest.mark.spec("SEC-1")
def test_asterisk_runs_without_dangerous_functions_and_sip_on_loopback() -> None:
    options = sections("asterisk.conf")["options"]
    assert value(options, "live_dangerously") == "no"
    for name, entries in sections("pjsip.conf").items():
        if value(entries, "type") == "transport":
            assert (value(entries, "bind") or "").startswith("127.0.0.1:"), name
