"""The benchmark report reads the scenario runner's time-to-alert records correctly (bench/alerts.py).

The benchmarks themselves are measurements, not tests; this only checks that the table in
bench/results/README.md says what the records say: the latest run per scenario, the range
over all runs, and a failed run shown as failed.
"""

from __future__ import annotations

import json
import subprocess

RECORDS = [
    {"scenario": "error-spike", "expected_alert": "LLMHighErrorRate", "budget_s": 90.0, "seconds_to_pending": 12.0,
     "seconds_to_firing": 57.0, "seconds_to_delivered": 60.2, "ok": True, "started_at": "2026-11-26T01:00:00+00:00"},
    {"scenario": "error-spike", "expected_alert": "LLMHighErrorRate", "budget_s": 90.0, "seconds_to_pending": 9.5,
     "seconds_to_firing": 49.0, "seconds_to_delivered": 50.0, "ok": True, "started_at": "2026-11-26T02:00:00+00:00"},
    {"scenario": "slo-burn", "expected_alert": "LLMAvailabilitySLOFastBurn", "budget_s": 240.0, "seconds_to_pending": 30.0,
     "seconds_to_firing": None, "seconds_to_delivered": None, "ok": False, "started_at": "2026-11-26T02:10:00+00:00"},
]


def test_time_to_alert_table_shows_latest_run_range_and_failures(tmp_path, drill):
    path = tmp_path / "time-to-alert.json"
    path.write_text(json.dumps(RECORDS))
    out = subprocess.run([drill.python, "-m", "bench.alerts", str(path)], cwd=drill.root, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| scenario")}
    assert set(rows) == {"error-spike", "slo-burn"}
    _, _, pending, firing, delivered, _, ok, runs, span = rows["error-spike"]
    assert (pending, firing, delivered, ok, runs, span) == ("9.5", "49.0", "**50.0**", "yes", "2", "50.0-60.2")
    assert rows["slo-burn"][4:7] == ["**-**", "240.0", "NO"]


def test_time_to_alert_table_says_how_to_get_records(tmp_path, drill):
    out = subprocess.run([drill.python, "-m", "bench.alerts", str(tmp_path / "none.json")], cwd=drill.root,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "No runs recorded yet" in out and "--results bench/results/time-to-alert.json" in out
