"""How a run's observations become a verdict and a result record (no stack needed)."""

from __future__ import annotations

import json
import subprocess
import sys

from demo_app.loadgen.catalogue import get_scenario
from demo_app.loadgen.driver import Stats
from demo_app.loadgen.results import append_result, read_results
from demo_app.loadgen.runner import AlertTimeline, RunResult, alert_key, format_summary


def result(name: str, delivered: list[float | None], **kw) -> RunResult:
    scenario = get_scenario(name)
    timelines = [AlertTimeline(a, pending_s=1.0, firing_s=2.0, delivered_s=d) for a, d in zip(scenario.expected, delivered, strict=True)]
    return RunResult(scenario=scenario, budget_s=scenario.budget_s, started_at="2026-01-01T00:00:00.000Z", timelines=timelines, stats=Stats(), **kw)


def test_alert_key_names_the_instance_without_severity():
    assert alert_key({"alertname": "A", "severity": "warning", "gen_ai_request_model": "sim-large"}) == 'A{gen_ai_request_model="sim-large"}'
    assert alert_key({"alertname": "Watchdog", "severity": "info"}) == "Watchdog"


def test_delivered_in_budget_is_ok_and_late_is_not():
    assert result("error-spike", [40.0]).ok
    late = result("error-spike", [get_scenario("error-spike").budget_s + 5])
    assert late.delivered and not late.within_budget and not late.ok
    assert not result("error-spike", [None]).ok


def test_every_expected_alert_must_arrive_and_the_last_one_counts():
    both = result("rate-limit-storm", [30.0, 50.0])
    assert both.ok and both.seconds_to_delivered == 50.0
    assert not result("rate-limit-storm", [30.0, None]).ok


def test_side_effects_outside_the_allowed_set_fail_the_run():
    allowed = result("token-blowup", [40.0], others_fired={'LLMCostSpike{gen_ai_request_model="sim-small"}': 50.0})
    assert allowed.ok and not allowed.unexpected
    stray = result("token-blowup", [40.0], others_delivered={"LLMQualityDrop{feature=\"qa\"}": 50.0})
    assert not stray.ok and stray.unexpected == ['LLMQualityDrop{feature="qa"}']


def test_inhibition_needs_fired_suppressed_and_never_delivered():
    key = 'LLMHighErrorRate{gen_ai_request_model="sim-large"}'
    good = result("provider-outage", [40.0], inhibition={key: {"fired": True, "suppressed": True, "delivered": False}})
    leaked = result("provider-outage", [40.0], inhibition={key: {"fired": True, "suppressed": True, "delivered": True}})
    assert good.ok and not leaked.ok


def test_record_round_trips_through_the_results_file(tmp_path):
    path = tmp_path / "results.json"
    append_result(path, result("error-spike", [40.0]).record())
    append_result(path, result("latency-spike", [None]).record())
    records = read_results(path)
    assert [r["scenario"] for r in records] == ["error-spike", "latency-spike"]
    first = records[0]
    assert first["delivered"] and first["seconds_to_delivered"] == 40.0 and first["expected_alert"].startswith("LLMHighErrorRate")
    assert {"seconds_to_pending", "seconds_to_firing", "other_alerts_fired", "resolved_seconds", "machine", "ok"} <= set(first)
    json.dumps(records)  # plain JSON, nothing exotic


def test_summary_says_what_went_wrong():
    text = format_summary(result("error-spike", [None]))
    budget = get_scenario("error-spike").budget_s
    assert text.startswith("FAILED") and f"not delivered within {budget:.0f}s" in text


def test_traffic_refuses_to_run_unbounded():
    proc = subprocess.run([sys.executable, "-m", "demo_app.loadgen", "traffic", "--app-url", "http://127.0.0.1:9"], capture_output=True, text=True)
    assert proc.returncode == 2 and "stops by itself" in proc.stderr
