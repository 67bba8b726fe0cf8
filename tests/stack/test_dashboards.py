"""Dashboards: generated from source, well-formed, wired to provisioned data sources, queries parse and name real series.

Every PromQL expression must parse and use only series that exist in this stack: the
telemetry contract's metrics, the recording rules in prometheus/rules/*.yml, Tempo's
metrics-generator series, Prometheus' synthetic series, and the stack components' own
metrics listed below. LogQL and TraceQL are parsed with Grafana's own grammars.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest
import yaml

from demo_app.contract import load_contract

UIDS = {"llm-overview", "llm-cost", "llm-rag-quality", "llm-agents", "llm-slo", "llm-stack-health", "llm-errors", "llm-budgets",
        "llm-conversations"}
VARIABLES = {"model": "gen_ai_request_model", "feature": "feature", "tier": "user_tier", "error_type": "error_type"}
# Free-text variables (no label_values query): the Errors dashboard's one trace.
TEXTBOX_VARIABLES = {"trace_id", "conversation_id"}
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series

# Series written by Tempo's metrics generator (remote write), with their labels
# (Tempo 3.0 docs, "Metrics-generator": span_metrics intrinsic dimensions, service graphs).
TEMPO_GENERATED = {
    **{
        name: {"service", "span_name", "span_kind", "status_code", "status_message"}
        for name in (
            "traces_spanmetrics_calls_total",
            "traces_spanmetrics_latency_bucket",
            "traces_spanmetrics_latency_sum",
            "traces_spanmetrics_latency_count",
        )
    },
    **{
        name: {"client", "server", "connection_type"}
        for name in (
            "traces_service_graph_request_total",
            "traces_service_graph_request_failed_total",
            "traces_service_graph_request_server_seconds_bucket",
            "traces_service_graph_request_client_seconds_bucket",
        )
    },
}

# Series Prometheus makes itself: per scrape target, and per active alert.
PROMETHEUS_SYNTHETIC = {"up": set(), "scrape_duration_seconds": set()}

# The stack components' own metrics (scraped by the jobs in prometheus/prometheus.yml):
# name -> (component that exposes it, its labels).
STACK_METRICS = {
    "prometheus_tsdb_head_series": ("Prometheus", set()),
    "prometheus_rule_evaluations_total": ("Prometheus", {"rule_group"}),
    "prometheus_rule_evaluation_failures_total": ("Prometheus", {"rule_group"}),
    "prometheus_rule_group_last_duration_seconds": ("Prometheus", {"rule_group"}),
    "prometheus_rule_group_iterations_missed_total": ("Prometheus", {"rule_group"}),
    "prometheus_notifications_sent_total": ("Prometheus", {"alertmanager"}),
    "prometheus_notifications_errors_total": ("Prometheus", {"alertmanager"}),
    "prometheus_notifications_dropped_total": ("Prometheus", set()),
    "alertmanager_notifications_total": ("Alertmanager", {"integration"}),
    "alertmanager_notifications_failed_total": ("Alertmanager", {"integration", "reason"}),
    "loki_distributor_lines_received_total": ("Loki", {"tenant"}),
    "loki_distributor_bytes_received_total": ("Loki", {"tenant"}),
    "loki_discarded_samples_total": ("Loki", {"reason", "tenant"}),
    "tempo_distributor_spans_received_total": ("Tempo", {"tenant"}),
    "tempo_distributor_bytes_received_total": ("Tempo", {"tenant"}),
    "tempo_discarded_spans_total": ("Tempo", {"reason", "tenant"}),
}


# --- helpers -------------------------------------------------------------------------------


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's variables with values a parser accepts ($__rate_interval -> 1m, $model -> .*)."""
    expr = re.sub(r"\$__(rate_interval|interval|range|auto)\b", "1m", expr)
    return re.sub(r"\$\{?[A-Za-z_]\w*(?::\w+)?\}?", ".*", expr)  # ${var:format} too


def selectors_and_labels(expr: str) -> tuple[list[tuple[str, list]], set[str]]:
    """(metric name, matchers) of every vector selector, and every label named in by/on/ignoring."""
    selectors, grouping = [], set()

    def visit(node):
        # walk() also descends into a range selector's vector selector: count each once.
        if isinstance(node, promql_parser.VectorSelector):
            selectors.append((node.name, list(node.matchers.matchers)))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouping.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None and node.modifier.matching is not None:
            grouping.update(node.modifier.matching.labels)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return selectors, grouping


class Catalogue:
    """Every series name this stack produces, with the labels each may carry."""

    def __init__(self, rule_files: list[Path]):
        self.contract = load_contract()
        self.labels: dict[str, set[str]] = {}
        for metric in self.contract.metrics:
            for sample in metric.sample_names:
                extra = {"le"} if sample.endswith("_bucket") else set()
                self.labels[sample] = set(metric.labels) | TARGET_LABELS | extra
        for name, labels in TEMPO_GENERATED.items():
            self.labels[name] = labels | ({"le"} if name.endswith("_bucket") else set())
        for name, labels in PROMETHEUS_SYNTHETIC.items():
            self.labels[name] = labels | TARGET_LABELS
        for name, (_component, labels) in STACK_METRICS.items():
            self.labels[name] = labels | TARGET_LABELS
        self._add_rules(rule_files)

    def _add_rules(self, rule_files: list[Path]) -> None:
        rules = [rule for path in rule_files for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
        records = [rule for rule in rules if "record" in rule]
        # A recording rule's series carry the labels its expression outputs plus its own
        # `labels:`; rules read other rules, so resolve until nothing changes.
        for rule in records:
            self.labels.setdefault(rule["record"], set())
        changed = True
        while changed:
            changed = False
            for rule in records:
                labels = set(rule.get("labels", {})) | self.output_labels(promql_parser.parse(rule["expr"]))
                if not labels <= self.labels[rule["record"]]:
                    self.labels[rule["record"]] |= labels
                    changed = True
        alerts = [rule for rule in rules if "alert" in rule]
        self.labels["ALERTS"] = {"alertname", "alertstate"} | {
            label for rule in alerts for label in set(rule.get("labels", {})) | self._labels_of(rule["expr"])
        }

    def output_labels(self, node) -> set[str]:
        """Labels the series of a PromQL expression can carry (what `sum by`, functions, joins keep)."""
        if isinstance(node, promql_parser.VectorSelector):
            return set(self.labels.get(node.name, set()))
        if isinstance(node, (promql_parser.MatrixSelector,)):
            return self.output_labels(node.vector_selector)
        if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
            return self.output_labels(node.expr)
        if isinstance(node, promql_parser.AggregateExpr):
            if node.modifier is None:
                return set()
            if node.modifier.type == promql_parser.AggModifierType.By:
                return set(node.modifier.labels)
            return self.output_labels(node.expr) - set(node.modifier.labels)
        if isinstance(node, promql_parser.Call):
            inner = set().union(*(self.output_labels(arg) for arg in node.args)) if node.args else set()
            return inner - {"le"} if node.func.name == "histogram_quantile" else inner
        if isinstance(node, promql_parser.BinaryExpr):
            left, right = self.output_labels(node.lhs), self.output_labels(node.rhs)
            if str(node.op) == "or":
                return left | right
            # group_left(x) copies x from the right-hand side; otherwise the vector side's labels stay.
            extra = set(node.modifier.group_labels or ()) if node.modifier is not None else set()
            return (left or right) | extra
        return set()  # number and string literals

    def _labels_of(self, expr: str) -> set[str]:
        selectors, _ = selectors_and_labels(expr)
        return {label for name, _ in selectors for label in self.labels.get(name, set())} - {"le"}

    def problems(self, expr: str) -> list[str]:
        """Unknown series, labels a series cannot carry, and label values outside the contract."""
        selectors, grouping = selectors_and_labels(grafana_to_promql(expr))
        found, allowed_here = [], {"le"}
        for name, matchers in selectors:
            if name not in self.labels:
                found.append(f"unknown series {name}")
                continue
            allowed_here |= self.labels[name]
            for matcher in matchers:
                if matcher.name not in self.labels[name]:
                    found.append(f"{name} has no label {matcher.name}")
                found.extend(self._value_problems(name, matcher))
        found.extend(f"label {label} is on none of the series" for label in sorted(grouping - allowed_here))
        return found

    def _value_problems(self, name: str, matcher) -> list[str]:
        label = self.contract.labels.get(matcher.name)
        if label is None or label.values is None or matcher.name not in self.labels.get(name, set()):
            return []
        op = str(matcher.op)
        if op.endswith("Equal") or op.endswith("NotEqual"):
            candidates = [matcher.value]
        elif re.fullmatch(r"[\w/.-]+(\|[\w/.-]+)*", matcher.value):  # a plain alternation of literals
            candidates = matcher.value.split("|")
        else:
            return []
        return [f"{name}: {matcher.name}={value!r} is not an allowed value" for value in candidates if not label.allows(value)]


def queries(dashboard: dict, iter_panels) -> list[tuple[str, str, str]]:
    """(datasource uid, query text, where) for every target of every panel."""
    found = []
    for panel in iter_panels(dashboard):
        for target in panel.get("targets", []):
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            text = target.get("expr") if uid in ("prometheus", "loki") else target.get("query")
            if text:
                found.append((uid, text, f"{dashboard['uid']} / {panel.get('title')} / {target.get('refId')}"))
    return found


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(repo_root) -> Catalogue:
    rule_files = sorted((repo_root / "prometheus" / "rules").glob("*.yml"))
    assert rule_files, "no recording rules found in prometheus/rules/*.yml"
    return Catalogue(rule_files)


@pytest.fixture(scope="module")
def dashboards_src(repo_root):
    sys.path.insert(0, str(repo_root))
    try:
        from grafana import dashboards_src

        yield dashboards_src
    finally:
        sys.path.remove(str(repo_root))


@pytest.fixture(scope="module")
def provisioned_uids(repo_root) -> set[str]:
    path = repo_root / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    return {source["uid"] for source in yaml.safe_load(path.read_text())["datasources"]}


# --- generated from source -----------------------------------------------------------------


def test_committed_json_equals_the_generated_output(dashboards_src, repo_root):
    rendered = dashboards_src.render_all()
    committed = {path.name: path.read_text(encoding="utf-8") for path in (repo_root / "grafana" / "dashboards").glob("*.json")}
    assert set(rendered) == set(committed)
    for name, text in rendered.items():
        assert committed[name] == text, f"grafana/dashboards/{name} is stale: run python -m grafana.dashboards_src"


def test_check_command_reports_a_hand_edited_dashboard(repo_root, tmp_path):
    copy = tmp_path / "grafana"
    shutil.copytree(repo_root / "grafana", copy, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "grafana.dashboards_src", "--check"]
    assert subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=60).returncode == 0
    edited = copy / "dashboards" / "llm-cost.json"
    edited.write_text(edited.read_text().replace('"Cost and tokens"', '"Edited by hand"'), encoding="utf-8")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "llm-cost.json" in done.stderr


# --- structure -----------------------------------------------------------------------------


def test_the_dashboards_have_their_fixed_uids(dashboards):
    assert {name.removesuffix(".json") for name in dashboards} == UIDS
    for name, dashboard in dashboards.items():
        assert dashboard["uid"] == name.removesuffix(".json")
        assert dashboard["title"] and dashboard["description"]


def test_every_panel_has_a_title_and_a_description(dashboards, all_panels):
    for dashboard in dashboards.values():
        ids = []
        for panel in all_panels(dashboard):
            ids.append(panel["id"])
            assert panel.get("title"), f"{dashboard['uid']}: panel {panel['id']} has no title"
            if panel["type"] != "row":
                assert panel.get("description"), f"{dashboard['uid']}: {panel['title']!r} has no description"
        assert len(ids) == len(set(ids)), f"{dashboard['uid']}: duplicate panel ids"


def test_every_datasource_uid_is_provisioned(dashboards, all_panels, provisioned_uids):
    used = set()
    for dashboard in dashboards.values():
        refs = [panel.get("datasource") for panel in all_panels(dashboard)]
        refs += [target.get("datasource") for panel in all_panels(dashboard) for target in panel.get("targets", [])]
        refs += [variable.get("datasource") for variable in dashboard["templating"].get("list", [])]
        used |= {ref["uid"] for ref in refs if ref}
    assert {"prometheus", "loki", "tempo"} <= used <= provisioned_uids


def test_dashboards_link_to_each_other(dashboards):
    for dashboard in dashboards.values():
        assert "llm" in dashboard["tags"]
        assert any(link["type"] == "dashboards" and "llm" in link["tags"] and link["keepTime"] for link in dashboard["links"])


def test_template_variables_come_from_label_values_and_are_used(dashboards):
    seen = set()
    for dashboard in dashboards.values():
        text = json.dumps(dashboard.get("panels", []))
        for variable in dashboard["templating"].get("list", []):
            name = variable["name"]
            seen.add(name)
            if variable["type"] == "textbox":
                assert name in TEXTBOX_VARIABLES, name
            else:
                assert re.fullmatch(rf"label_values\(\w+, {VARIABLES[name]}\)", variable["query"]), variable["query"]
            used = f"${name}" in text or f"${{{name}:" in text  # $name, or ${name:format}
            assert used, f"{dashboard['uid']}: variable {name} is not used by any panel"
    assert seen == set(VARIABLES) | TEXTBOX_VARIABLES


def test_latency_panels_show_exemplars(dashboards, all_panels):
    # Graphs of a histogram that carries trace_id exemplars must ask for them (a dot per
    # exemplar links the spike to a trace); recording rules have none, so these read raw buckets.
    with_exemplars = {f"{m.name}_bucket" for m in load_contract().metrics if m.exemplars} | {"traces_spanmetrics_latency_bucket"}
    checked = 0
    for dashboard in dashboards.values():
        for panel in all_panels(dashboard):
            if panel["type"] != "timeseries":
                continue
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                if "histogram_quantile" in expr and {n for n, _ in selectors_and_labels(grafana_to_promql(expr))[0]} & with_exemplars:
                    checked += 1
                    assert target.get("exemplar") is True, f"{dashboard['uid']} / {panel['title']}: exemplars off"
    assert checked >= 5


def test_the_overview_covers_the_brief(dashboards, all_panels):
    overview = dashboards["llm-overview.json"]
    kinds = {panel["type"] for panel in all_panels(overview)}
    assert {"stat", "timeseries", "table", "logs"} <= kinds
    text = json.dumps(overview)
    for needle in ("ALERTS", "llmapp_cost_usd", "gen_ai_token_type", "llmapp_requests_in_flight", "llmapp_rate_limit_events"):
        assert needle in text, needle


# --- queries -------------------------------------------------------------------------------


def test_every_promql_expression_parses_and_names_real_series(dashboards, all_panels, catalogue):
    checked = 0
    for dashboard in dashboards.values():
        for uid, expr, where in queries(dashboard, all_panels):
            if uid != "prometheus":
                continue
            checked += 1
            try:
                problems = catalogue.problems(expr)
            except ValueError as error:
                problems = [f"does not parse: {error}"]
            assert not problems, f"{where}: {problems}\n  {expr}"
        for variable in (v for v in dashboard["templating"].get("list", []) if v["type"] == "query"):
            metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]).groups()
            assert label in catalogue.labels[metric], f"{dashboard['uid']}: {variable['query']}"
    assert checked >= 60


def test_the_promql_check_catches_mistakes(catalogue):
    assert catalogue.problems("sum by (gen_ai_request_model) (rate(llmapp_cost_usd_total[$__rate_interval]))") == []
    assert catalogue.problems("rate(llmapp_cost_dollars_total[1m])") == ["unknown series llmapp_cost_dollars_total"]
    assert catalogue.problems('rate(llmapp_cost_usd_total{model="x"}[1m])') == ["llmapp_cost_usd_total has no label model"]
    assert catalogue.problems('rate(llmapp_agent_tool_calls_total{outcome="oops"}[1m])')[0].endswith("not an allowed value")
    assert catalogue.problems("sum by (tenant) (rate(llmapp_cost_usd_total[1m]))") == ["label tenant is on none of the series"]
    # A recording rule keeps only the labels it aggregates by.
    assert catalogue.problems('gen_ai_request_model:llmapp_cost_usd_per_hour:rate1m{feature="qa"}') == [
        "gen_ai_request_model:llmapp_cost_usd_per_hour:rate1m has no label feature"
    ]
    with pytest.raises(ValueError):
        catalogue.problems("sum(rate(llmapp_cost_usd_total[1m])")


def test_recording_rules_used_by_dashboards_exist(dashboards, all_panels, catalogue):
    used = set()
    for dashboard in dashboards.values():
        for uid, expr, _ in queries(dashboard, all_panels):
            if uid == "prometheus":
                used |= {name for name, _ in selectors_and_labels(grafana_to_promql(expr))[0] if ":" in name}
    assert len(used) >= 15  # the expensive panels read recording rules
    assert used <= set(catalogue.labels)


def test_logql_and_traceql_parse_with_grafanas_grammars(dashboards, all_panels, check_queries):
    items = []
    for dashboard in dashboards.values():
        for uid, text, where in queries(dashboard, all_panels):
            if uid in ("loki", "tempo"):
                items.append({"id": where, "lang": "logql" if uid == "loki" else "traceql", "query": grafana_to_promql(text)})
    assert {item["lang"] for item in items} == {"logql", "traceql"}
    # Deliberately broken queries: the checker must report them, or it proves nothing.
    items.append({"id": "broken logql", "lang": "logql", "query": '{service_name="demo-app" | json'})
    items.append({"id": "broken traceql", "lang": "traceql", "query": '{ span.gen_ai.operation.name = "chat" && }'})
    results = {result["id"]: result["errors"] for result in check_queries(items)}
    assert results.pop("broken logql") and results.pop("broken traceql")
    assert {where: errors for where, errors in results.items() if errors} == {}


def test_cost_panels_say_which_spend_they_show(dashboards, all_panels):
    """Spend by model is computed from token usage x catalogue prices (any app); a panel that reads
    the app's own llmapp_cost_usd_total (the only source with feature and tier) says so."""
    computed = "gen_ai_client_token_usage_cost_usd_per_hour"
    price = "llm_model_price_usd_per_token"
    reads = {"computed": 0, "app": 0}
    for name in ("llm-cost.json", "llm-overview.json"):
        for panel in all_panels(dashboards[name]):
            exprs = " ".join(target.get("expr", "") for target in panel.get("targets", []))
            if "llmapp_cost_usd" in exprs:
                reads["app"] += 1
                assert "llmapp_cost_usd_total" in panel["description"], f"{name} / {panel['title']}: say it is the app's own cost"
            if computed in exprs or price in exprs:
                reads["computed"] += 1
                assert "catalogue" in panel["description"], f"{name} / {panel['title']}: say where the prices come from"
            if panel["title"] == "Spend per hour by model":
                assert computed in exprs and "llmapp_cost" not in exprs, f"{name}: by model reads the computed cost"
    assert reads["computed"] >= 8 and reads["app"] >= 3, reads


def test_errors_dashboard_finds_the_logs_of_a_shortened_trace_id(dashboards, all_panels, check_queries):
    """The failed-traces table sets var-trace_id to a trace id Tempo may give without its leading
    zeros; the error-log query, filled in as Grafana does (${trace_id:raw}: as typed), must parse
    and still match the 32-character id Loki stores."""
    errors = dashboards["llm-errors.json"]
    (logs,) = [p for p in all_panels(errors) if p["type"] == "logs"]
    template = logs["targets"][0]["expr"]
    (traces,) = [p for p in all_panels(errors) if p["title"] == "Failed traces"]
    assert any("var-trace_id=${__data.fields.traceID}" in link["url"] for link in traces["fieldConfig"]["defaults"]["links"])
    stored = "000f1e2d3c4b5a69788796a5b4c3d2e1"
    for given in (stored, stored.lstrip("0"), ".*"):
        query = template.replace("${trace_id:raw}", given).replace("$error_type", ".*")
        (result,) = check_queries([{"id": given, "lang": "logql", "query": query}])
        assert result["errors"] == [], query
        regex = re.search(r'trace_id=~"([^"]*)"', query).group(1)
        assert re.fullmatch(regex, stored), (given, regex)  # LogQL regexes are anchored, like fullmatch
    assert not re.fullmatch("0*" + stored.lstrip("0"), "1" + stored[1:])


def test_errors_dashboard_covers_the_brief(dashboards, all_panels):
    """Error ratio by model, feature and error type; first/last seen per type; error logs; failed traces."""
    errors = dashboards["llm-errors.json"]
    panels = list(all_panels(errors))
    text = json.dumps(panels)
    for needle in ("by (gen_ai_request_model, error_type)", "by (feature, error_type)", "min_over_time", "max_over_time"):
        assert needle in text, needle
    kinds = {p["type"] for p in panels}
    assert {"logs", "table", "timeseries", "stat"} <= kinds
    traceql = [t["query"] for p in panels for t in p.get("targets", []) if (t.get("datasource") or p.get("datasource") or {}).get("uid") == "tempo"]
    assert traceql and all("status = error" in q for q in traceql)
    overview = json.dumps(dashboards["llm-overview.json"])
    assert "/d/llm-errors" in overview
