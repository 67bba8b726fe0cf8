"""The scenario catalogue agrees with the rules, the contract and the budgets the project promises."""

from __future__ import annotations

import subprocess
import sys

from demo_app.contract import load_contract
from demo_app.loadgen.catalogue import (
    BUDGET_BURN_S,
    ERROR_RATE_BUDGET_S,
    SCENARIOS,
    SLO_BUDGET_S,
    THRESHOLD_BUDGET_S,
    get_scenario,
)


def test_scenario_names_are_unique():
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))


def test_every_alert_a_scenario_names_exists_in_the_rules(rule_alerts):
    for s in SCENARIOS:
        named = {a.name for a in s.expected + s.inhibited} | set(s.allowed)
        missing = named - set(rule_alerts)
        assert not missing, f"{s.name} names alerts no rule file defines: {missing}"


def test_expected_labels_are_labels_the_alert_can_carry(rule_alerts):
    """A label the alert's expression drops (or never has) would make the scenario wait forever."""
    for s in SCENARIOS:
        for alert in s.expected + s.inhibited:
            expr = rule_alerts[alert.name]["expr"]
            for label in alert.labels:
                assert label in expr or label in rule_alerts[alert.name].get("labels", {}), (s.name, alert.name, label)


def test_faults_use_kinds_and_models_the_contract_allows():
    contract = load_contract()
    kinds = contract.labels["kind"].values
    models = contract.labels["gen_ai_request_model"].values
    for s in SCENARIOS:
        for fault in s.faults:
            assert fault.kind in kinds, (s.name, fault.kind)
            assert fault.model is None or fault.model in models, (s.name, fault.model)
            assert 0 < fault.rate <= 1


def test_budgets_match_the_promise():
    for s in SCENARIOS:
        names = {a.name for a in s.expected}
        if any("SLO" in n for n in names):
            assert s.budget_s == SLO_BUDGET_S, s.name
        elif any(n.startswith("LLMBudgetBurn") for n in names):
            assert s.budget_s == BUDGET_BURN_S, s.name
        elif names == {"LLMHighErrorRate"}:
            assert s.budget_s == ERROR_RATE_BUDGET_S, s.name
        elif s.name != "baseline":
            assert s.budget_s == THRESHOLD_BUDGET_S, s.name


def test_every_threshold_alert_of_the_brief_has_a_scenario():
    fired = {a.name for s in SCENARIOS for a in s.expected}
    for name in ("LLMHighErrorRate", "LLMHighLatencyP95", "LLMCostSpike", "LLMTokenBlowup", "LLMProviderRateLimitStorm",
                 "LLMAppRateLimitRejections", "LLMQualityDrop", "LLMAvailabilitySLOFastBurn", "LLMProviderOutage",
                 "LLMBudgetBurnFast", "LLMCacheHitRatioDrop"):
        assert name in fired, name


def test_fault_bodies_always_carry_a_bounded_ttl():
    fault = get_scenario("error-spike").faults[0]
    assert fault.body(ttl_s=99999)["ttl_s"] == 3600
    assert fault.body(ttl_s=0.2)["ttl_s"] == 1
    assert fault.body(ttl_s=150)["model"] == "sim-large"


def test_cli_lists_every_scenario_with_its_alert_and_budget():
    out = subprocess.run([sys.executable, "-m", "demo_app.loadgen"], capture_output=True, text=True, check=True).stdout
    for s in SCENARIOS:
        line = next(line for line in out.splitlines() if line.startswith(s.name + " "))
        assert s.primary.name in line and f"{s.budget_s:.0f}s" in line


def test_readme_table_lists_every_scenario_and_its_alerts(repo_root):
    readme = (repo_root / "demo_app" / "loadgen" / "README.md").read_text()
    for s in SCENARIOS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| {s.name} |")), None)
        assert row is not None, f"README has no row for {s.name}"
        for alert in s.expected + s.inhibited:
            assert alert.name in row, (s.name, alert.name)
        assert f"{s.budget_s:.0f} s" in row, s.name
