"""An OpenAI SDK app instrumented only by the official OpenTelemetry GenAI instrumentation.

No telemetry code of ours: `opentelemetry-instrumentation-openai-v2` makes the `chat {model}`
spans and the GenAI client metrics (`gen_ai.client.operation.duration`,
`gen_ai.client.token.usage`); the OpenTelemetry SDK exports the spans over OTLP/HTTP and
`opentelemetry-exporter-prometheus` serves the metrics on /metrics for Prometheus to scrape.

    pip install --require-hashes -r docs/examples/otel_genai_app/requirements.txt   # its own venv
    export OPENAI_BASE_URL=http://localhost:8081/v1 OPENAI_API_KEY=sim-key   # the simulator
    export OTEL_SERVICE_NAME=otel-genai-app
    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces   # Tempo
    python docs/examples/otel_genai_app/app.py --model sim-medium --requests 100 --metrics-port 9465
"""

from __future__ import annotations

import argparse
import contextlib
import time

import openai
import prometheus_client
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def setup_otel(metrics_port: int, metrics_addr: str) -> TracerProvider:
    """Spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_* env), metrics on http://addr:port/metrics."""
    resource = Resource.create()  # service.name from OTEL_SERVICE_NAME
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    # The reader registers with prometheus_client's default registry; its HTTP server serves it.
    meter_provider = MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    metrics.set_meter_provider(meter_provider)
    prometheus_client.start_http_server(metrics_port, addr=metrics_addr)
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return tracer_provider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sim-medium")
    parser.add_argument("--requests", type=int, default=20, help="chat completions to send")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between calls")
    parser.add_argument("--linger", type=float, default=30.0, help="seconds to keep /metrics up afterwards")
    parser.add_argument("--metrics-port", type=int, default=9465)
    parser.add_argument("--metrics-addr", default="127.0.0.1", help="0.0.0.0 when Prometheus runs in a container")
    args = parser.parse_args()

    tracer_provider = setup_otel(args.metrics_port, args.metrics_addr)
    client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL / OPENAI_API_KEY; no retries: every failure is seen
    try:
        for i in range(args.requests):
            # The instrumentation records a failed call (span status, error.type); keep going.
            with contextlib.suppress(openai.OpenAIError):
                client.chat.completions.create(
                    model=args.model,
                    messages=[{"role": "user", "content": f"What does an SLO burn-rate alert measure? (question {i})"}],
                )
            time.sleep(args.interval)
    finally:
        tracer_provider.shutdown()  # flush the last spans
    time.sleep(args.linger)


if __name__ == "__main__":
    main()
