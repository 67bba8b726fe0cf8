"""Retries, fallback, provider errors and rate limits, driven by the simulator's fault API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from demo_app.procs import poll_until

QUESTION = {"question": "How much does the Plus plan cost?", "user_tier": "pro"}  # qa -> sim-medium


@pytest.fixture
def value(scrape, app):
    """Current value of one sample of the shared app's /metrics (0 when absent)."""

    def _value(name: str, **labels: str) -> float:
        return sum(
            s.value
            for f in scrape(app)
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    return _value


def test_failing_model_is_retried_then_falls_back(app, post, faults, value, sink) -> None:
    faults("error", model="sim-medium", rate=1.0, value=500)
    retries_before = value("llmapp_llm_retries_total", gen_ai_request_model="sim-medium", reason="server_error")
    fallbacks_before = value("llmapp_llm_fallbacks_total", gen_ai_request_model="sim-medium", fallback_model="sim-small")
    response = post(app, "/v1/ask", QUESTION)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["model"], data["fallback_used"], data["retries"]) == ("sim-small", True, 3)  # 1 + LLM_MAX_RETRIES=2 on medium
    assert value("llmapp_llm_retries_total", gen_ai_request_model="sim-medium", reason="server_error") == retries_before + 2
    assert value("llmapp_llm_fallbacks_total", gen_ai_request_model="sim-medium", fallback_model="sim-small") == fallbacks_before + 1
    assert value("gen_ai_client_operation_duration_seconds_count", gen_ai_request_model="sim-medium", error_type="InternalServerError") >= 3

    def chat_spans():
        spans = sink.spans(data["trace_id"])
        done = any(s["service"] == "demo-app" and s["kind"] == "SERVER" for s in spans)
        return [s for s in spans if s["name"].startswith("chat ")] if done else None

    spans = poll_until(chat_spans, "the chat spans of the fallback request", 20)
    assert sorted(s["name"] for s in spans) == ["chat sim-medium"] * 3 + ["chat sim-small"]
    failed = [s for s in spans if s["name"] == "chat sim-medium"]
    assert all(s["attributes"]["error.type"] == "InternalServerError" and s["status"]["code"] == "ERROR" for s in failed)


def test_provider_rate_limit_becomes_503_with_retry_after(app, post, faults, value) -> None:
    faults("rate_limit", rate=1.0, value=2)
    before = value("llmapp_rate_limit_events_total", source="provider", user_tier="pro")
    response = post(app, "/v1/ask", QUESTION)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["type"] == "provider_rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    # sim-medium then sim-small, three attempts each, every one a 429.
    assert value("llmapp_rate_limit_events_total", source="provider", user_tier="pro") == before + 6


def test_provider_errors_become_502(app, post, faults) -> None:
    faults("error", rate=1.0, value=503)
    response = post(app, "/v1/ask", QUESTION)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["type"] == "provider_error"


def test_provider_gateway_timeout_becomes_504(app, post, faults) -> None:
    faults("timeout", rate=1.0, value=0.05)
    response = post(app, "/v1/ask", QUESTION)
    assert response.status_code == 504, response.text
    assert response.json()["error"]["type"] == "provider_timeout"


def test_client_timeout_is_apitimeouterror_and_504(start_app, post, faults, scrape) -> None:
    impatient = start_app("impatient", {"LLM_TIMEOUT_S": "0.3", "LLM_MAX_RETRIES": "0", "LLM_FALLBACK_ENABLED": "false", "OTEL_SDK_DISABLED": "true"})
    faults("latency", model="sim-medium", rate=1.0, value=2)
    response = post(impatient, "/v1/ask", QUESTION)
    assert response.status_code == 504, response.text
    samples = [s for f in scrape(impatient) for s in f.samples if s.name == "gen_ai_client_operation_duration_seconds_count"]
    assert any(s.labels["error_type"] == "APITimeoutError" and s.value == 1 for s in samples)


def test_app_rate_limit_refuses_with_429(app, post, value) -> None:
    before = value("llmapp_rate_limit_events_total", source="app", user_tier="free")
    # Ten at once against the free tier (burst 5, 2/s): however slow the machine, some must wait.
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: post(app, "/v1/ask", {"question": "What is a workspace?"}), range(10)))
    refused = [r for r in responses if r.status_code == 429]
    assert refused and all(r.status_code in (200, 429) for r in responses)
    assert all(int(r.headers["retry-after"]) >= 1 and r.json()["error"]["type"] == "rate_limited" for r in refused)
    assert value("llmapp_rate_limit_events_total", source="app", user_tier="free") == before + len(refused)
