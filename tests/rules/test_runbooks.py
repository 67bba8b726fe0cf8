"""The runbooks (demo_app/alert_sink/runbooks.md): a section per alert, every query it tells you to
run is well-formed, and the alert receiver serves them as HTML with an anchor per alert."""

from __future__ import annotations

import re

import promql_parser as pp

from demo_app.alert_sink.runbooks import RUNBOOKS_MD, anchor, render_runbooks
from demo_app.contract import load_contract

FENCE = re.compile(r"```(promql|traceql|logql)\n(.*?)```", re.S)
# Series Prometheus makes itself that a runbook may point at.
BUILTIN_SERIES = frozenset({"up", "ALERTS", "scrape_duration_seconds"})
BUILTIN_PREFIXES = ("prometheus_", "alertmanager_")


def _queries(repo_root) -> list[tuple[str, str]]:
    """(language, query) for every line of every fenced promql/traceql/logql block."""
    text = RUNBOOKS_MD.read_text(encoding="utf-8")
    return [(lang, line) for lang, body in FENCE.findall(text) for line in body.splitlines() if line.strip()]


def _selector_names(node) -> set[str]:
    if isinstance(node, pp.MatrixSelector):
        return {node.vector_selector.name}
    if isinstance(node, pp.VectorSelector):
        return {node.name}
    children = []
    if isinstance(node, pp.BinaryExpr):
        children = [node.lhs, node.rhs]
    elif isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr, pp.AggregateExpr)):
        children = [node.expr]
    elif isinstance(node, pp.Call):
        children = list(node.args)
    return set().union(*(_selector_names(c) for c in children)) if children else set()


def test_every_alert_has_a_section(alerts):
    headings = {line[3:].strip() for line in RUNBOOKS_MD.read_text().splitlines() if line.startswith("## ")}
    missing = {a.name for a in alerts} - headings
    assert not missing, f"{RUNBOOKS_MD.name} lacks `## <name>` sections for {sorted(missing)}"


def test_the_runbooks_ship_with_the_alert_receiver(repo_root):
    """The image copies only demo_app/ and installs its *.md package data: the one copy lives there."""
    assert RUNBOOKS_MD.parent == repo_root / "demo_app" / "alert_sink"
    assert "demo_app/alert_sink/runbooks.md" in (repo_root / "docs" / "runbooks.md").read_text(), "docs/ points at it"


def test_the_html_page_has_an_anchor_per_alert_and_renders_the_markdown(alerts):
    page = render_runbooks()
    for alert in alerts:
        assert f'<h2 id="{alert.name.lower()}">{alert.name}</h2>' in page, alert
    assert '<h2 id="slo-windows-demo-and-production">' in page  # GitHub's anchor rules
    assert anchor("SLO windows: demo and production") == "slo-windows-demo-and-production"
    assert "<table>" in page and '<pre><code class="language-promql">' in page and "<strong>Means.</strong>" in page
    assert "```" not in page and "\n## " not in page, "markdown left unrendered"


def test_promql_in_the_runbook_parses_and_names_real_series(repo_root, all_rules):
    known = load_contract().all_sample_names() | {r.name for r in all_rules if not r.is_alert} | BUILTIN_SERIES
    queries = [q for lang, q in _queries(repo_root) if lang == "promql"]
    assert len(queries) >= 20
    for query in queries:
        names = _selector_names(pp.parse(query))
        unknown = {n for n in names if n not in known and not n.startswith(BUILTIN_PREFIXES)}
        assert not unknown, f"{query}: {unknown} is no contract metric, recorded series or Prometheus metric"


def test_traceql_and_logql_in_the_runbook_parse(repo_root, check_logql_traceql):
    items = [{"id": f"{lang}:{i}", "lang": lang, "query": q} for i, (lang, q) in enumerate(_queries(repo_root)) if lang != "promql"]
    assert len(items) >= 20
    broken = [(r["id"], r["errors"]) for r in check_logql_traceql(items) if r["errors"]]
    assert not broken, broken


def test_the_checker_rejects_a_broken_query(check_logql_traceql):
    results = check_logql_traceql([{"id": "bad", "lang": "traceql", "query": '{ span.a = "x" && }'}])
    assert results[0]["errors"]
