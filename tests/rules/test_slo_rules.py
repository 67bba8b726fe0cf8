"""The SLO rule files are what gen_slo.py makes of its table, and the table is the SRE workbook's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta

import promql_parser as pp
import yaml

# (long window, short window, burn-rate factor, for) of the SRE workbook for a 30-day budget.
WORKBOOK = {
    (timedelta(hours=1), timedelta(minutes=5), 14.4, "2m"),
    (timedelta(hours=6), timedelta(minutes=30), 6.0, "15m"),
    (timedelta(days=3), timedelta(hours=6), 1.0, "3h"),
}
DEMO_COMPRESSION = 12


def _windows(rule_file) -> set[tuple[str, timedelta, timedelta, float, str]]:
    """(alert, long, short, factor, for) of each burn alert, read from the rules themselves."""
    groups = yaml.safe_load(rule_file.read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    ranges = {}  # recorded name -> the range its error ratio uses
    for rule in rules:
        if rule.get("record", "").startswith("slo:sli_error:"):
            found = set()

            def collect(node, found=found):
                if isinstance(node, pp.MatrixSelector):
                    found.add(node.range)
                for attr in ("lhs", "rhs", "expr"):
                    if hasattr(node, attr) and not isinstance(node, pp.MatrixSelector):
                        collect(getattr(node, attr))
                for arg in getattr(node, "args", []) or []:
                    collect(arg)

            collect(pp.parse(rule["expr"]))
            assert len(found) == 1, f"{rule['record']} mixes windows {found}"
            ranges[rule["record"].replace("sli_error", "burn_rate")] = found.pop()
    out = set()
    for rule in rules:
        if "alert" in rule:
            expr = pp.parse(rule["expr"])
            assert str(expr.op) == "and", rule["alert"]
            (long_sel, factor), (short_sel, factor2) = [(side.lhs, side.rhs.val) for side in (expr.lhs, expr.rhs)]
            assert factor == factor2, f"{rule['alert']}: both windows must use the same factor"
            out.add((rule["alert"], ranges[long_sel.name], ranges[short_sel.name], factor, rule["for"]))
    return out


def _seconds(text: str) -> float:
    return pp.parse_duration(text).total_seconds()


def test_committed_files_equal_the_generator_output(rules_dir):
    result = subprocess.run([sys.executable, str(rules_dir / "gen_slo.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_check_notices_a_hand_edit(rules_dir, tmp_path):
    shutil.copy(rules_dir / "gen_slo.py", tmp_path / "gen_slo.py")
    (tmp_path / "production").mkdir()
    shutil.copy(rules_dir / "production" / "slo.yml", tmp_path / "production" / "slo.yml")
    edited = (rules_dir / "slo.yml").read_text().replace("> 14.4", "> 10", 1)
    (tmp_path / "slo.yml").write_text(edited)
    result = subprocess.run([sys.executable, str(tmp_path / "gen_slo.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "slo.yml differs" in result.stderr


def test_production_uses_the_workbook_windows_for_both_slos(rules_dir):
    found = _windows(rules_dir / "production" / "slo.yml")
    for prefix in ("LLMAvailabilitySLO", "LLMLatencySLO"):
        mine = {(lw, sw, f, d) for name, lw, sw, f, d in found if name.startswith(prefix)}
        assert mine == WORKBOOK, prefix


def test_demo_compresses_every_window_and_for_twelvefold(rules_dir):
    found = _windows(rules_dir / "slo.yml")
    expected_pairs = {(lw, sw, f) for lw, sw, f, _ in WORKBOOK if lw < timedelta(days=1)}  # no 3-day ticket
    for prefix in ("LLMAvailabilitySLO", "LLMLatencySLO"):
        mine = [(lw, sw, f, d) for name, lw, sw, f, d in found if name.startswith(prefix)]
        assert {(lw * DEMO_COMPRESSION, sw * DEMO_COMPRESSION, f) for lw, sw, f, _ in mine} == expected_pairs
        prod_for = {(lw, f): d for lw, _, f, d in WORKBOOK}
        for lw, _, f, d in mine:
            assert _seconds(d) * DEMO_COMPRESSION == _seconds(prod_for[(lw * DEMO_COMPRESSION, f)])
