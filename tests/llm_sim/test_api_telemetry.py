"""The simulator's own telemetry: contract metrics, a continued trace, one safe log line per request."""

from __future__ import annotations

import json
import secrets

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo_app.contract import load_contract
from demo_app.procs import poll_until

SECRET_QUESTION = "What does Loki index? my-private-marker-7731"


def _samples(url: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("llmsim_")
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class TestMetrics:
    """llmsim_* metrics exist as the contract says, with only allowed label values."""

    def test_labels_are_the_contracts(self, client, sim, rag, add_fault) -> None:
        add_fault(kind="rate_limit", model="sim-large")
        client.chat.completions.create(model="sim-small", messages=rag("What does Loki index?"))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="sim-large", messages=rag("What does Loki index?"))
        contract = load_contract()
        samples = _samples(sim.url)
        names = {name for name, _ in samples}
        assert names == {"llmsim_requests_total", "llmsim_active_faults"}
        for name, labels in samples:
            metric = contract.metric(name)
            assert {k for k, _ in labels} == set(metric.labels), name
            for key, value in labels:
                assert contract.labels[key].allows(value), (name, key, value)

    def test_requests_counted_by_status(self, client, sim, rag, add_fault) -> None:
        before = _samples(sim.url)
        client.chat.completions.create(model="sim-medium", messages=rag("What does Tempo store?"))
        add_fault(kind="error", model="sim-medium")
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="sim-medium", messages=rag("What does Tempo store?"))
        after = _samples(sim.url)
        for status, delta in (("ok", 1), ("error", 1), ("rate_limited", 0), ("timeout", 0)):
            key = {"gen_ai_request_model": "sim-medium", "status": status}
            assert _value(after, "llmsim_requests_total", **key) - _value(before, "llmsim_requests_total", **key) == delta, status

    def test_models_file_of_the_app_does_not_change_the_simulator(self, start_sim, rag) -> None:
        """Compose gives both processes one environment: an app on the OpenAI catalogue must
        not leave the simulator with labels outside its contract (strict labels fail loudly)."""
        openai_sim = start_sim(LLM_MODELS_FILE="demo_app/data/models/openai.yaml")
        client = openai.OpenAI(base_url=f"{openai_sim.url}/v1", api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="sim-large", messages=rag("What does Loki index?"))
        samples = _samples(openai_sim.url)
        assert _value(samples, "llmsim_requests_total", gen_ai_request_model="sim-large", status="ok") == 1

    def test_active_faults_gauge_follows_ttl(self, sim, add_fault) -> None:
        add_fault(kind="latency", ttl_s=1)
        add_fault(kind="latency", ttl_s=60)
        add_fault(kind="quality_drop", ttl_s=60)
        samples = _samples(sim.url)
        assert _value(samples, "llmsim_active_faults", kind="latency") == 2
        assert _value(samples, "llmsim_active_faults", kind="quality_drop") == 1
        assert _value(samples, "llmsim_active_faults", kind="error") == 0
        poll_until(lambda: _value(_samples(sim.url), "llmsim_active_faults", kind="latency") == 1, "the 1 s fault to leave the gauge", 3, interval=0.1)


class TestTraceAndLogs:
    """The caller's trace continues into the simulator's server span; logs carry no content."""

    def test_span_continues_caller_trace(self, sim, otlp_sink, rag, add_fault) -> None:
        add_fault(kind="latency", value=0.01)
        trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
        body = {"model": "sim-small", "messages": rag(SECRET_QUESTION)}
        r = httpx.post(f"{sim.url}/v1/chat/completions", json=body, headers={"traceparent": f"00-{trace_id}-{parent}-01"}, timeout=10)
        assert r.status_code == 200
        spans = poll_until(lambda: [s for s in otlp_sink.spans(trace_id) if s["kind"] == "SERVER"], "the simulator's server span", 10)
        span = spans[0]
        assert span["service"] == "llm-sim"
        assert span["name"] == "POST /v1/chat/completions" and span["parent_span_id"] == parent
        assert span["attributes"]["gen_ai.request.model"] == "sim-small"
        assert span["attributes"]["llmsim.fault.kind"] == "latency"
        assert span["attributes"]["http.route"] == "/v1/chat/completions"

        lines = [json.loads(line) for line in sim.log().splitlines() if line.startswith("{")]
        mine = [e for e in lines if e.get("event") == "chat completion" and e.get("trace_id") == trace_id]
        assert len(mine) == 1
        event = mine[0]
        assert (event["gen_ai_request_model"], event["status"], event["fault_kind"]) == ("sim-small", "ok", "latency")
        assert event["input_tokens"] > 0 and event["output_tokens"] > 0
        everything = sim.log() + json.dumps(otlp_sink.spans()) + json.dumps(otlp_sink.logs())
        assert "my-private-marker-7731" not in everything
        assert "compressed chunks" not in everything  # nor the context or the answer
