"""An OpenAI SDK app instrumented only by OpenLIT.

No telemetry code of ours: `openlit.init()` patches the `openai` SDK and makes the `chat {model}`
spans and the GenAI client metrics (`gen_ai.client.operation.duration`,
`gen_ai.client.token.usage`, plus its own `gen_ai.usage.cost`). OpenLIT reuses the
OpenTelemetry providers it finds, so the app only sets those up: spans over OTLP/HTTP, metrics
on /metrics through `opentelemetry-exporter-prometheus`. Prices come from a local file
(pricing.json beside this file, or OPENLIT_PRICING_JSON): without one OpenLIT downloads its
own list at start.

    pip install --require-hashes -r docs/examples/openlit_app/requirements.txt   # its own venv
    export OPENAI_BASE_URL=http://localhost:8081/v1 OPENAI_API_KEY=sim-key   # the simulator
    export OTEL_SERVICE_NAME=openlit-app
    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces   # Tempo
    python docs/examples/openlit_app/app.py --model sim-small --requests 100 --metrics-port 9466
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

import openai
import openlit
import prometheus_client
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

PRICING_JSON = Path(__file__).with_name("pricing.json")


def setup_otel(metrics_port: int, metrics_addr: str) -> TracerProvider:
    """Providers first (OpenLIT reuses them), then OpenLIT itself."""
    resource = Resource.create()  # service.name from OTEL_SERVICE_NAME
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()]))
    prometheus_client.start_http_server(metrics_port, addr=metrics_addr)
    openlit.init(
        service_name=os.environ.get("OTEL_SERVICE_NAME", "openlit-app"),
        pricing_json=os.environ.get("OPENLIT_PRICING_JSON", str(PRICING_JSON)),
        capture_message_content=False,  # prompts and completions stay out of the spans
        disable_events=True,  # no log pipeline in this example
    )
    return tracer_provider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sim-small")
    parser.add_argument("--requests", type=int, default=20, help="chat completions to send")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between calls")
    parser.add_argument("--linger", type=float, default=30.0, help="seconds to keep /metrics up afterwards")
    parser.add_argument("--metrics-port", type=int, default=9466)
    parser.add_argument("--metrics-addr", default="127.0.0.1", help="0.0.0.0 when Prometheus runs in a container")
    args = parser.parse_args()

    tracer_provider = setup_otel(args.metrics_port, args.metrics_addr)
    client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL / OPENAI_API_KEY; no retries: every failure is seen
    try:
        for i in range(args.requests):
            # OpenLIT records a failed call (span status, error.type); keep going.
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
