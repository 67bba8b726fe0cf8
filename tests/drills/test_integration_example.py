"""docs/examples/minimal_openai_app.py, run as the integration guide says, emits what the contract names.

The guide's example is only worth copying if it works: run it against the simulator with the
guide's environment variables and check its /metrics (names, labels, values, exemplars) and the
spans it exports over OTLP against demo_app/contract.yaml.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from demo_app.contract import load_contract

REQUESTS = 4


def test_example_app_emits_contract_metrics_and_spans(start, start_argv, drill):
    contract = load_contract()
    sim = start("llm_sim", env=drill.sim_env("0.02"))
    sink = start("native.otlp_sink")
    port = drill.free_port()
    start_argv(
        "example",
        [drill.python, str(drill.root / "docs/examples/minimal_openai_app.py"),
         "--model", "sim-small", "--requests", str(REQUESTS), "--interval", "0", "--linger", "60"],
        env={
            "OPENAI_BASE_URL": f"{sim.url}/v1",
            "OPENAI_API_KEY": "sim-key",
            "OTEL_SERVICE_NAME": "my-llm-app",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{sink.url}/v1/traces",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{sink.url}/v1/logs",
            "METRICS_PORT": str(port),
        },
    )
    metrics_url = f"http://127.0.0.1:{port}/metrics"

    def finished() -> str | None:
        text = httpx.get(metrics_url, headers={"Accept": "application/openmetrics-text"}, timeout=5).text
        done = drill.metric_value(text, "gen_ai_client_operation_duration_seconds_count")
        return text if done >= REQUESTS else None

    text = drill.wait_for(finished, f"{REQUESTS} LLM calls on the example's /metrics", timeout=60)

    # Every family the example exposes is a contract metric, with exactly the contract's labels
    # and only values the contract allows.
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(metrics_url, timeout=5).text)}
    ours = {name: fam for name, fam in families.items() if name.startswith(("gen_ai_", "llmapp_"))}
    assert set(ours) == {"gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage", "llmapp_cost_usd"}
    for name, family in ours.items():
        metric = contract.metric(name + "_total" if family.type == "counter" else name)
        assert family.type == metric.type
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if k != "le"}
            assert set(labels) == set(metric.labels), (name, labels)
            for label, value in labels.items():
                assert contract.labels[label].allows(value), (name, label, value)
        if metric.buckets:
            bounds = sorted({float(s.labels["le"]) for s in family.samples if "le" in s.labels} - {float("inf")})
            assert tuple(bounds) == metric.buckets, name
    assert drill.metric_value(text, "gen_ai_client_token_usage_count", gen_ai_token_type="output") == REQUESTS
    assert drill.metric_value(text, "llmapp_cost_usd_total", gen_ai_request_model="sim-small") > 0

    # Exemplars on the duration histogram point at traces the sink actually received.
    exemplar_ids = {
        part.split('trace_id="')[1].split('"')[0]
        for part in text.splitlines()
        if part.startswith("gen_ai_client_operation_duration_seconds_bucket") and "# {" in part
    }
    assert exemplar_ids, "no exemplar on gen_ai_client_operation_duration_seconds"

    chat_template = next(s for s in contract.spans if s.name == "chat {gen_ai.request.model}")
    spans = drill.wait_for(
        lambda: [s for s in drill.spans_at(sink.url) if s["name"] == "chat sim-small"] or None,
        "the example's chat spans at the OTLP sink",
    )
    for span in spans:
        assert span["service"] == "my-llm-app"
        assert span["kind"] == chat_template.kind
        assert set(chat_template.required) <= set(span["attributes"])
        assert set(span["attributes"]) <= set(chat_template.required) | set(chat_template.optional)
        assert span["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert exemplar_ids <= {s["trace_id"] for s in spans}

    # Log records reached the OTLP logs endpoint with the trace id of their call.
    logs = drill.wait_for(lambda: httpx.get(f"{sink.url}/logs", timeout=5).json() or None, "log records at the sink")
    assert any(r["body"] == "llm call done" and r["trace_id"] in exemplar_ids | {s["trace_id"] for s in spans} for r in logs)
