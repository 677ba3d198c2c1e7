"""The configuration file is validated at start-up; a bad one names the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from controlplane.config import ConfigError, load_config, parse_config
from tests.support.constants import DEMO


def demo() -> dict[str, Any]:
    return tomllib.loads(DEMO.read_text())


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "bad.toml")
    return str(err.value)


def test_the_demo_config_is_valid() -> None:
    config = load_config(DEMO)
    assert config.entry_point_by_number("+8005550100") is not None
    assert config.agent_by_extension("1001") == (
        "acme",
        "alice",
        config.tenants["acme"].agents["alice"],
    )


def test_unknown_key_is_refused_with_its_path() -> None:
    data = demo()
    data["tenants"]["acme"]["queues"]["support"]["max_ring"] = 5
    msg = refused(data)
    assert msg.startswith("bad.toml: tenants.acme.queues.support.max_ring:")
    assert "Extra inputs are not permitted" in msg


def test_wrong_type_is_refused_with_its_path() -> None:
    data = demo()
    data["tenants"]["acme"]["queues"]["support"]["max_ring_seconds"] = "soon"
    assert "tenants.acme.queues.support.max_ring_seconds:" in refused(data)


def test_reference_to_an_unknown_team_is_refused() -> None:
    data = demo()
    data["tenants"]["acme"]["agents"]["alice"]["team"] = "nobody"
    msg = refused(data)
    assert "tenants.acme.agents.alice.team: unknown team 'nobody'" in msg


def test_an_extension_used_twice_is_refused() -> None:
    data = demo()
    data["tenants"]["acme"]["agents"]["bob"]["extension"] = "1001"
    assert "tenants.acme.agents.bob.extension: 1001 is used by" in refused(data)


def test_an_entry_point_number_used_twice_is_refused() -> None:
    data = demo()
    data["tenants"]["acme"]["entry_points"]["vip"]["number"] = "+8005550100"
    assert "entry_points.vip.number" in refused(data)


def test_missing_section_is_named() -> None:
    data = demo()
    del data["service"]
    assert "bad.toml: service: Field required" in refused(data)


def test_invalid_toml_is_refused_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[service\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(path)


def test_agent_token_must_name_an_agent() -> None:
    data = demo()
    data["tokens"][0].pop("agent")
    assert "tokens[0]: an agent token names its agent" in refused(data)
