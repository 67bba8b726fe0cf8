"""The app runs unchanged against any OpenAI-compatible server, not only the simulator.

The server here is written in this file (stdlib http.server, no simulator code) and serves
only the documented core of chat completions, with the quirks real servers have: dated or
tagged model names in answers, no `system_fingerprint`, usage in stream chunks only when
asked (and never for one model), 404 for an unknown model, error bodies that are not
OpenAI-shaped, `Retry-After` absent or an HTTP date, a model that refuses `tools`. The app
gets a catalogue of other model names (gpt-4o-mini, llama3.2, ...) through LLM_MODELS_FILE.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from demo_app.native.otlp_sink import OtlpSink
from demo_app.procs import Proc, poll_until

CATALOGUE = """
defaults: {models: {qa: gpt-4o-mini, summarize: llama3.2, support: gpt-4o-mini, agent: llama3.2}}
models:
  gpt-4o-mini: {provider: openai, price_per_million: {input: 0.15, output: 0.60, cached_input: 0.075}}
  llama3.2: {provider: ollama, price_per_million: {input: 0, output: 0}}
  unpriced: {provider: openai}
  gone: {provider: openai, fallback: llama3.2}
  gone-for-good: {provider: openai}
  busy: {provider: openai}
  busy-until: {provider: openai}
  broken: {provider: openai}
  no-tools: {provider: openai}
"""
QUESTION = "How do I share a page?"
# As tests/app/conftest.py's APP_ENV (test modules do not import conftest): fast retries.
APP_ENV = {
    "TELEMETRY_STRICT_LABELS": "true", "LLM_RETRY_BACKOFF_S": "0.02", "LLM_RETRY_AFTER_CAP_S": "0.05", "LLM_TIMEOUT_S": "5",
    "RATE_LIMIT_PRO_PER_S": "1000", "RATE_LIMIT_PRO_BURST": "1000",
}
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100"}
USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200, "prompt_tokens_details": {"cached_tokens": 400}}


class _Provider(BaseHTTPRequestHandler):
    """POST /v1/chat/completions, behaving per requested model."""

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body.get("model")
        if model in {"gone", "gone-for-good"}:  # Ollama's shape, not OpenAI's
            return self._send(404, json.dumps({"error": f'model "{model}" not found, try pulling it first'}).encode())
        if model == "busy":
            return self._send(429, b"slow down", "text/plain")  # no Retry-After at all
        if model == "busy-until":
            until = email.utils.formatdate(time.time() + 30, usegmt=True)
            return self._send(429, b"<html>rate limited</html>", "text/html", {"Retry-After": until})
        if model == "broken":
            return self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
        if model == "no-tools" and "tools" in body:
            return self._send(400, json.dumps({"detail": "this model does not support tools"}).encode())
        # Answers name the exact version, as real providers do.
        answered = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "llama3.2": "llama3.2:latest"}.get(model, model)
        text = "Open the page, choose Share and invite people by email [kb-001]."
        with_usage = model != "llama3.2"  # llama3.2 never reports usage
        if body.get("stream"):
            return self._stream(answered, text, with_usage and bool((body.get("stream_options") or {}).get("include_usage")))
        answer = {
            "id": "cmpl-1", "object": "chat.completion", "created": int(time.time()), "model": answered,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        if with_usage:
            answer["usage"] = USAGE
        self._send(200, json.dumps(answer).encode())

    def _stream(self, model: str, text: str, with_usage: bool) -> None:
        def chunk(delta: dict, finish: str | None = None, **extra: object) -> bytes:
            choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta or finish else []
            data = {"id": "cmpl-2", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": choices, **extra}
            return f"data: {json.dumps(data)}\n\n".encode()

        parts = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": w + " "}) for w in text.split()), chunk({}, "stop")]
        if with_usage:
            parts.append(chunk({}, usage=USAGE))
        self._send(200, b"".join([*parts, b"data: [DONE]\n\n"]), "text/event-stream")


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def other_app(launch: Callable[..., Proc], provider: str, sink: OtlpSink, tmp_path_factory: pytest.TempPathFactory) -> Proc:
    """The app against the test server, with a catalogue of other model names."""
    models = tmp_path_factory.mktemp("catalogue") / "models.yaml"
    models.write_text(CATALOGUE, encoding="utf-8")
    env = {
        **APP_ENV, **FAST_EXPORT, "LLM_BASE_URL": provider, "LLM_MODELS_FILE": str(models), "LLM_API_KEY": "not-a-real-key",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "MAX_TEXT_CHARS": "500",
    }
    return launch("app", env, tmp_path_factory.mktemp("other-app-logs"))


def _ask(app: Proc, **body: object) -> httpx.Response:
    return httpx.post(f"{app.url}/v1/ask", json={"question": QUESTION, "user_tier": "pro", **body}, timeout=30)


def _value(app: Proc, sample: str, **labels: str) -> float:
    """Sum of the /metrics samples named `sample` whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{app.url}/metrics", timeout=5).text
    return sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_answers_with_catalogue_models(other_app: Proc) -> None:
    plain, streamed = _ask(other_app), _ask(other_app, stream=True, feature="summarize")
    assert plain.status_code == 200 and streamed.status_code == 200, (plain.text, streamed.text)
    assert plain.json()["model"] == "gpt-4o-mini-2024-07-18" and "Share" in plain.json()["answer"]
    assert plain.json()["usage"] == {"input_tokens": 1000, "output_tokens": 200}
    # 600 input at 0.15, 400 cached at 0.075, 200 output at 0.60 USD per 1M tokens.
    assert plain.json()["cost_usd"] == pytest.approx((600 * 0.15 + 400 * 0.075 + 200 * 0.60) / 1e6)
    assert streamed.json()["model"] == "llama3.2:latest" and "Share" in streamed.json()["answer"]
    assert streamed.json()["usage"] == {"input_tokens": 0, "output_tokens": 0}  # never reported: unknown, not invented


def test_metrics_carry_catalogue_names_not_provider_strings(other_app: Proc) -> None:
    for body in ({}, {"stream": True}, {"stream": True, "feature": "summarize"}):  # gpt-4o-mini streams usage when asked
        assert _ask(other_app, **body).status_code == 200
    count = "gen_ai_client_operation_duration_seconds_count"
    assert _value(other_app, count, gen_ai_request_model="gpt-4o-mini", gen_ai_response_model="gpt-4o-mini", gen_ai_provider_name="openai") >= 2
    assert _value(other_app, count, gen_ai_request_model="llama3.2", gen_ai_response_model="llama3.2", gen_ai_provider_name="ollama") >= 1
    tokens = "gen_ai_client_token_usage_sum"
    assert _value(other_app, tokens, gen_ai_request_model="gpt-4o-mini", gen_ai_token_type="input") >= 2000  # plain + streamed
    assert _value(other_app, "gen_ai_client_token_usage_count", gen_ai_request_model="llama3.2") == 0  # no usage, no 0s
    assert _value(other_app, "llmapp_cost_usd_total", gen_ai_request_model="gpt-4o-mini") > 0
    text = httpx.get(f"{other_app.url}/metrics", timeout=5).text
    assert "2024-07-18" not in text and "llama3.2:latest" not in text and "sim-" not in text


def test_unpriced_model_costs_zero_warns_once_and_is_counted(other_app: Proc) -> None:
    before = _value(other_app, "llmapp_unpriced_responses_total", gen_ai_request_model="unpriced")
    for _ in range(2):
        response = _ask(other_app, model="unpriced")
        assert response.status_code == 200 and response.json()["cost_usd"] == 0
    assert _value(other_app, "llmapp_unpriced_responses_total", gen_ai_request_model="unpriced") == before + 2
    warnings = [line for line in other_app.log().splitlines() if "has no price" in line and '"unpriced"' in line]
    assert len(warnings) == 1, warnings


def test_chat_spans_name_the_catalogue_model(other_app: Proc, sink: OtlpSink) -> None:
    trace_id = _ask(other_app).json()["trace_id"]
    chat = poll_until(lambda: next((s for s in sink.spans(trace_id) if s["name"].startswith("chat ")), None), "chat span", 20)
    assert chat["name"] == "chat gpt-4o-mini" and chat["kind"] == "CLIENT"
    attrs = chat["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"  # the exact answer, on the span only
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1000, 200)


def test_a_model_outside_the_catalogue_is_a_422_listing_the_valid_ones(other_app: Proc) -> None:
    response = _ask(other_app, model="sim-large")
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert all(name in message for name in ("gpt-4o-mini", "llama3.2", "no-tools")), message


def test_schema_and_limits_follow_the_settings(other_app: Proc) -> None:
    schema = httpx.get(f"{other_app.url}/openapi.json", timeout=5).json()["components"]["schemas"]
    assert schema["AskRequest"]["properties"]["question"]["maxLength"] == 500  # MAX_TEXT_CHARS, not a hard-coded 4000
    assert schema["AskRequest"]["properties"]["model"]["anyOf"][0]["enum"][:2] == ["gpt-4o-mini", "llama3.2"]
    assert schema["AgentRequest"]["properties"]["task"]["maxLength"] == 500
    assert _ask(other_app, question="x" * 501).status_code == 422
    assert _ask(other_app, question="share " * 83).status_code == 200  # 498 characters


def test_404_falls_back_at_once_then_maps_to_502(other_app: Proc) -> None:
    fell_back = _ask(other_app, model="gone")
    assert fell_back.status_code == 200 and fell_back.json()["fallback_used"] and fell_back.json()["retries"] == 1  # no retry of a 404
    assert _value(other_app, "llmapp_llm_fallbacks_total", gen_ai_request_model="gone", fallback_model="llama3.2") >= 1
    failed = _ask(other_app, model="gone-for-good")
    assert failed.status_code == 502 and failed.json()["error"]["type"] == "provider_model_not_found"
    assert _value(other_app, "gen_ai_client_operation_duration_seconds_count", gen_ai_request_model="gone-for-good", error_type="NotFoundError") == 1


def test_errors_with_bodies_that_are_not_openai_shaped(other_app: Proc) -> None:
    broken = _ask(other_app, model="broken")
    assert broken.status_code == 502 and broken.json()["error"]["type"] == "provider_error"
    assert _value(other_app, "gen_ai_client_operation_duration_seconds_count", gen_ai_request_model="broken", error_type="InternalServerError") == 3


def test_retry_after_missing_or_an_http_date(other_app: Proc) -> None:
    missing = _ask(other_app, model="busy")
    assert missing.status_code == 503 and missing.headers["Retry-After"] == "1"  # our default when the provider gives none
    dated = _ask(other_app, model="busy-until")
    assert dated.status_code == 503 and 25 <= int(dated.headers["Retry-After"]) <= 31  # the date, read as ~30 s from now
    assert _value(other_app, "llmapp_llm_retries_total", gen_ai_request_model="busy-until", reason="rate_limit") >= 2


def test_agent_runs_on_another_provider(other_app: Proc) -> None:
    response = httpx.post(f"{other_app.url}/v1/agent", json={"task": "Share a page", "user_tier": "pro"}, timeout=30)
    assert response.status_code == 200 and response.json()["outcome"] == "ok" and "Share" in response.json()["answer"]


def test_a_model_that_refuses_tools(launch: Callable[..., Proc], provider: str, tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(CATALOGUE, encoding="utf-8")
    env = {**APP_ENV, "LLM_BASE_URL": provider, "LLM_MODELS_FILE": str(models), "MODEL_AGENT": "no-tools", "OTEL_SDK_DISABLED": "true"}
    app = launch("app", env, tmp_path / "logs")
    refused = httpx.post(f"{app.url}/v1/agent", json={"task": "Share a page", "user_tier": "pro"}, timeout=30)
    assert refused.status_code == 502 and refused.json()["error"]["type"] == "provider_rejected_request"
    assert _ask(app, model="no-tools").status_code == 200  # the same model without tools answers
