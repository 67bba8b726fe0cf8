"""A plain OpenAI SDK app instrumented so that the llm-obs-stack dashboards light up.

Copy what you need: two GenAI client histograms and a cost counter (prometheus-client,
scraped by Prometheus), one OTel span per LLM call (exported over OTLP/HTTP to Tempo), and
log records shipped over OTLP to Loki with the trace id on them. Every name and label comes
from docs/telemetry-contract.md; tests/drills/test_integration_example.py runs this file
against the LLM simulator so it cannot drift from the contract.

    export OPENAI_BASE_URL=http://localhost:8081/v1 OPENAI_API_KEY=sim-key   # or a real provider
    export OTEL_SERVICE_NAME=my-llm-app
    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces   # Tempo
    export OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://localhost:3100/otlp/v1/logs  # Loki
    python docs/examples/minimal_openai_app.py --model sim-small --requests 20
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time

import openai
import prometheus_client
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

# --- Metrics: the names, labels and buckets of the contract (GenAI semconv v1.41) ----------
# The `_created` series double the series count and no dashboard reads them.
prometheus_client.disable_created_metrics()

PROVIDER = "openai"  # gen_ai.provider.name of any OpenAI-compatible endpoint
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# error.type values the dashboards group by; anything else is counted as _OTHER so an
# unexpected exception cannot mint a new series.
KNOWN_ERRORS = {"APITimeoutError", "APIConnectionError", "RateLimitError", "InternalServerError",
                "APIStatusError", "BadRequestError"}
# Illustrative USD prices per 1M tokens (input, output): replace with your provider's.
PRICES = {"sim-large": (5.0, 15.0), "sim-medium": (1.0, 3.0), "sim-small": (0.15, 0.6)}

OPERATION_DURATION = Histogram(
    "gen_ai_client_operation_duration_seconds",
    "Duration of one GenAI client operation.",
    ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model", "error_type"],
    buckets=DURATION_BUCKETS,
)
TOKEN_USAGE = Histogram(
    "gen_ai_client_token_usage",
    "Input and output tokens per GenAI client operation.",
    ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model", "gen_ai_token_type"],
    buckets=TOKEN_BUCKETS,
)
COST = Counter(  # exposed as llmapp_cost_usd_total
    # `team` feeds the budget rules' team scope: a team your budgets file lists, else "_other".
    # `prompt_version` is the version of the prompt template the call was built from (the RAG and
    # quality dashboard compares versions); "" for a call built from no versioned template, as here.
    "llmapp_cost_usd", "Estimated spend in US dollars.", ["gen_ai_request_model", "feature", "user_tier", "team", "prompt_version"]
)

log = logging.getLogger("my_llm_app")


def setup_otel() -> tuple[TracerProvider, LoggerProvider]:
    """Traces and logs over OTLP/HTTP; endpoints, sampler and service name from OTEL_* env."""
    resource = Resource.create()  # reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    tracer_provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER (parentbased_always_on)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    # Log records emitted inside a span carry its trace_id: Grafana links Loki lines to Tempo.
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    logging.getLogger().setLevel(logging.INFO)
    return tracer_provider, logger_provider


def _exemplar(span: trace.Span) -> dict[str, str] | None:
    """The trace id to attach to a histogram bucket, when the trace is sampled (else a dead link)."""
    ctx = span.get_span_context()
    return {"trace_id": format(ctx.trace_id, "032x")} if ctx.trace_flags.sampled else None


def chat(client: openai.OpenAI, model: str, prompt: str, feature: str = "qa", user_tier: str = "free", team: str = "_other") -> str:
    """One chat completion with its GenAI span, duration and token histograms, and cost."""
    tracer = trace.get_tracer("my_llm_app")
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": PROVIDER, "gen_ai.request.model": model}
    # Span name "chat {model}", kind CLIENT: what Tempo's span metrics and the trace panels expect.
    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes) as span:
        labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": PROVIDER, "gen_ai_request_model": model}
        start = time.perf_counter()
        try:
            response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
        except openai.OpenAIError as exc:
            error_type = type(exc).__name__ if type(exc).__name__ in KNOWN_ERRORS else "_OTHER"
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))  # no message text: it may quote the prompt
            OPERATION_DURATION.labels(**labels, gen_ai_response_model="", error_type=error_type).observe(
                time.perf_counter() - start, exemplar=_exemplar(span)
            )
            log.warning("llm call failed", extra={"gen_ai.request.model": model, "error.type": error_type})
            raise
        elapsed = time.perf_counter() - start
        # The response model is a label too, but only with values you expect (a provider may
        # answer "gpt-4o-2024-08-06" for "gpt-4o": map or bound it in your app).
        response_model = response.model
        usage = response.usage
        span.set_attributes({
            "gen_ai.response.model": response_model,
            "gen_ai.response.id": response.id,
            "gen_ai.response.finish_reasons": [c.finish_reason or "" for c in response.choices],
            "gen_ai.usage.input_tokens": usage.prompt_tokens,
            "gen_ai.usage.output_tokens": usage.completion_tokens,
            # Prompt-cache hits (OpenAI reports them inside the input tokens): the cache panels' numerator.
            "gen_ai.usage.cache_read.input_tokens": getattr(usage.prompt_tokens_details, "cached_tokens", None) or 0,
        })
        exemplar = _exemplar(span)
        OPERATION_DURATION.labels(**labels, gen_ai_response_model=response_model, error_type="").observe(
            elapsed, exemplar=exemplar
        )
        for token_type, count in (("input", usage.prompt_tokens), ("output", usage.completion_tokens)):
            TOKEN_USAGE.labels(**labels, gen_ai_response_model=response_model, gen_ai_token_type=token_type).observe(
                count, exemplar=exemplar
            )
        price_in, price_out = PRICES.get(model, (0.0, 0.0))
        COST.labels(gen_ai_request_model=model, feature=feature, user_tier=user_tier, team=team, prompt_version="").inc(
            (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1e6
        )
        log.info("llm call done", extra={"gen_ai.request.model": model, "duration_ms": round(elapsed * 1000, 1)})
        return response.choices[0].message.content or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sim-small")
    parser.add_argument("--requests", type=int, default=10, help="LLM calls to make")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between calls")
    parser.add_argument("--linger", type=float, default=30.0, help="seconds to keep /metrics up afterwards")
    args = parser.parse_args()

    # /metrics for Prometheus. Bind 0.0.0.0 (METRICS_ADDR) when Prometheus runs in a container.
    prometheus_client.start_http_server(int(os.environ.get("METRICS_PORT", "9464")),
                                        addr=os.environ.get("METRICS_ADDR", "127.0.0.1"))
    tracer_provider, logger_provider = setup_otel()
    client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL / OPENAI_API_KEY from the environment
    try:
        for i in range(args.requests):
            # A failed call is already counted, traced and logged by chat(): keep going.
            with contextlib.suppress(openai.OpenAIError):
                chat(client, args.model, f"What does an SLO burn-rate alert measure? (question {i})")
            time.sleep(args.interval)
    finally:
        tracer_provider.shutdown()  # flush the last spans and log records before exiting
        logger_provider.shutdown()
    time.sleep(args.linger)


if __name__ == "__main__":
    main()
