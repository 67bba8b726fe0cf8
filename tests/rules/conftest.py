"""Fixtures for the rule tests: the rule files, their promtool test files, parsed rules.

Everything is read from prometheus/rules/ at test time, so a new rule file, alert or test
file is checked without touching these tests.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from demo_app.alert_sink.runbooks import RUNBOOKS_MD, heading_anchors

RULES_DIR = Path(__file__).resolve().parents[2] / "prometheus" / "rules"
RULE_FILES = sorted(RULES_DIR.glob("*.yml")) + sorted((RULES_DIR / "production").glob("*.yml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.test.yml"))
DASHBOARD_UIDS = frozenset({"llm-overview", "llm-cost", "llm-rag-quality", "llm-agents", "llm-slo", "llm-stack-health", "llm-budgets", "llm-errors"})
SEVERITIES = frozenset({"info", "warning", "critical"})
# Every runbook_url: the external label runbook_base_url, else the alert receiver's page.
RUNBOOK_PREFIX = "{{ with $externalLabels.runbook_base_url }}{{ . }}{{ else }}http://localhost:8082/runbooks{{ end }}#"
# What that renders to where the label is not set (promtool 2.42 tests cannot set one).
RUNBOOK_DEFAULT_BASE = "http://localhost:8082/runbooks"


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule and where it lives."""

    path: Path
    group: str
    raw: dict

    @property
    def name(self) -> str:
        return self.raw.get("alert") or self.raw["record"]

    @property
    def is_alert(self) -> bool:
        return "alert" in self.raw

    @property
    def expr(self) -> str:
        return str(self.raw["expr"])

    def __str__(self) -> str:
        return f"{self.path.relative_to(RULES_DIR)}:{self.name}"


def load_rules(path: Path) -> list[Rule]:
    return [Rule(path, g["name"], r) for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def rule_id(path: Path) -> str:
    return str(path.relative_to(RULES_DIR))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per rule file (`rule_file`) and per promtool test file (`rule_test_file`).

    Test modules cannot import this conftest (importlib mode), so the file lists reach
    them through these two parameters.
    """
    if "rule_file" in metafunc.fixturenames:
        metafunc.parametrize("rule_file", RULE_FILES, ids=rule_id)
    if "rule_test_file" in metafunc.fixturenames:
        metafunc.parametrize("rule_test_file", TEST_FILES, ids=rule_id)


@pytest.fixture(scope="session")
def rules_dir() -> Path:
    return RULES_DIR


@pytest.fixture(scope="session")
def alert_policy() -> dict:
    """What every alert must carry: severities, dashboard uids, the runbook URL prefix."""
    return {"severities": SEVERITIES, "dashboard_uids": DASHBOARD_UIDS, "runbook_prefix": RUNBOOK_PREFIX, "runbook_default_base": RUNBOOK_DEFAULT_BASE}


@pytest.fixture(scope="session")
def promtool(require_tool) -> str:
    return require_tool("promtool")


@pytest.fixture(scope="session")
def all_rules() -> list[Rule]:
    return [rule for path in RULE_FILES for rule in load_rules(path)]


@pytest.fixture(scope="session")
def alerts(all_rules: list[Rule]) -> list[Rule]:
    return [r for r in all_rules if r.is_alert]


@pytest.fixture(scope="session")
def test_specs() -> dict[Path, dict]:
    """{test file: its parsed YAML}."""
    return {path: yaml.safe_load(path.read_text()) for path in TEST_FILES}


@pytest.fixture(scope="session")
def runbook_anchors() -> set[str]:
    """GitHub anchors of the `## ` headings of the runbooks (lowercase, spaces to dashes)."""
    return heading_anchors(RUNBOOKS_MD.read_text(encoding="utf-8"))


def fired_in_tests(specs: dict[Path, dict]) -> Iterator[tuple[Path, str, dict]]:
    """(rule file, alert name, expected alert) for every alert a promtool test expects to fire."""
    for test_path, spec in specs.items():
        files = [(test_path.parent / f).resolve() for f in spec.get("rule_files", [])]
        for case in spec.get("tests", []):
            for check in case.get("alert_rule_test", []):
                for expected in check.get("exp_alerts") or []:
                    for rule_file in files:
                        yield rule_file, check["alertname"], expected


@pytest.fixture(scope="session")
def check_logql_traceql(repo_root: Path, require_tool) -> Callable[[list[dict[str, str]]], list[dict]]:
    """Parse LogQL/TraceQL with Grafana's own Lezer grammars (tests/stack/querycheck, Node.js).

    Takes [{"id", "lang", "query"}], returns [{"id", "lang", "errors": [...]}].
    """
    node = require_tool("node", "nodejs")
    folder = repo_root / "tests" / "stack" / "querycheck"
    if not (folder / "node_modules" / "@grafana" / "lezer-traceql").is_dir():
        pytest.fail("run `npm ci --prefix tests/stack/querycheck` (make test does it)", pytrace=False)

    def run(items: list[dict[str, str]]) -> list[dict]:
        done = subprocess.run(
            [node, str(folder / "check.mjs")], input=json.dumps(items), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"query checker failed: {done.stderr}"
        return json.loads(done.stdout)

    return run
