"""The peer benchmark's app: FastAPI, POST /ask makes one chat completion through the `openai` SDK.

One file for every arm, run by the arm's own venv Python (bench/peer/locks/<arm>.txt; "ours"
runs in the project's .venv). PEER_TELEMETRY=off is the arm's baseline: the same code and
packages with no telemetry set up at all. PEER_TELEMETRY=on sets up the arm's instrumentation
with its documented defaults, except that no arm records prompts or completions (OpenLIT and
OpenLLMetry do by default; OpenTelemetry and ours do not), and every arm exports over
OTLP/HTTP to PEER_OTLP_ENDPOINT (the benchmark's counting receiver, a path per arm).

    PEER_ARM=otel PEER_TELEMETRY=on PEER_OTLP_ENDPOINT=http://127.0.0.1:4318/otel \
    OPENAI_BASE_URL=http://127.0.0.1:8081/v1 OPENAI_API_KEY=sim-key PORT=8000 python bench/peer/app.py

Arms: none (no telemetry packages at all), otel (FastAPI + openai-v2 instrumentation, OTLP
traces), openllmetry (`Traceloop.init`), openlit (`openlit.init`), ours (demo_app.telemetry with
the demo app's LLM client, as the demo app itself uses them: spans, OTLP logs, /metrics;
PEER_ARM=ours with OTEL_TRACES_SAMPLER set is the sampled variant), ours-docs (the code of
docs/examples/minimal_openai_app.py, which users copy: OTel SDK spans and logs, prometheus-client).
"""

# No `from __future__ import annotations`: FastAPI must see the request model `Ask`, a local class.
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ARM = os.environ.get("PEER_ARM", "none")
TELEMETRY = os.environ.get("PEER_TELEMETRY", "off") == "on"
ENDPOINT = os.environ.get("PEER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
MODEL = os.environ.get("PEER_MODEL", "sim-small")
SERVICE = f"peer-{ARM}"
ROOT = Path(__file__).resolve().parents[2]
_PROVIDERS: list[Any] = []  # providers an arm made without registering them globally


def _setup_otel() -> Any:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{ENDPOINT}/v1/traces")))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


def _setup_openllmetry() -> None:
    # Its anonymous usage telemetry goes to the internet: off (the benchmark stays on 127.0.0.1).
    os.environ["TRACELOOP_TELEMETRY"] = "false"
    os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name=SERVICE, api_endpoint=ENDPOINT, telemetry_enabled=False)


def _setup_openlit() -> None:
    import openlit

    openlit.init(
        service_name=SERVICE,
        otlp_endpoint=ENDPOINT,
        # A local price list: without it OpenLIT downloads one from the internet at start.
        pricing_json=str(ROOT / "docs" / "examples" / "openlit_app" / "pricing.json"),
        capture_message_content=False,
        collect_gpu_stats=False,
    )


@contextlib.asynccontextmanager
async def _flush_at_exit(app: Any) -> AsyncIterator[None]:
    """Flush and stop the global OTel providers when uvicorn stops: uvicorn re-raises SIGTERM
    after its shutdown, so the SDKs' atexit hooks never run and the last spans, log records
    and metric points (the benchmark's census) would be lost."""
    yield
    from opentelemetry import _logs, metrics, trace

    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider(), *_PROVIDERS):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()


def build_app() -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Ask(BaseModel):
        question: str

    tel = None
    if TELEMETRY and ARM == "ours":
        os.environ.setdefault("OTEL_SERVICE_NAME", SERVICE)
        os.environ.setdefault("OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT)
        os.environ.setdefault("LLM_BASE_URL", os.environ.get("OPENAI_BASE_URL", ""))
        from demo_app.telemetry import setup_telemetry

        tel = setup_telemetry(service_name=SERVICE, component="app")
    # Ours as the demo app builds it: FastAPI's own telemetry makes the server span.
    app = FastAPI(lifespan=_flush_at_exit if TELEMETRY else None, **({"telemetry": tel.fastapi_telemetry()} if tel else {}))
    messages = lambda q: [{"role": "user", "content": q}]  # noqa: E731

    if tel is not None:
        from demo_app.app.llm import LLMClient
        from demo_app.config import AppSettings

        ours = LLMClient(AppSettings(), tel)
        tel.instrument(app, server_spans="fastapi")

        @app.post("/ask")
        async def ask_ours(body: Ask) -> dict[str, str]:
            result = await ours.chat(messages(body.question), model=MODEL, feature="qa", user_tier="free", team="_other")
            return {"answer": result.text}

    elif ARM == "ours-docs":
        # docs/examples/minimal_openai_app.py as it is: its setup_otel() and its chat() with a
        # synchronous client (so FastAPI runs the endpoint in its thread pool; the baseline too).
        import openai

        client_sync = openai.OpenAI(max_retries=0)
        chat = None
        if TELEMETRY:
            import importlib.util

            import prometheus_client

            spec = importlib.util.spec_from_file_location("minimal_openai_app", ROOT / "docs" / "examples" / "minimal_openai_app.py")
            assert spec is not None and spec.loader is not None
            example = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(example)
            os.environ.setdefault("OTEL_SERVICE_NAME", SERVICE)
            os.environ.setdefault("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{ENDPOINT}/v1/traces")
            os.environ.setdefault("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", f"{ENDPOINT}/v1/logs")
            _PROVIDERS.extend(example.setup_otel())  # (tracer provider, logger provider)
            chat = example.chat
            app.mount("/metrics", prometheus_client.make_asgi_app())  # what start_http_server serves

        @app.post("/ask")
        def ask_docs(body: Ask) -> dict[str, str]:
            if chat is not None:
                return {"answer": chat(client_sync, MODEL, body.question)}
            response = client_sync.chat.completions.create(model=MODEL, messages=messages(body.question))
            return {"answer": response.choices[0].message.content or ""}

    else:
        provider = None
        if TELEMETRY:
            if ARM == "otel":
                provider = _setup_otel()
            elif ARM == "openllmetry":
                _setup_openllmetry()
            elif ARM == "openlit":
                _setup_openlit()
            elif ARM != "none":
                raise SystemExit(f"unknown PEER_ARM {ARM!r}")
        import openai

        client = openai.AsyncOpenAI(max_retries=0)  # OPENAI_BASE_URL / OPENAI_API_KEY

        @app.post("/ask")
        async def ask(body: Ask) -> dict[str, str]:
            response = await client.chat.completions.create(model=MODEL, messages=messages(body.question))
            return {"answer": response.choices[0].message.content or ""}

        if provider is not None:
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="/healthz")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    # No access log in any arm: the benchmark compares telemetry, not uvicorn's stdout.
    uvicorn.run(build_app(), host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ["PORT"]),
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
