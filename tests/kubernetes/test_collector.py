"""The two-tier OpenTelemetry Collector gateway is wired as the design says.

No collector binary can run here, so its configuration is checked as far as the
documented schema goes: every component a pipeline names is defined, each component's
keys are ones its README documents (the table below, read 2026-12-02), connectors join a
traces pipeline to a metrics pipeline, span metrics sit before sampling, the load balancer
routes by trace id to the sampler's headless Service, the sampler keeps errors and slow
traces and samples 1-10 % of the rest, and the span-metric relabelling yields the series
names the dashboards and Grafana's trace-to-metrics links query.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy" / "kubernetes" / "values"
PLAN = {r["name"]: r for r in yaml.safe_load((VALUES / "charts.yaml").read_text())["releases"]}

# Top-level keys each component's README documents (collector-contrib / collector core).
DOCUMENTED = {
    ("receivers", "otlp"): {"protocols"},
    ("processors", "memory_limiter"): {"check_interval", "limit_mib", "spike_limit_mib", "limit_percentage", "spike_limit_percentage"},
    ("processors", "batch"): {"send_batch_size", "timeout", "send_batch_max_size", "metadata_keys", "metadata_cardinality_limit"},
    ("processors", "tail_sampling"): {"decision_wait", "num_traces", "expected_new_traces_per_sec", "policies", "decision_cache", "sample_on_first_match"},
    ("connectors", "spanmetrics"): {
        "histogram", "dimensions", "exclude_dimensions", "dimensions_cache_size", "resource_metrics_cache_size", "aggregation_temporality",
        "namespace", "metrics_flush_interval", "metrics_expiration", "exemplars", "events", "resource_metrics_key_attributes", "delta_temporality",
    },
    ("exporters", "loadbalancing"): {"routing_key", "protocol", "resolver", "timeout", "retry_on_failure", "sending_queue"},
    ("exporters", "otlp_grpc"): {"endpoint", "tls", "timeout", "headers", "compression", "retry_on_failure", "sending_queue", "balancer_name"},
    ("exporters", "otlp_http"): {
        "endpoint", "tls", "timeout", "headers", "compression", "retry_on_failure", "sending_queue",
        "traces_endpoint", "logs_endpoint", "metrics_endpoint", "encoding",
    },
    ("exporters", "prometheus"): {
        "endpoint", "namespace", "const_labels", "send_timestamps", "metric_expiration", "enable_open_metrics",
        "resource_to_telemetry_conversion", "add_metric_suffixes",
    },
}
POLICY_TYPES = {"status_code", "latency", "probabilistic", "always_sample", "string_attribute", "numeric_attribute", "and", "composite", "rate_limiting"}
CONNECTOR_TYPES = {"spanmetrics": ("traces", "metrics")}


def _load(name: str) -> dict:
    return yaml.safe_load((VALUES / name).read_text())


def _config(name: str) -> dict:
    """The collector config of a values file, with the chart defaults we null out removed."""

    def prune(node):
        if isinstance(node, dict):
            return {k: prune(v) for k, v in node.items() if v is not None}
        return node

    return prune(_load(name)["config"])


def _ctype(component_id: str) -> str:
    return component_id.split("/", 1)[0]


@pytest.fixture(params=["otel-gateway.yaml", "otel-sampler.yaml"])
def config(request) -> dict:
    return _config(request.param)


def test_pipelines_name_defined_components_with_documented_keys(config):
    pipelines = config["service"]["pipelines"]
    assert pipelines
    for pid, pipe in pipelines.items():
        signal = _ctype(pid)
        assert signal in {"traces", "metrics", "logs"}, pid
        for role, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            for cid in pipe.get(role, []):
                where = "connectors" if cid in config.get("connectors", {}) and role != "processors" else section
                assert cid in config.get(where, {}), f"{pid}: {cid} is not defined under {where}"
                if where == "connectors":
                    src, dst = CONNECTOR_TYPES[_ctype(cid)]
                    assert signal == (src if role == "exporters" else dst), f"{cid} joins {src} to {dst}, not {signal} as {role}"
        assert pipe["processors"][:1] == ["memory_limiter"], f"{pid}: memory_limiter must come first"
    for section in ("receivers", "processors", "exporters", "connectors"):
        for cid, body in config.get(section, {}).items():
            keys = DOCUMENTED.get((section, _ctype(cid)))
            assert keys is not None, f"{section}.{cid}: no documented key table (add one from its README)"
            assert set(body or {}) <= keys, f"{section}.{cid}: undocumented keys {set(body) - keys}"


def test_every_defined_component_is_used(config):
    used = {c for p in config["service"]["pipelines"].values() for role in ("receivers", "processors", "exporters") for c in p.get(role, [])}
    for section in ("receivers", "processors", "exporters", "connectors"):
        assert set(config.get(section, {})) <= used, f"unused {section}: {set(config[section]) - used}"


class TestGateway:
    """Tier 1: span metrics from every span, then load-balancing by trace id; logs to Loki."""

    cfg = _config("otel-gateway.yaml")

    def test_span_metrics_before_any_sampling(self):
        traces = self.cfg["service"]["pipelines"]["traces"]
        assert "spanmetrics" in traces["exporters"] and "loadbalancing" in traces["exporters"]
        assert not any(_ctype(p) in {"tail_sampling", "probabilistic_sampler"} for p in traces["processors"])

    def test_routes_by_trace_id_to_the_sampler_pods(self):
        lb = self.cfg["exporters"]["loadbalancing"]
        assert lb["routing_key"] == "traceID"
        dns = lb["resolver"]["dns"]
        assert f"{dns['hostname']}:{dns['port']}" == PLAN["otel-sampler"]["services"]["otlp"]
        assert _load("otel-sampler.yaml")["service"]["clusterIP"] == "None", "the DNS resolver needs a headless Service"

    def test_logs_go_to_lokis_otlp_endpoint(self):
        (exporter,) = self.cfg["service"]["pipelines"]["logs"]["exporters"]
        endpoint = self.cfg["exporters"][exporter]["endpoint"]
        assert endpoint == f"http://{PLAN['loki']['services']['gateway']}/otlp"

    def test_apps_point_at_the_gateway(self, chart_dir):
        values = yaml.safe_load((chart_dir / "values.yaml").read_text())
        assert values["otlp"]["endpoint"] == f"http://{PLAN['otel-gateway']['services']['otlp-http']}"
        assert values["otlp"]["protocol"] == "http/protobuf"

    def test_relabelled_span_metrics_are_what_dashboards_query(self, repo_root):
        """Apply the ServiceMonitor's metricRelabelings (Prometheus semantics) to the connector's series."""
        (endpoint,) = _load("otel-gateway.yaml")["serviceMonitor"]["metricsEndpoints"]
        namespace = self.cfg["connectors"]["spanmetrics"]["namespace"].replace(".", "_")
        produced = [f"{namespace}_calls_total", *(f"{namespace}_duration_seconds_{s}" for s in ("bucket", "sum", "count"))]
        results = []
        for name in produced:
            labels = {"__name__": name, "service_name": "demo-app", "span_name": "chat sim-large"}
            for rule in endpoint["metricRelabelings"]:
                action = rule.get("action", "replace")
                if action == "labeldrop":
                    labels = {k: v for k, v in labels.items() if not re.fullmatch(rule["regex"], k)}
                    continue
                value = ";".join(labels.get(s, "") for s in rule["sourceLabels"])
                m = re.fullmatch(rule.get("regex", "(.*)"), value)
                if m:
                    labels[rule["targetLabel"]] = m.expand(rule.get("replacement", "$1").replace("$", "\\"))
            results.append(labels)
        names = {r["__name__"] for r in results}
        latency = {f"traces_spanmetrics_latency_{s}" for s in ("bucket", "sum", "count")}
        assert names == {"traces_spanmetrics_calls_total", *latency}
        assert all(r["service"] == "demo-app" and "service_name" not in r for r in results)
        queried = "\n".join(p.read_text() for p in (repo_root / "grafana" / "dashboards").glob("*.json"))
        queried += (repo_root / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
        used = set(re.findall(r"traces_spanmetrics_[a-z_]+", queried)) - {"traces_spanmetrics_"}
        assert used and used <= names, used - names

    def test_service_monitor_endpoint_matches_the_crd(self, crd_check):
        endpoint = _load("otel-gateway.yaml")["serviceMonitor"]["metricsEndpoints"][0]
        sm = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "otel-gateway"},
              "spec": {"selector": {"matchLabels": {"app": "x"}}, "endpoints": [endpoint]}}
        assert crd_check([("sm", sm)]) == {"sm": []}


class TestSampler:
    """Tier 2: keep errors and slow traces, sample the rest at 1-10 %, export to Tempo."""

    cfg = _config("otel-sampler.yaml")

    def test_policies(self):
        policies = {p["type"]: p for p in self.cfg["processors"]["tail_sampling"]["policies"]}
        assert set(policies) <= POLICY_TYPES
        assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
        assert policies["latency"]["latency"]["threshold_ms"] > 0
        assert 1 <= policies["probabilistic"]["probabilistic"]["sampling_percentage"] <= 10

    def test_decision_wait_outlasts_the_slowest_slo_bound(self):
        wait = self.cfg["processors"]["tail_sampling"]["decision_wait"]
        assert re.fullmatch(r"\d+s", wait) and int(wait[:-1]) > 10  # /v1/agent's 10 s bound (slo.yml)

    def test_kept_traces_go_to_tempo(self):
        traces = self.cfg["service"]["pipelines"]["traces"]
        assert traces["processors"] == ["memory_limiter", "tail_sampling", "batch"]
        (exporter,) = traces["exporters"]
        assert self.cfg["exporters"][exporter]["endpoint"] == PLAN["tempo"]["services"]["distributor"]
