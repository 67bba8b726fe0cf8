"""Dashboards show data where there is data: rate windows fit each series' write interval,
counters that appear only on their first increment show 0 before it, and the README describes
the dashboards' variables as they are."""

from __future__ import annotations

import re

import yaml

# Tempo's metrics generator writes its series every 15 s (metrics_generator.registry
# collection_interval, default 15s; seen on Tempo 3.0.3, stack-facts 2026-12-02).
GENERATOR_INTERVAL_S = 15
# Counters that do not exist until their first increment (seen on Loki 3.7 / Tempo 3.0;
# the app's counter has a `signal` label and no pre-created children).
ABSENT_UNTIL_FIRST = {"loki_discarded_samples_total", "tempo_discarded_spans_total", "llmapp_telemetry_dropped_total"}
ZERO_FALLBACK = re.compile(r' or on\(\) label_replace\(vector\(0\), "\w+", "none", "", ""\)$')
_UNITS = {"s": 1, "m": 60, "h": 3600}


def _seconds(duration: str) -> int:
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def _prometheus_targets(dashboards, all_panels):
    for dashboard in dashboards.values():
        for panel in all_panels(dashboard):
            for target in panel.get("targets", []):
                if (target.get("datasource") or panel.get("datasource") or {}).get("uid") == "prometheus" and target.get("expr"):
                    yield f"{dashboard['uid']} / {panel['title']}", target


def test_the_generator_interval_is_tempos_default(repo_root):
    generator = yaml.safe_load((repo_root / "tempo" / "tempo.yaml").read_text())["metrics_generator"]
    assert "collection_interval" not in (generator.get("registry") or {}), "update GENERATOR_INTERVAL_S and TRACE_METRICS_STEP"


def test_trace_metric_windows_hold_at_least_two_generator_samples(dashboards, all_panels):
    checked = 0
    for where, target in _prometheus_targets(dashboards, all_panels):
        expr = target["expr"]
        if not re.search(r"\btraces_(spanmetrics|service_graph)_\w+", expr):
            continue
        checked += 1
        # $__rate_interval is max($__interval + min step, 4 x min step) (Grafana's Prometheus data
        # source), the min step defaulting to its 5 s scrape interval: 20 s, short for a 15 s series.
        for window in re.findall(r"\[([^\]]+)\]", expr):
            shortest = 4 * _seconds(target.get("interval") or "5s") if window == "$__rate_interval" else _seconds(window)
            assert shortest >= 2 * GENERATOR_INTERVAL_S + 1, f"{where}: window [{window}] can hold a single sample"
    assert checked >= 3


def test_counters_that_can_be_absent_show_zero(dashboards, all_panels):
    checked = 0
    for where, target in _prometheus_targets(dashboards, all_panels):
        if any(name in target["expr"] for name in ABSENT_UNTIL_FIRST):
            checked += 1
            assert ZERO_FALLBACK.search(target["expr"]), f"{where}: shows No data until the first increment"
    assert checked >= 3


def test_the_readme_lists_each_dashboards_variables(dashboards, repo_root):
    rows = {}
    for line in (repo_root / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| \[[^\]]+\]\(http://localhost:3000/d/([\w-]+)\)[^|]*\|([^|]*)\|", line)
        if match:
            rows[match[1]] = set(re.findall(r"`(\w+)`", match[2]))
    actual = {d["uid"]: {v["name"] for v in d["templating"].get("list", [])} for d in dashboards.values()}
    assert rows == actual
