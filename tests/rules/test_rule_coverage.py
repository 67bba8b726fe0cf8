"""Every rule file has promtool tests, and every alert is proven to fire and to stay quiet.

Read from the test files themselves, so a new alert without a test fails here.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def _loaded_files(test_path: Path, spec: dict) -> set[Path]:
    return {(test_path.parent / f).resolve() for f in spec.get("rule_files", [])}


def _checks(specs: dict[Path, dict]):
    """(rule files loaded, alert check) for every alert_rule_test entry."""
    for path, spec in specs.items():
        for case in spec.get("tests", []):
            for check in case.get("alert_rule_test", []):
                yield _loaded_files(path, spec), check


def test_every_rule_file_has_a_test_file(rules_dir, test_specs):
    tested = set().union(*(_loaded_files(p, s) for p, s in test_specs.items()))
    rule_files = set(rules_dir.glob("*.yml")) | set((rules_dir / "production").glob("*.yml"))
    untested = {str(p.relative_to(rules_dir)) for p in rule_files} - {str(p.relative_to(rules_dir)) for p in tested}
    assert not untested, f"rule files no promtool test loads: {sorted(untested)}"


def test_every_alert_fires_in_a_test_with_its_labels_and_annotations(alerts, test_specs):
    for alert in alerts:
        severity = alert.raw["labels"]["severity"]
        fired = [
            expected
            for files, check in _checks(test_specs)
            if alert.path in files and check["alertname"] == alert.name
            for expected in check.get("exp_alerts") or []
            if expected.get("exp_labels", {}).get("severity") == severity
        ]
        assert fired, f"{alert} (severity {severity}) never fires in prometheus/rules/tests/"
        for expected in fired:
            notes = expected.get("exp_annotations", {})
            assert {"summary", "description", "runbook_url"} <= set(notes), f"{alert}: assert the annotations too"
            if "gen_ai_request_model" in alert.expr:
                assert "gen_ai_request_model" in expected["exp_labels"], f"{alert}: assert which model"


def test_every_alert_has_a_check_that_it_stays_quiet(alerts, test_specs):
    """A look-alike or the time before `for:` elapses - except the always-firing Watchdog."""
    for alert in alerts:
        if alert.expr.strip() == "vector(1)":
            continue
        quiet = [
            check
            for files, check in _checks(test_specs)
            if alert.path in files and check["alertname"] == alert.name and not check.get("exp_alerts")
        ]
        assert quiet, f"{alert} has no exp_alerts: [] check"


def test_every_test_file_orders_all_groups_it_loads(test_specs):
    """Without group_eval_order promtool evaluates groups in random order: flaky values."""
    for path, spec in test_specs.items():
        groups = [
            g["name"]
            for rule_file in spec.get("rule_files", [])
            for g in yaml.safe_load((path.parent / rule_file).read_text())["groups"]
        ]
        if len(groups) > 1:
            assert spec.get("group_eval_order") == groups, f"{path.name}: group_eval_order must list {groups}"
