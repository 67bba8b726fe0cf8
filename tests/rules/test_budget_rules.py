"""The budget rule files are what gen_budgets.py makes of the budgets file, with the workbook's
windows in production and demo windows that fit the 5 s scrape and the compressed month."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta

import promql_parser as pp
import yaml

from demo_app.budgets import load_budgets

# (alert, long window, short window, factor, for) in production: the SRE workbook's 30-day rows.
WORKBOOK = {
    ("LLMBudgetBurnFast", timedelta(hours=1), timedelta(minutes=5), 14.4, "2m"),
    ("LLMBudgetBurnSlow", timedelta(hours=6), timedelta(minutes=30), 6.0, "15m"),
}
MONTH = {"production": timedelta(days=30), "demo": timedelta(hours=1)}
SCRAPE = timedelta(seconds=5)
RATE_RECORD = "scope:llmapp_cost_usd:rate"


def _rules(path) -> list[dict]:
    return [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def _ranges(node) -> set[timedelta]:
    if isinstance(node, pp.MatrixSelector):
        return {node.range}
    children = []
    if isinstance(node, pp.BinaryExpr):
        children = [node.lhs, node.rhs]
    elif isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.AggregateExpr)):
        children = [node.expr]
    elif isinstance(node, pp.Call):
        children = list(node.args)
    return set().union(*(_ranges(c) for c in children)) if children else set()


def _burn_alerts(path) -> set[tuple[str, timedelta, timedelta, float, str]]:
    """(alert, long, short, factor, for) read from the rules: burn_rate<w> reads rate<w>, which reads [w]."""
    rules = _rules(path)
    window_of = {}
    for rule in rules:
        if rule.get("record", "").startswith(RATE_RECORD):
            found = _ranges(pp.parse(rule["expr"]))
            assert len(found) == 1, rule
            window_of[rule["record"]] = found.pop()
    for rule in rules:
        if rule.get("record", "").startswith("scope:llmapp_budget:burn_rate"):
            source = next(n for n in window_of if n in rule["expr"].split())
            window_of[rule["record"]] = window_of[source]
    out = set()
    for rule in rules:
        if rule.get("alert", "").startswith("LLMBudgetBurn"):
            expr = pp.parse(rule["expr"])
            assert str(expr.op) == "and", rule["alert"]
            (long_sel, f1), (short_sel, f2) = [(side.lhs.name, side.rhs.val) for side in (expr.lhs, expr.rhs)]
            assert f1 == f2, rule["alert"]
            out.add((rule["alert"], window_of[long_sel], window_of[short_sel], f1, rule["for"]))
    return out


def test_committed_files_equal_the_generator_output(rules_dir):
    result = subprocess.run([sys.executable, str(rules_dir / "gen_budgets.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_check_notices_a_hand_edit(rules_dir, tmp_path):
    shutil.copy(rules_dir / "gen_budgets.py", tmp_path / "gen_budgets.py")
    (tmp_path / "production").mkdir()
    shutil.copy(rules_dir / "production" / "budgets.yml", tmp_path / "production" / "budgets.yml")
    (tmp_path / "budgets.yml").write_text((rules_dir / "budgets.yml").read_text().replace("> 14.4", "> 10", 1))
    result = subprocess.run([sys.executable, str(tmp_path / "gen_budgets.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "budgets.yml differs" in result.stderr


def test_a_changed_budget_changes_the_rules(rules_dir, tmp_path):
    """--budgets reads another file: its numbers, not the bundled ones, are the constants."""
    bundled = yaml.safe_load((rules_dir.parents[1] / "demo_app" / "data" / "budgets.yaml").read_text())
    bundled["monthly_usd"]["total"] = 1234.5
    other = tmp_path / "budgets.yaml"
    other.write_text(yaml.safe_dump(bundled))
    result = subprocess.run(
        [sys.executable, str(rules_dir / "gen_budgets.py"), "--budgets", str(other), "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, "the committed rules were made from the bundled budgets"


def test_every_budget_of_the_file_is_a_constant_in_both_profiles(rules_dir):
    budgets = load_budgets().monthly_usd
    expected = {(scope, value, usd) for scope, values in budgets.items() for value, usd in values.items()}
    for path in (rules_dir / "budgets.yml", rules_dir / "production" / "budgets.yml"):
        found = {
            (r["labels"]["scope"], r["labels"].get("scope_value", ""), float(pp.parse(r["expr"]).args[0].val))
            for r in _rules(path)
            if r.get("record") == "scope:llmapp_budget_usd:month"
        }
        assert found == expected, path.name


def test_production_uses_the_workbook_windows(rules_dir):
    assert _burn_alerts(rules_dir / "production" / "budgets.yml") == WORKBOOK


def test_demo_keeps_the_factors_with_windows_that_fit_the_scrape_and_the_month(rules_dir):
    demo = _burn_alerts(rules_dir / "budgets.yml")
    assert {(a, f) for a, _, _, f, _ in demo} == {(a, f) for a, _, _, f, _ in WORKBOOK}
    for alert, long_w, short_w, factor, _ in demo:
        assert short_w >= 4 * SCRAPE, f"{alert}: the short window needs 4 scrapes"
        assert short_w < long_w, alert
        # The long window must end before the burn it detects would have spent the whole budget.
        assert long_w < MONTH["demo"] / factor, f"{alert}: {long_w} is longer than the time the budget lasts at {factor}x"


def test_the_spend_window_is_the_profiles_month(rules_dir):
    for profile, path in (("demo", rules_dir / "budgets.yml"), ("production", rules_dir / "production" / "budgets.yml")):
        spent = [r for r in _rules(path) if r.get("record") == "scope:llmapp_cost_usd:increase_month"]
        assert {r["labels"]["scope"] for r in spent} == {"total", "feature", "user_tier", "team"}
        assert all(_ranges(pp.parse(r["expr"])) == {MONTH[profile]} for r in spent), profile
