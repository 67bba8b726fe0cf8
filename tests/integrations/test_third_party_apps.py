"""The stack works for apps instrumented only by libraries we did not write.

For each example under docs/examples/ (OpenLIT; the official OpenTelemetry openai-v2
instrumentation), in its own locked venv (conftest.py): start a native stack, add the app's
/metrics (opentelemetry-exporter-prometheus) to the native Prometheus as one more scrape job,
send chat completions to the simulator, then
  - every Prometheus panel of the LLM overview and Cost dashboards returns data, variables at
    "All", except the targets in NEEDS_OUR_METRICS (each with its reason); those of them that the
    dialect bridge (prometheus/rules/dialects.yml) feeds from the app's own series must be > 0;
  - the error-spike fault (half the app's calls fail with HTTP 500) fires LLMHighErrorRate
    for the app's model;
  - the native OTLP receiver got the app's `chat <model>` CLIENT spans, the GenAI span name the
    trace views look for, with the attributes the Tempo queries filter on.
The panel table, the time to alert, the metric dialect the app speaks and which of its dialect's
bridge rules match its series are printed (-s).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from demo_app.native import NativeStack
from demo_app.procs import free_port, poll_until, start_process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ("llm-overview", "llm-cost")


@dataclass(frozen=True)
class ExampleApp:
    name: str  # folder under docs/examples/
    model: str  # the simulator model it calls (each app its own, so labels cannot mix)
    service: str  # OTEL_SERVICE_NAME
    dialect: str = ""  # its semconv_dialect in prometheus/rules/dialects.yml, if any
    # Targets of NEEDS_OUR_METRICS that this app's own series feed through the dialect bridge:
    # asserted non-zero (the idle demo app's series are 0).
    bridged: frozenset[tuple[str, str, str]] = frozenset()


# OpenLIT's cost histogram (gen_ai_usage_cost_USD) is copied to llmapp_cost_usd_total by
# prometheus/rules/dialects.yml, by model only: the feature and tier panels show one "" series.
_OPENLIT_COST = frozenset({
    ("llm-overview", "Spend per hour", "B"),
    ("llm-cost", "Computed vs app-reported spend", "B"),
    ("llm-cost", "Spend per hour by feature", "A"),
    ("llm-cost", "Spend per hour by tier", "A"),
})
APPS = (
    ExampleApp("otel_genai_app", model="sim-medium", service="otel-genai-app"),
    ExampleApp("openlit_app", model="sim-small", service="openlit-app", dialect="openlit", bridged=_OPENLIT_COST),
)

# Dashboard targets (dashboard uid, panel title, refId) that cannot have data for an app that
# only emits the GenAI semantic-convention metrics: they read metrics of our own demo app.
# They are not asserted empty: the native stack's demo app runs idle beside the example, and
# some of its series exist at 0 from its start (the table printed by the test shows the sums).
_HTTP = "http_server_request_duration_seconds on the demo app's /v1/ask and /v1/agent routes: our app's HTTP server, not an LLM client metric"
_APP_COST = "llmapp_cost_usd_total: the cost our app reports itself, with feature/user_tier labels no GenAI instrumentation has"
NEEDS_OUR_METRICS = {
    ("llm-overview", "Requests/s", "A"): _HTTP,
    ("llm-overview", "Spend per hour", "B"): _APP_COST,
    ("llm-overview", "In flight", "A"): "llmapp_requests_in_flight: our app's in-flight gauge per route",
    ("llm-overview", "HTTP 5xx % by route", "A"): _HTTP,
    ("llm-overview", "Rate-limit events/s", "A"): "llmapp_rate_limit_events: our app's per-tier rate limiter",
    ("llm-overview", "In-flight requests by route", "A"): "llmapp_requests_in_flight: our app's in-flight gauge per route",
    ("llm-cost", "Cost per request", "A"): "divides by " + _HTTP,
    ("llm-cost", "Spend per hour by feature", "A"): _APP_COST,
    ("llm-cost", "Spend per hour by tier", "A"): _APP_COST,
    ("llm-cost", "Computed vs app-reported spend", "B"): _APP_COST,
}
LATENCY_SCALE = 0.1  # the latency alerts are not under test here; faster calls, more of them
TRAFFIC_INTERVAL_S = 0.2
ERROR_FAULT = {"kind": "error", "rate": 0.5, "value": 500, "ttl_s": 600}  # the error-spike scenario's fault
ALERT_TIMEOUT_S = 180  # for: 45s + a 1m window; seen firing in ~60 s
# The slowest panel: output tokens per call against its own average of 2 minutes ago onwards
# (mean1m_avg30m_offset2m), so it needs more than 2 minutes of traffic.
PANELS_TIMEOUT_S = 240


# --- dashboards ------------------------------------------------------------------------------


def _prometheus_targets(dashboard: dict) -> Iterator[tuple[str, str, str]]:
    """(panel title, refId, expr) of every Prometheus target, rows included."""

    def walk(panels: list[dict]) -> Iterator[tuple[str, str, str]]:
        for panel in panels:
            yield from walk(panel.get("panels") or [])
            for target in panel.get("targets") or []:
                ds = target.get("datasource") or panel.get("datasource") or {}
                if ds.get("uid") == "prometheus" and target.get("expr"):
                    yield panel["title"], target.get("refId", "A"), target["expr"]

    yield from walk(dashboard.get("panels") or [])


def _substitute(expr: str, dashboard: dict) -> str:
    """Grafana's variables as the dashboard opens: "All" (allValue), 1m rate windows, its time range."""
    range_s = {"now-1h": 3600, "now-6h": 21600, "now-15m": 900}.get(dashboard.get("time", {}).get("from"), 3600)
    values = {"__rate_interval": "1m", "__interval": "15s", "__range": f"{range_s}s", "__range_s": str(range_s)}
    for var in dashboard.get("templating", {}).get("list", []):
        values[var["name"]] = var.get("allValue") or ".*"
    for name in sorted(values, key=len, reverse=True):
        expr = re.sub(r"\$\{" + re.escape(name) + r"(:\w+)?\}", values[name], expr).replace(f"${name}", values[name])
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def _load_targets() -> list[tuple[tuple[str, str, str], str]]:
    targets = []
    for uid in DASHBOARDS:
        dashboard = json.loads((ROOT / "grafana" / "dashboards" / f"{uid}.json").read_text(encoding="utf-8"))
        targets += [((uid, title, ref), _substitute(expr, dashboard)) for title, ref, expr in _prometheus_targets(dashboard)]
    return targets


# --- Prometheus ------------------------------------------------------------------------------


def _query(prom: str, query: str) -> list[dict]:
    resp = httpx.get(f"{prom}/api/v1/query", params={"query": query}, timeout=30)
    assert resp.status_code == 200, f"{query} -> {resp.status_code} {resp.text[:300]}"
    return [r for r in resp.json()["data"]["result"] if r["value"][1] not in ("NaN", "+Inf", "-Inf")]


def _scrape_also(stack: NativeStack, job: str, target: str) -> None:
    """One more static scrape job in the stack's generated prometheus.yml, applied by /-/reload."""
    path = stack.state_dir / "prometheus.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["scrape_configs"].append({"job_name": job, "static_configs": [{"targets": [target]}]})
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    assert httpx.post(f"{stack.urls.prometheus}/-/reload", timeout=30).status_code == 200


def _firing(prom: str, alertname: str, model: str) -> bool:
    alerts = httpx.get(f"{prom}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    return any(a["labels"].get("alertname") == alertname and a["labels"].get("gen_ai_request_model") == model
               and a["state"] == "firing" for a in alerts)


def _bridge_rules(dialect: str) -> list[tuple[str, str]]:
    """(record, expr) of the bridge rules for `dialect` in prometheus/rules/dialects.yml."""
    path = ROOT / "prometheus" / "rules" / "dialects.yml"
    if not dialect or not path.exists():
        return []
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [(r["record"], r["expr"]) for g in groups for r in g["rules"]
            if (r.get("labels") or {}).get("semconv_dialect") == dialect]


def _dialect(metrics_text: str) -> list[str]:
    """What the app's exposition looks like: GenAI families, their labels and error_type values."""
    families: dict[str, set[str]] = {}
    error_types: set[str] = set()
    for line in metrics_text.splitlines():
        match = re.match(r"(gen_ai_\w+?)(_bucket|_count|_sum|_total)?\{(.*)\}", line)
        if match:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[3]))
            families.setdefault(match[1], set()).update(k for k in labels if k != "le")
            error_types.update(v for k, v in labels.items() if k == "error_type")
    lines = [f"  {name}: {', '.join(sorted(labels))}" for name, labels in sorted(families.items())]
    return [*lines, f"  error_type values: {sorted(error_types)}", f"  target_info: {'target_info{' in metrics_text}"]


# --- the test --------------------------------------------------------------------------------


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("app", APPS, ids=lambda a: a.name)
def test_dashboards_alert_and_spans_work_for_third_party_instrumentation(app, example_venv, require_tool, tmp_path):
    require_tool("prometheus")
    require_tool("prometheus-alertmanager", "alertmanager")
    python = example_venv(app.name)
    targets = _load_targets()
    stale = set(NEEDS_OUR_METRICS) - {key for key, _ in targets}
    assert not stale, f"NEEDS_OUR_METRICS names targets the dashboards no longer have: {sorted(stale)}"

    with NativeStack(tmp_path / "native", latency_scale=LATENCY_SCALE, seed=7) as stack:
        prom, job, port = stack.urls.prometheus, f"example-{app.name}", free_port()
        _scrape_also(stack, job, f"127.0.0.1:{port}")
        otlp = stack.url("otlp")
        proc = start_process(
            app.name,
            [str(python), str(ROOT / "docs" / "examples" / app.name / "app.py"), "--model", app.model,
             "--requests", "3000", "--interval", str(TRAFFIC_INTERVAL_S), "--linger", "0", "--metrics-port", str(port)],
            tmp_path / "logs",
            env={
                "OPENAI_BASE_URL": f"{stack.urls.sim}/v1",
                "OPENAI_API_KEY": "sim-key",
                "OTEL_SERVICE_NAME": app.service,
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp}/v1/traces",
                "OTEL_BSP_SCHEDULE_DELAY": "1000",
                "PYTHONPATH": "",  # nothing of ours on its path: only its own venv
            },
            ready_url=f"http://127.0.0.1:{port}/metrics",
            port=port,
            timeout=60,
        )
        try:
            traffic_started = time.monotonic()
            poll_until(lambda: _query(prom, f'gen_ai_client_operation_duration_seconds_count{{job="{job}"}}'),
                       f"Prometheus scraping {app.name}'s GenAI metrics", 60)

            # Error spike on the app's model: LLMHighErrorRate must fire for it.
            time.sleep(20)  # some error-free traffic first, as in the catalogue scenario
            resp = httpx.post(f"{stack.urls.sim}/faults", json={**ERROR_FAULT, "model": app.model}, timeout=10)
            assert resp.status_code in (200, 201), resp.text
            injected = time.monotonic()
            poll_until(lambda: _firing(prom, "LLMHighErrorRate", app.model),
                       f"LLMHighErrorRate{{gen_ai_request_model={app.model!r}}} firing", ALERT_TIMEOUT_S, interval=1)
            alert_s = time.monotonic() - injected

            # Every panel that does not need our own metrics returns data (some need minutes of history).
            expected = {key: query for key, query in targets if key not in NEEDS_OUR_METRICS}
            pending = dict(expected)
            deadline = traffic_started + PANELS_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                pending = {key: q for key, q in pending.items() if not _query(prom, q)}
                if pending:
                    time.sleep(5)
            results = {key: _query(prom, query) for key, query in targets}
            # The dashboards' $model variable (label_values of the duration histogram) lists the app's model.
            models = httpx.get(f"{prom}/api/v1/label/gen_ai_request_model/values",
                               params={"match[]": "gen_ai_client_operation_duration_seconds_count"}, timeout=10).json()["data"]
            bridges = {(record, expr): bool(_query(prom, expr)) for record, expr in _bridge_rules(app.dialect)}

            # Nothing else in the stack feeds the GenAI panels: only the example's job has those series.
            # (Scraped names only: recording rules start with gen_ai_ too, but have a colon.)
            jobs = {r["metric"].get("job") for r in _query(prom, 'count by (job) ({__name__=~"gen_ai_[a-zA-Z0-9_]*"})')}
            metrics_text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            spans = poll_until(
                lambda: [s for s in httpx.get(f"{otlp}/spans", timeout=10).json() if s["service"] == app.service] or None,
                f"{app.service}'s spans at the OTLP receiver", 30)
        finally:
            proc.stop()

    print(f"\n{app.name}: LLMHighErrorRate{{gen_ai_request_model={app.model!r}}} firing {alert_s:.0f} s after the fault")
    for (uid, title, ref), series in results.items():
        reason = NEEDS_OUR_METRICS.get((uid, title, ref))
        shown = f"data (sum {sum(float(r['value'][1]) for r in series):.4g})" if series else "no data"
        print(f"  {shown:<22} {uid} / {title} [{ref}]" + (f"  - needs our metrics: {reason}" if reason else ""))
    print(f"{app.name}'s GenAI metrics as Prometheus scrapes them:", *_dialect(metrics_text), sep="\n")
    for (record, expr), matched in bridges.items():
        print(f"  bridge ({app.dialect}) {record} <- {expr.strip()}: {'matches' if matched else 'MATCHES NOTHING from this app'}")

    assert jobs == {job}, f"GenAI series from other jobs: {jobs}"
    assert app.model in models, f"$model offers {models}"
    unbridged = [key for key in sorted(app.bridged) if sum(float(r["value"][1]) for r in results[key]) <= 0]
    assert not unbridged, f"targets the dialect bridge should feed from {app.name}, at 0 or empty: {unbridged}"
    assert not pending, "panels without data for " + app.name + ":\n" + "\n".join(f"{k}: {q}" for k, q in pending.items())

    chat = [s for s in spans if s["name"] == f"chat {app.model}"]
    assert chat, f"no 'chat {app.model}' span; names seen: {sorted({s['name'] for s in spans})}"
    for span in chat:
        assert span["kind"] == "CLIENT"
        assert span["attributes"]["gen_ai.operation.name"] == "chat"
        assert span["attributes"]["gen_ai.request.model"] == app.model
        assert span["attributes"]["gen_ai.provider.name"] == "openai"
    failed = [s for s in chat if s["status"]["code"] == "ERROR"]
    assert failed and all(s["attributes"].get("error.type") for s in failed), "failed calls must be ERROR spans with error.type"
    assert any(s["attributes"].get("gen_ai.usage.output_tokens", 0) > 0 for s in chat)
