"""Every rule expression parses and names only what the telemetry contract (or another rule) defines.

A rule that queries a misspelt metric or a label the app never sets evaluates to "no
data" forever: it never fires, and nothing else would notice. This walks each parsed
expression and checks each selector, matcher, `by`/`on` label and rate window.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar

import promql_parser as pp
import pytest
import yaml

from demo_app.contract import load_contract

SCRAPE_INTERVAL_S = 5  # prometheus/prometheus.yml: rate windows must cover 4 scrapes
SCRAPE_LABELS = frozenset({"job", "instance"})
# Series Prometheus itself produces, and the prefixes of Prometheus/Alertmanager metrics.
BUILTIN_SERIES = frozenset({"up"})
BUILTIN_PREFIXES = ("prometheus_", "alertmanager_")
RECORD_NAME = re.compile(r"^[a-z_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
_REGEX_META = re.compile(r"[.*+?()\[\]{}^$\\]")
_KEEP_INNER = {"topk", "bottomk", "limitk", "limit_ratio"}
# The semantic-conventions bridge: its rules record contract series from the foreign dialects'
# metrics, which are declared (with their labels) in DIALECT_METRICS.
BRIDGE_FILE = "dialects.yml"
DIALECT_LABEL = "semconv_dialect"
DIALECT_METRICS = "dialect-metrics.yaml"


def load_dialects(rules_dir) -> dict[str, dict[str, dict]]:
    """{dialect: {Prometheus family name: its declaration}} from dialect-metrics.yaml."""
    spec = yaml.safe_load((rules_dir / DIALECT_METRICS).read_text(encoding="utf-8"))["dialects"]
    return {name: {m["name"]: m for m in d["metrics"]} for name, d in spec.items()}


def _sample_names(family: str, kind: str) -> list[str]:
    return [f"{family}_{s}" for s in ("bucket", "sum", "count")] if kind == "histogram" else [family]


class _Catalogue:
    """What a selector may name: contract metrics with their labels, and recorded series."""

    def __init__(self, rules, dialects: dict[str, dict[str, dict]] | None = None) -> None:
        self.contract = load_contract()
        self.metric_labels: dict[str, set[str]] = {}
        for metric in self.contract.metrics:
            for sample in metric.sample_names:
                extra = {"le"} if sample.endswith("_bucket") else set()
                self.metric_labels[sample] = set(metric.labels) | SCRAPE_LABELS | extra
        # The foreign dialects' metrics the bridge reads (never the contract's own names).
        self.dialect_of: dict[str, str] = {}
        for dialect, metrics in (dialects or {}).items():
            for family, metric in metrics.items():
                for sample in _sample_names(family, metric["type"]):
                    assert sample not in self.metric_labels, f"{sample}: a dialect metric may not shadow a contract one"
                    extra = {"le"} if sample.endswith("_bucket") else set()
                    self.metric_labels[sample] = set(metric["labels"]) | SCRAPE_LABELS | extra
                    self.dialect_of[sample] = dialect
        self.recorded: dict[str, set[str]] = {}
        # Rules read rules of other files in any order: repeat until nothing changes.
        records = [r for r in rules if not r.is_alert]
        for _ in range(len(records) + 1):
            before = {k: set(v) for k, v in self.recorded.items()}
            for rule in records:
                labels = output_labels(pp.parse(rule.expr), self) | set(rule.raw.get("labels") or {})
                self.recorded.setdefault(rule.name, set()).update(labels)
            if before == self.recorded:
                break

    def labels_of(self, name: str) -> set[str] | None:
        if name in self.metric_labels:
            return self.metric_labels[name]
        if name in self.recorded:
            return self.recorded[name]
        if name in BUILTIN_SERIES or name.startswith(BUILTIN_PREFIXES):
            return SCRAPE_LABELS
        return None

    def bucket_boundaries(self, sample_name: str) -> set[float]:
        family = sample_name.removesuffix("_bucket")
        metric = self.contract.metric(family)
        return set(metric.buckets or ())


def _is_scalar(node) -> bool:
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        return _is_scalar(node.expr)
    if isinstance(node, pp.Call):
        return node.func.name in {"scalar", "time", "pi"}
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def output_labels(node, cat: _Catalogue) -> set[str]:
    """The label names a (sub)expression's result can carry (an over-approximation)."""
    if isinstance(node, pp.MatrixSelector):
        node = node.vector_selector
    if isinstance(node, pp.VectorSelector):
        return set(cat.labels_of(node.name) or ())
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return output_labels(node.expr, cat)
    if isinstance(node, pp.AggregateExpr):
        inner = output_labels(node.expr, cat)
        if str(node.op) in _KEEP_INNER:
            return inner
        if node.modifier is None:
            return set()
        labels = set(node.modifier.labels)
        return labels if str(node.modifier.type).endswith("By") else inner - labels
    if isinstance(node, pp.Call):
        vector_args = [a for a in node.args if not isinstance(a, (pp.StringLiteral, pp.NumberLiteral))]
        inner = set().union(*(output_labels(a, cat) for a in vector_args)) if vector_args else set()
        if node.func.name == "histogram_quantile":
            return inner - {"le"}
        if node.func.name in {"label_replace", "label_join"}:
            return inner | {node.args[1].val}
        return inner
    if isinstance(node, pp.BinaryExpr):
        lhs, rhs = output_labels(node.lhs, cat), output_labels(node.rhs, cat)
        if str(node.op) == "or":
            return lhs | rhs
        if _is_scalar(node.lhs):
            return rhs
        extra = set(node.modifier.group_labels) if node.modifier and node.modifier.group_labels else set()
        if node.modifier and str(node.modifier.card).endswith("OneToMany"):
            return rhs | extra
        return lhs | extra
    return set()


def _le_matches(value: str, op: str, boundary: float) -> bool:
    """Whether an `le` matcher selects the bucket `boundary` (as 2.x "5" or as 3.x "5.0")."""
    forms = {f"{boundary:g}", repr(float(boundary))}
    if op == "=":
        return value in forms
    return any(re.fullmatch(value, form) for form in forms)


def problems(rule, cat: _Catalogue) -> list[str]:
    """Everything wrong with one rule's expression, as readable sentences."""
    found: list[str] = []

    def visit(node) -> None:
        if isinstance(node, pp.MatrixSelector):
            if node.range < timedelta(seconds=4 * SCRAPE_INTERVAL_S):
                found.append(f"range [{node.range}] is shorter than 4 scrape intervals")
            visit(node.vector_selector)
            return
        if isinstance(node, pp.VectorSelector):
            _check_selector(node, cat, found)
            return
        if isinstance(node, pp.AggregateExpr) and node.modifier is not None:
            unknown = set(node.modifier.labels) - output_labels(node.expr, cat)
            if unknown:
                found.append(f"{node.op} by/without {sorted(unknown)}: labels the aggregated series never carry")
        if isinstance(node, pp.BinaryExpr) and node.modifier and node.modifier.matching:
            matching = set(node.modifier.matching.labels)
            for side in (node.lhs, node.rhs):
                missing = matching - output_labels(side, cat)
                if missing and str(node.modifier.matching.type).endswith("Include"):
                    found.append(f"on({', '.join(sorted(missing))}) names labels one side never carries: {side}")
        for child in _children(node):
            visit(child)

    visit(pp.parse(rule.expr))
    return found


def _children(node) -> list:
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr, pp.AggregateExpr)):
        return [node.expr]
    if isinstance(node, pp.Call):
        return list(node.args)
    return []


def _check_selector(node, cat: _Catalogue, found: list[str]) -> None:
    allowed = cat.labels_of(node.name)
    if allowed is None:
        found.append(f"{node.name}: not a contract metric, a recorded series or a Prometheus metric")
        return
    contract_metric = node.name in cat.metric_labels
    for m in node.matchers.matchers:
        op = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}[str(m.op).split(".")[-1].split("(")[0]]
        if m.name not in allowed:
            found.append(f"{node.name}{{{m.name}...}}: the series has no label {m.name}")
            continue
        if m.name == "le":
            _check_le(node.name, m.value, op, cat, found)
            continue
        label = cat.contract.labels.get(m.name)
        if not contract_metric or label is None or op in {"!=", "!~"}:
            continue
        if op == "=~" and _REGEX_META.search(m.value.replace("|", "")):
            continue  # a real pattern (5..): nothing to enumerate
        for value in m.value.split("|") if op == "=~" else [m.value]:
            if not label.allows(value):
                found.append(f"{node.name}{{{m.name}{op}{m.value!r}}}: {value!r} is not an allowed value of {m.name}")


def _check_le(name: str, value: str, op: str, cat: _Catalogue, found: list[str]) -> None:
    boundaries = cat.bucket_boundaries(name)
    hits = [b for b in boundaries if _le_matches(value, op, b)]
    if not hits:
        found.append(f"{name}{{le{op}{value!r}}} selects no bucket boundary of the contract")
    for b in hits:
        if op != "=~" or not (re.fullmatch(value, f"{b:g}") and re.fullmatch(value, repr(float(b)))):
            found.append(f"{name}{{le{op}{value!r}}} matches only one spelling of {b:g} (2.x writes {b:g}, 3.x {float(b)!r})")


@pytest.fixture(scope="module")
def dialects(rules_dir) -> dict[str, dict[str, dict]]:
    return load_dialects(rules_dir)


@pytest.fixture(scope="module")
def catalogue(all_rules, dialects) -> _Catalogue:
    return _Catalogue(all_rules, dialects)


def test_every_expression_parses(all_rules):
    for rule in all_rules:
        try:
            pp.parse(rule.expr)
        except Exception as exc:  # the parser's error types are not public
            pytest.fail(f"{rule}: {exc}")


def test_rules_name_only_contract_metrics_labels_and_values(all_rules, catalogue):
    report = {str(rule): problems(rule, catalogue) for rule in all_rules}
    report = {k: v for k, v in report.items() if v}
    assert not report, "\n".join(f"{k}: {p}" for k, v in report.items() for p in v)


def test_recording_rule_labels_take_allowed_values(all_rules, catalogue):
    """A constant series (a model's threshold or price) labelled with a model or token type the app
    never reports would never match: its `labels:` must be allowed values of the contract."""
    bad = [
        f"{rule}: {name}={value!r}"
        for rule in all_rules
        if not rule.is_alert
        for name, value in (rule.raw.get("labels") or {}).items()
        if name in catalogue.contract.labels and not catalogue.contract.labels[name].allows(str(value))
    ]
    assert not bad, bad


def test_recording_rule_names_follow_level_metric_operations(all_rules):
    """Except the bridge's, which record contract series (checked below)."""
    bad = [str(r) for r in all_rules if not r.is_alert and r.path.name != BRIDGE_FILE and not RECORD_NAME.match(r.name)]
    assert not bad, f"not level:metric:operations: {bad}"


class TestTheSemconvBridge:
    """dialects.yml records contract series, each from one declared dialect's metrics, labelled with it."""

    def test_every_bridge_rule_records_a_contract_series_from_its_own_dialect(self, all_rules, catalogue, dialects):
        contract_samples = catalogue.contract.all_sample_names()
        bridge = [r for r in all_rules if r.path.name == BRIDGE_FILE]
        assert bridge, "no rules in dialects.yml"
        for rule in bridge:
            assert rule.name in contract_samples, f"{rule}: the bridge records contract series only"
            dialect = (rule.raw.get("labels") or {}).get(DIALECT_LABEL)
            assert dialect in dialects, f"{rule}: {DIALECT_LABEL}={dialect!r} is not a dialect of {DIALECT_METRICS}"
            sources = _selector_names(pp.parse(rule.expr))
            assert sources, rule
            assert {catalogue.dialect_of.get(n) for n in sources} == {dialect}, f"{rule}: reads {sources}, not {dialect} metrics"
            suffix = next(s for s in ("_bucket", "_sum", "_count", "_total", "") if rule.name.endswith(s))
            for name in sources:  # a bucket from buckets, a counter from a counter or a histogram's sum/count
                assert suffix in {"_total", "_sum"} or name.endswith(suffix), f"{rule}: {name} is not a {suffix or 'gauge'}"

    def test_no_other_rule_file_reads_a_dialect(self, all_rules, catalogue):
        for rule in all_rules:
            if rule.path.name != BRIDGE_FILE:
                assert not _selector_names(pp.parse(rule.expr)) & set(catalogue.dialect_of), f"{rule}: read the contract names"

    def test_every_declared_name_is_the_prometheus_translation_of_its_otel_name(self, dialects):
        """dots to underscores, unit suffix (s -> seconds, {annotation} dropped, other units kept), _total."""
        units = {"s": "seconds", "1": "", "By": "bytes"}
        for metrics in dialects.values():
            for family, m in metrics.items():
                unit = re.sub(r"\{[^}]*\}", "", str(m["unit"]))
                name = re.sub(r"[^A-Za-z0-9:]+", "_", m["otel_name"])
                suffix = units.get(unit, unit)
                if suffix and not name.endswith(suffix):
                    name += f"_{suffix}"
                if m["type"] == "counter":
                    name += "_total"
                assert family == name, f"{m['otel_name']} ({m['unit']}, {m['type']}) is {name} in Prometheus, not {family}"


def _selector_names(node) -> set[str]:
    if isinstance(node, pp.MatrixSelector):
        return {node.vector_selector.name}
    if isinstance(node, pp.VectorSelector):
        return {node.name}
    return set().union(*(_selector_names(c) for c in _children(node))) if _children(node) else set()


class TestTheCheckerItself:
    """The walker catches the mistakes it exists for (so a green run means something)."""

    def _rule(self, expr: str):
        class _R:
            is_alert = True
            raw: ClassVar[dict] = {}
            expr = ""
        r = _R()
        r.expr = expr
        return r

    @pytest.mark.parametrize(
        ("expr", "needle"),
        [
            ("rate(llmapp_cost_total[1m])", "not a contract metric"),
            ('rate(llmapp_cost_usd_total{model="sim-large"}[1m])', "has no label model"),
            ('rate(llmapp_cost_usd_total{gen_ai_request_model="gpt-4"}[1m])', "not an allowed value"),
            ("rate(llmapp_cost_usd_total[10s])", "shorter than 4 scrape intervals"),
            ('rate(http_server_request_duration_seconds_bucket{le="5"}[1m])', "only one spelling"),
            ('rate(http_server_request_duration_seconds_bucket{le=~"4(\\\\.0)?"}[1m])', "no bucket boundary"),
            ("sum by (feature) (rate(gen_ai_client_operation_duration_seconds_count[1m]))", "never carry"),
            ('rate(http_server_request_duration_seconds_count{http_route=~"/v1/ask|/v2/chat"}[1m])', "not an allowed value"),
            ("a:b:c > on (slo) vector(1)", "not a contract metric"),
        ],
    )
    def test_flags(self, catalogue, expr, needle):
        assert any(needle in p for p in problems(self._rule(expr), catalogue)), problems(self._rule(expr), catalogue)

    def test_label_replace_adds_its_target_label(self, catalogue):
        expr = 'sum by (model) (label_replace(llmapp_cost_usd_total, "model", "$1", "gen_ai_request_model", "(.*)"))'
        assert problems(self._rule(expr), catalogue) == []

    def test_accepts_both_le_spellings(self, catalogue):
        expr = 'rate(http_server_request_duration_seconds_bucket{le=~"5(\\\\.0)?"}[1m])'
        assert problems(self._rule(expr), catalogue) == []
