"""pytest plugin: which spec rules the tests prove.

Each test names the rules it proves with ``@pytest.mark.spec("IN-1", ...)``.
At the end of the run ``build/spec-coverage.json`` lists, for every rule of
the catalogue, the tests that carry it and whether they passed, and one
summary line is printed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = REPO.parent / "shared" / "spec" / "voice-calls.md"
OUTPUT = REPO / "build" / "spec-coverage.json"
_RULE = re.compile(r"^- \*\*(?P<id>[A-Z]+-[0-9]+)\*\*", re.MULTILINE)


def catalogue_ids() -> list[str]:
    if not CATALOGUE.exists():
        return []
    return _RULE.findall(CATALOGUE.read_text())


class SpecCoverage:
    def __init__(self) -> None:
        self.known = catalogue_ids()
        self.tests: dict[str, list[str]] = {}  # nodeid -> rule ids
        self.outcomes: dict[str, str] = {}  # nodeid -> passed / failed / skipped

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        unknown: list[str] = []
        for item in items:
            ids = [str(a) for m in item.iter_markers("spec") for a in m.args]
            if not ids:
                continue
            if self.known:
                unknown += [f"{item.nodeid}: {i}" for i in ids if i not in self.known]
            self.tests[item.nodeid] = ids
        if unknown:
            raise pytest.UsageError(
                "spec marks naming no rule of the catalogue:\n  " + "\n  ".join(unknown)
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.tests:
            return
        previous = self.outcomes.get(report.nodeid)
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped and previous != "failed":
            self.outcomes[report.nodeid] = "skipped"
        elif report.when == "call" and report.passed and previous is None:
            self.outcomes[report.nodeid] = "passed"

    def summary(self) -> dict[str, Any]:
        rules: dict[str, dict[str, Any]] = {
            rid: {"tests": [], "passed": False} for rid in self.known
        }
        for nodeid, ids in self.tests.items():
            outcome = self.outcomes.get(nodeid, "not run")
            for rid in ids:
                entry = rules.setdefault(rid, {"tests": [], "passed": False})
                entry["tests"].append({"test": nodeid, "outcome": outcome})
        for entry in rules.values():
            outcomes = [t["outcome"] for t in entry["tests"]]
            entry["passed"] = bool(outcomes) and all(o == "passed" for o in outcomes)
        proven = sorted(r for r, e in rules.items() if e["passed"])
        return {
            "catalogue": str(CATALOGUE.relative_to(REPO.parent)) if self.known else None,
            "rules_total": len(rules),
            "rules_passed": len(proven),
            "rules": rules,
        }

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.tests:
            return
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(self.summary(), indent=2) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.tests:
            return
        s = self.summary()
        failing = sorted(r for r, e in s["rules"].items() if e["tests"] and not e["passed"])
        line = (
            f"spec coverage: {s['rules_passed']} of {s['rules_total']} rules proven by "
            f"passing tests ({OUTPUT.relative_to(REPO)})"
        )
        if failing:
            line += f"; not passing: {', '.join(failing)}"
        terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SpecCoverage(), "spec-coverage")
