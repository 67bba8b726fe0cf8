"""Prometheus' own checker accepts the config and every rule file, and the rule unit tests pass."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_prometheus_config_is_valid_and_loads_the_demo_rules(promtool, repo_root):
    result = _run([promtool, "check", "config", str(repo_root / "prometheus" / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    # rule_files is relative to the config file: the checker must have found them all.
    demo_files = sorted(p.name for p in (repo_root / "prometheus" / "rules").glob("*.yml"))
    for name in demo_files:
        assert f"rules/{name}" in result.stdout, f"{name} not loaded by prometheus.yml:\n{result.stdout}"
    assert "production" not in result.stdout, "the production SLO file must not be loaded with the demo one"


def test_rule_file_is_valid(promtool, rule_file):
    result = _run([promtool, "check", "rules", str(rule_file)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool, rule_test_file):
    # Run from the test file's folder, as a user would, so relative rule_files resolve.
    result = _run([promtool, "test", "rules", rule_test_file.name], cwd=rule_test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_tests_fail_when_a_rule_changes(promtool, rules_dir, tmp_path):
    """The unit tests can fail: a threshold moved in a copy of the rules breaks them."""
    rules_copy = tmp_path / "rules"
    (rules_copy / "tests").mkdir(parents=True)
    src_dir = rules_dir
    for name in ("llm-recording.yml", "models.yml", "llm-alerts.yml"):
        (rules_copy / name).write_text((src_dir / name).read_text())
    alerts = rules_copy / "llm-alerts.yml"
    text = alerts.read_text()
    assert "ratio_rate1m > 0.05" in text
    alerts.write_text(text.replace("ratio_rate1m > 0.05", "ratio_rate1m > 0.5", 1))
    test_file = rules_copy / "tests" / "llm-alerts.test.yml"
    test_file.write_text((src_dir / "tests" / "llm-alerts.test.yml").read_text())
    result = _run([promtool, "test", "rules", test_file.name], cwd=test_file.parent)
    assert result.returncode != 0
    assert "LLMHighErrorRate" in result.stdout + result.stderr
    assert "FAILED" in result.stdout + result.stderr, "the tests ran and failed (not a rule file left out of the copy)"
