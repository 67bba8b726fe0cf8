"""The PrometheusRules carry exactly the rules of prometheus/rules/ for the chosen profile,
and Prometheus' own tools accept them once extracted: `promtool check rules` on each, and
the repository's promtool unit tests run against the extracted files instead of the sources.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[2] / "prometheus" / "rules"
TESTS = sorted((RULES / "tests").glob("*.test.yml"))


def expected_sources(profile: str) -> list[str]:
    """The rule files a profile loads: production/<name> replaces <name> when it exists."""
    out = []
    for path in sorted(RULES.glob("*.yml")):
        prod = RULES / "production" / path.name
        out.append(str((prod if profile == "production" and prod.exists() else path).relative_to(RULES.parents[1])))
    return out


def extract(rules, dest: Path) -> dict[str, Path]:
    """Write each PrometheusRule's groups where its source lives, under dest/rules/."""
    written = {}
    for r in rules:
        source = r.obj["metadata"]["annotations"]["llm-obs/source"]
        path = dest / Path(source).relative_to("prometheus")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"groups": r.obj["spec"]["groups"]}, sort_keys=False))
        written[source] = path
    return written


def test_one_rule_object_per_source_file(of_kind, profile):
    sources = sorted(r.obj["metadata"]["annotations"]["llm-obs/source"] for r in of_kind("PrometheusRule"))
    assert sources == sorted(expected_sources(profile))
    if profile == "production":
        assert any("/production/" in s for s in sources), "the production profile replaced nothing"


def test_groups_equal_the_source_files(of_kind, repo_root, merged_values):
    """Rule for rule the source; only an evaluation interval is added where a group sets none."""
    interval = merged_values["prometheusRule"]["evaluationInterval"]
    for r in of_kind("PrometheusRule"):
        source = yaml.safe_load((repo_root / r.obj["metadata"]["annotations"]["llm-obs/source"]).read_text())["groups"]
        expected = [{**g, "interval": g.get("interval", interval)} for g in source]
        assert r.obj["spec"]["groups"] == expected, r


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration: str) -> float:
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * _UNITS[u] for n, u in parts)


def test_every_rate_window_holds_four_scrapes(of_kind, merged_values):
    """A window shorter than 4 scrape intervals often holds fewer than two samples: rate() is empty."""
    scrape = _seconds(merged_values["serviceMonitor"]["interval"])
    windows = {
        w
        for r in of_kind("PrometheusRule")
        for g in r.obj["spec"]["groups"]
        for rule in g["rules"]
        for w in re.findall(r"\[(\w+)(?::\w*)?\]", str(rule["expr"]))
    }
    assert windows
    shortest = min(windows, key=_seconds)
    assert _seconds(shortest) >= 4 * scrape, f"[{shortest}] holds fewer than 4 scrapes of {merged_values['serviceMonitor']['interval']}"


def test_promtool_accepts_the_extracted_rules(of_kind, promtool, tmp_path):
    for source, path in extract(of_kind("PrometheusRule"), tmp_path).items():
        done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{source}: {done.stdout}{done.stderr}"


def _run_unit_tests(rules, promtool, dest: Path) -> dict[str, subprocess.CompletedProcess]:
    """Run every promtool test file whose rule files were all extracted; {test file: result}."""
    extract(rules, dest)
    (dest / "rules" / "tests").mkdir(parents=True, exist_ok=True)
    results = {}
    for test in TESTS:
        spec = yaml.safe_load(test.read_text())
        if not all((dest / "rules" / "tests" / f).resolve().exists() for f in spec.get("rule_files", [])):
            continue
        copy = dest / "rules" / "tests" / test.name
        shutil.copy(test, copy)
        results[test.name] = subprocess.run([promtool, "test", "rules", copy.name], cwd=copy.parent, capture_output=True, text=True, timeout=300)
    return results


def test_repository_unit_tests_pass_on_the_extracted_rules(rendered_profiles, promtool, tmp_path):
    """Between them, the two profiles run every promtool test file, each on rendered rules only."""
    ran: set[str] = set()
    for profile in ("demo", "production"):
        rules = [r for r in rendered_profiles(profile) if r.kind == "PrometheusRule"]
        results = _run_unit_tests(rules, promtool, tmp_path / profile)
        assert results, f"{profile}: no test file found all its rule files"
        for name, done in results.items():
            assert done.returncode == 0 and "SUCCESS" in done.stdout, f"{profile} {name}: {done.stdout}{done.stderr}"
        ran |= set(results)
    assert ran == {t.name for t in TESTS}, f"never run on rendered rules: {sorted({t.name for t in TESTS} - ran)}"
