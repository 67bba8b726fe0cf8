"""Alertmanager's own tools accept the config and route every alert to its receiver."""

from __future__ import annotations

import re
import subprocess

import yaml


def _routes_test(amtool: str, config, receivers: list[str], labels: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={','.join(receivers)}"]
        + [f"{k}={v}" for k, v in labels.items()],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _alert_labels(rule: dict) -> dict[str, str]:
    """The labels the alert fires with: its name, its static labels, and the label values
    its expression selects (a model, an SLO). Per-model alerts are tried with one model."""
    labels = {"alertname": rule["alert"], **rule.get("labels", {})}
    if "gen_ai_request_model" in rule["expr"]:
        labels["gen_ai_request_model"] = "sim-large"
    labels.update(re.findall(r'\b(slo)="(\w+)"', rule["expr"]))
    return labels


def _expected_receiver(labels: dict[str, str]) -> str:
    # The routing policy: the heartbeat has its own receiver, the rest go by severity.
    return "watchdog" if labels["alertname"] == "Watchdog" else labels["severity"]


def test_config_is_valid(amtool, am_config):
    result = subprocess.run([amtool, "check-config", str(am_config)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_of_the_rules_reaches_its_receiver(amtool, am_config, rule_alerts):
    assert len(rule_alerts) >= 14
    for rule in rule_alerts:
        labels = _alert_labels(rule)
        result = _routes_test(amtool, am_config, [_expected_receiver(labels)], labels)
        assert result.returncode == 0, f"{labels}: routed to {result.stdout.strip()} {result.stderr.strip()}"


def test_the_route_cases_pass(amtool, am_config, repo_root):
    cases = yaml.safe_load((repo_root / "alertmanager" / "tests" / "routes.test.yml").read_text())["cases"]
    assert cases
    for case in cases:
        result = _routes_test(amtool, am_config, case["receivers"], case["labels"])
        assert result.returncode == 0, f"{case['name']}: got {result.stdout.strip()}"


def test_a_wrong_expectation_fails(amtool, am_config):
    """The check can fail: a critical alert does not reach the warning receiver."""
    result = _routes_test(amtool, am_config, ["warning"], {"alertname": "LLMProviderOutage", "severity": "critical"})
    assert result.returncode != 0
    assert "critical" in result.stdout
