"""`controlplane doctor` tells which of AMI, ARI, the Stasis WebSocket and
Redis works, and exits non-zero when one does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import RUN_DIR, Stack

pytestmark = pytest.mark.integration


def doctor(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controlplane", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_reports_everything_ok_against_the_running_stack(stack: Stack) -> None:
    result = doctor(RUN_DIR / "test.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("Redis", "AMI", "ARI", "Stasis WebSocket"):
        assert any(line.startswith("OK") and name in line for line in result.stdout.splitlines()), (
            result.stdout
        )
    assert "registered (the service is up)" in result.stdout


def test_doctor_names_what_is_down(stack: Stack, tmp_path: Path) -> None:
    text = (RUN_DIR / "test.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(
        text.replace("redis://127.0.0.1:6399/0", "redis://127.0.0.1:1/0").replace(
            '"demo-ami-secret"', '"wrong-secret"'
        )
    )
    result = doctor(broken)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL") and "Redis" in line for line in lines), result.stdout
    assert any(line.startswith("FAIL") and "AMI" in line for line in lines), result.stdout
    assert any(line.startswith("OK") and "ARI" in line for line in lines), result.stdout
    assert "Redis, AMI not working" in result.stderr


def test_a_bad_config_is_refused_naming_the_key(tmp_path: Path) -> None:
    text = (RUN_DIR.parent.parent / "config" / "demo.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("max_ring_seconds = 15", 'max_ring_seconds = "fifteen"', 1))
    result = subprocess.run(
        [sys.executable, "-m", "controlplane", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "tenants.acme.queues.support.max_ring_seconds" in result.stderr
    assert str(bad) in result.stderr
