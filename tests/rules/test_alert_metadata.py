"""Every alert carries what an on-call person needs: a severity, a `for:`, a summary, a
templated description, a runbook anchor that exists and a dashboard link."""

from __future__ import annotations

import re

import yaml

# The names every helper, scenario and runbook agrees on (the project's fixed list).
AGREED_ALERTS = frozenset({
    "LLMHighErrorRate", "LLMProviderOutage", "LLMHighLatencyP95", "LLMCostSpike", "LLMTokenBlowup",
    "LLMProviderRateLimitStorm", "LLMAppRateLimitRejections", "LLMQualityDrop",
    "LLMAvailabilitySLOFastBurn", "LLMAvailabilitySLOSlowBurn", "LLMLatencySLOFastBurn",
    "LLMLatencySLOSlowBurn", "TargetDown", "Watchdog",
    "LLMBudgetBurnFast", "LLMBudgetBurnSlow", "LLMBudgetProjectedOverrun", "LLMCacheHitRatioDrop",
    "LLMNewErrorType", "LLMGuardrailBlockSurge", "LLMToolCallErrors",
})
DASHBOARD_URL = re.compile(r"^http://localhost:3000/d/(?P<uid>[a-z0-9-]+)$")
TEMPLATED = re.compile(r"\{\{[^}]*(\$value|\$labels\.\w+)[^}]*\}\}")
DURATION = re.compile(r"^(\d+[dhms])+$")
PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]+$")


def test_the_demo_rules_define_exactly_the_agreed_alerts(alerts, rules_dir):
    demo = {a.name for a in alerts if a.path.parent == rules_dir}
    production = {a.name for a in alerts if a.path.parent != rules_dir}
    assert demo == AGREED_ALERTS
    assert production <= AGREED_ALERTS


def test_every_alert_has_for_and_a_known_severity(alerts, alert_policy):
    for alert in alerts:
        assert PASCAL_CASE.match(alert.name), alert
        assert DURATION.match(str(alert.raw.get("for", ""))), f"{alert}: `for:` missing or not a duration"
        labels = alert.raw.get("labels") or {}
        assert labels.get("severity") in alert_policy["severities"], f"{alert}: severity {labels.get('severity')!r}"


def test_every_alert_has_summary_templated_description_and_links(alerts, alert_policy, runbook_anchors):
    for alert in alerts:
        notes = alert.raw.get("annotations") or {}
        assert notes.get("summary", "").strip(), f"{alert}: no summary"
        assert len(notes["summary"]) <= 120, f"{alert}: the summary is a one-liner"
        description = notes.get("description", "")
        if alert.name != "Watchdog":  # its text never changes: there is nothing to fill in
            assert TEMPLATED.search(description), f"{alert}: description shows no value or label"
        anchor = alert.name.lower()
        assert notes.get("runbook_url") == alert_policy["runbook_prefix"] + anchor, f"{alert}: runbook_url"
        assert anchor in runbook_anchors, f"{alert}: the runbooks have no `## {alert.name}` section"
        match = DASHBOARD_URL.match(notes.get("dashboard_url", ""))
        assert match and match["uid"] in alert_policy["dashboard_uids"], f"{alert}: dashboard_url {notes.get('dashboard_url')!r}"


def test_per_model_alerts_say_which_model(alerts):
    """An alert computed per model keeps the model label (routing groups by it) and names it."""
    for alert in alerts:
        if "gen_ai_request_model" in alert.expr:
            assert "$labels.gen_ai_request_model" in alert.raw["annotations"]["summary"], alert


def test_promtool_tests_expect_the_rendered_runbook_link(test_specs, alert_policy):
    """Where no external label is set (promtool 2.42 tests) the link is the alert receiver's page."""
    checked = 0
    for spec in test_specs.values():
        for case in spec.get("tests", []):
            for check in case.get("alert_rule_test", []):
                for expected in check.get("exp_alerts") or []:
                    url = expected.get("exp_annotations", {}).get("runbook_url")
                    if url is not None:
                        checked += 1
                        assert url == f"{alert_policy['runbook_default_base']}#{check['alertname'].lower()}", f"{check['alertname']}: {url}"
    assert checked >= 14


def test_prometheus_sets_the_runbook_base_and_keeps_it_off_the_alerts(repo_root, alert_policy):
    config = yaml.safe_load((repo_root / "prometheus" / "prometheus.yml").read_text())
    assert config["global"]["external_labels"]["runbook_base_url"] == alert_policy["runbook_default_base"]
    published = re.search(r"^ALERT_SINK_PORT=(\d+)$", (repo_root / ".env").read_text(), re.M)
    assert published and f"//localhost:{published[1]}/" in alert_policy["runbook_default_base"], "the port compose publishes"
    # External labels are attached to alerts before alert_relabel_configs run (both 2.42 and 3.x).
    assert {"action": "labeldrop", "regex": "runbook_base_url"} in config["alerting"]["alert_relabel_configs"]
