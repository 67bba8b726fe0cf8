"""The Budgets and spend dashboard: says what a budget "month" is, reads the budget rules' series,
lists expensive requests by the request span's cost attribute, and the overview links to it."""

from __future__ import annotations

import json

import yaml

from demo_app.contract import load_contract

UID = "llm-budgets"


def _targets(dashboard, all_panels):
    return [(panel, target) for panel in all_panels(dashboard) for target in panel.get("targets", [])]


def test_every_panel_on_budget_series_says_what_a_month_is(dashboards, all_panels):
    board = dashboards[f"{UID}.json"]
    assert "1 hour" in board["description"] and "30 days" in board["description"]
    checked = 0
    for panel, target in _targets(board, all_panels):
        if "scope:" in target.get("expr", ""):
            checked += 1
            assert "1 hour" in panel["description"] and "30 days" in panel["description"], panel["title"]
    assert checked >= 5


def test_the_budget_series_it_reads_are_recorded_in_both_profiles(dashboards, all_panels, repo_root):
    recorded = {}
    for profile in ("budgets.yml", "production/budgets.yml"):
        groups = yaml.safe_load((repo_root / "prometheus" / "rules" / profile).read_text())["groups"]
        recorded[profile] = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    used = {
        word.split("{")[0]
        for _, target in _targets(dashboards[f"{UID}.json"], all_panels)
        for word in target.get("expr", "").replace("(", " ").replace(")", " ").split()
        if word.startswith("scope:")
    }
    # Window-independent names only: the dashboard works with either profile loaded.
    assert used and used <= recorded["budgets.yml"] & recorded["production/budgets.yml"], used


def test_expensive_requests_come_from_the_request_spans_cost_attribute(dashboards, all_panels):
    server_span = next(s for s in load_contract().spans if s.kind == "SERVER")
    queries = [t["query"] for _, t in _targets(dashboards[f"{UID}.json"], all_panels) if t.get("queryType") == "traceql"]
    assert len(queries) == 1
    assert "span.app.cost_usd" in queries[0] and "span.app.team" in queries[0]
    assert {"app.cost_usd", "app.team"} <= set(server_span.optional)


def test_the_overview_links_to_it(dashboards):
    assert f"/d/{UID}?" in json.dumps(dashboards["llm-overview.json"])
