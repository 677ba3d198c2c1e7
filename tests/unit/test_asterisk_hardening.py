"""The Asterisk configuration the project ships (asterisk-conf/etc) is locked
down as the architecture notes ask: every listener on loopback, an AMI user
with only the classes the control plane needs (never originate, system,
command or config), only our ARI user, and `live_dangerously = no`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ETC = Path(__file__).resolve().parents[2] / "asterisk-conf" / "etc"
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
        write = set((value(entries, "write") or "").split(","))
        assert write == {"user"}, (user, write)
        read = set((value(entries, "read") or "").split(","))
        assert not read & {"all", "command", "config", "dialplan"}, (user, read)


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
