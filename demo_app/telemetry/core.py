"""`setup_telemetry()`: the one call a component makes at start to get traces, logs and metrics.

It wires the OTel SDK (traces and logs over OTLP/HTTP, configured by the standard OTEL_*
variables), structlog JSON on stdout, masking, and the Prometheus instruments the contract
lists for the component. `Telemetry.instrument(app)` then adds server spans, the request-id
middleware and GET /metrics to a FastAPI app.

Switches, all read at start: OTEL_SDK_DISABLED=true (no spans, no OTLP logs),
OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER = otlp | none, TELEMETRY_METRICS_ENABLED=false
(Prometheus instruments become no-ops), SENTRY_DSN (error tracking, demo_app.telemetry.errors;
off when unset). stdout logs are always on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from demo_app.config import TelemetrySettings
from demo_app.contract import Contract, load_contract
from demo_app.telemetry.asgi import RequestContextMiddleware
from demo_app.telemetry.errors import ErrorTrackingMiddleware, error_tracking_enabled, init_error_tracking
from demo_app.telemetry.logs import build_logger_provider, configure_logging, get_logger
from demo_app.telemetry.metrics import build_instruments, render_metrics
from demo_app.telemetry.tracing import build_tracer_provider

__all__ = ["Telemetry", "setup_telemetry"]

_DROPPED_METRIC = "llmapp_telemetry_dropped_total"
_HTTP_METRIC = "http_server_request_duration_seconds"
# Not traced: scrapes and health probes would be most of the spans and tell nothing.
_UNTRACED_URLS = "/metrics,/healthz"
_UNTRACED_PATHS = frozenset(_UNTRACED_URLS.split(","))

_lock = threading.Lock()
_instances: dict[str, Telemetry] = {}


@dataclass
class Telemetry:
    """Handles to one component's telemetry; build it with `setup_telemetry`."""

    service_name: str
    component: str
    settings: TelemetrySettings
    contract: Contract
    registry: CollectorRegistry
    tracer_provider: TracerProvider | None
    logger_provider: LoggerProvider | None
    _instruments: dict[str, Any] = field(default_factory=dict)
    _tracers: dict[str, trace.Tracer] = field(default_factory=dict)

    def metric(self, name: str) -> Any:
        """The prometheus_client instrument for contract metric `name` (KeyError if not ours)."""
        try:
            return self._instruments[name]
        except KeyError:
            raise KeyError(f"metric {name!r} is not in the contract for component {self.component!r}") from None

    def tracer(self, name: str = "demo_app") -> trace.Tracer:
        """A tracer (a no-op one when OTEL_SDK_DISABLED=true); one per name, made once."""
        tracer = self._tracers.get(name)
        if tracer is None:
            # The SDK builds a new Tracer (and its instrumentation scope) on every call.
            tracer = self._tracers[name] = trace.get_tracer(name, tracer_provider=self.tracer_provider)
        return tracer

    @property
    def capture_content(self) -> bool:
        """Whether prompts and completions may be recorded on spans (masked even then)."""
        return self.settings.otel_instrumentation_genai_capture_message_content

    def render_metrics(self, accept_header: str | None) -> tuple[bytes, str]:
        """Exposition of this component's registry, in the format the Accept header asks for."""
        return render_metrics(self.registry, accept_header)

    def fastapi_telemetry(self) -> TelemetryConfig:
        """Settings for `FastAPI(telemetry=...)`: FastAPI's own server spans, on our tracer provider.

        FastAPI (0.165 and later) traces every request itself when it has a tracer provider: one
        SERVER span `{method} {route}` with the HTTP semconv attributes the contract requires.
        Measured against the contrib FastAPI instrumentation it costs about 0.3 ms less CPU per
        request in two A/B runs of three (bench/results/telemetry-cost.md, issue 13 part 6). Its
        operation spans (dependencies, endpoint, serialization) add volume the contract does not name, its OTel
        metrics would duplicate our Prometheus ones, its exception log records our request line,
        and `auto_configure` would add exporters beside ours: all off. Pass the app to
        `instrument(app, server_spans="fastapi")` afterwards.
        """
        return {
            "tracer_provider": self.tracer_provider,
            "tracing": self.tracer_provider is not None,
            "operation_spans": False,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
            "exclude": _untraced,
        }

    def instrument(self, app: FastAPI, *, server_spans: Literal["instrumentation", "fastapi"] = "instrumentation") -> None:
        """Server spans, X-Request-ID + HTTP metric middleware and GET /metrics on `app` (once).

        server_spans="instrumentation" (the default) adds the contrib FastAPI instrumentation;
        "fastapi" says the app was built with `FastAPI(telemetry=self.fastapi_telemetry())` and
        traces itself, so none is added.
        """
        if getattr(app.state, "telemetry_instrumented", False):
            return
        app.state.telemetry_instrumented = True
        app.state.telemetry = self
        route_label = self.contract.labels["http_route"]
        if error_tracking_enabled():
            # Inside the request-id middleware (added next, so outside it): the request id and
            # the server span are known when a 5xx or an exception reaches it.
            app.add_middleware(ErrorTrackingMiddleware)
        app.add_middleware(
            RequestContextMiddleware,
            duration_histogram=self._instruments.get(_HTTP_METRIC),
            measured_route=route_label.allows,
            # FastAPI's own spans record no exception event for an exception that escapes the
            # app (the contrib instrumentation does): the middleware puts it there.
            record_escaping_exceptions=server_spans == "fastapi",
        )

        async def metrics(request: Request) -> Response:
            body, content_type = self.render_metrics(request.headers.get("accept"))
            return Response(content=body, media_type=content_type)

        app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
        if self.tracer_provider is not None and server_spans == "instrumentation":
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            # exclude_spans: the per-chunk "http send/receive" spans add volume, not insight.
            FastAPIInstrumentor.instrument_app(
                app,
                tracer_provider=self.tracer_provider,
                excluded_urls=_UNTRACED_URLS,
                exclude_spans=["receive", "send"],
            )

    def _count_dropped(self, signal: str) -> Callable[[int], None] | None:
        counter = self._instruments.get(_DROPPED_METRIC)
        if counter is None:
            return None

        def on_drop(count: int) -> None:
            counter.labels(signal=signal).inc(count)

        return on_drop

    def shutdown(self) -> None:
        """Flush and stop the exporters (at process exit)."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.logger_provider is not None:
            self.logger_provider.shutdown()


class _HashedResource(Resource):
    """The SDK's Resource, hashed once instead of on every call.

    The OTLP encoders group every exported span and log record by resource, hashing it each
    time, and the SDK's __hash__ re-serialises all attributes to JSON (~4 us: 0.7 % of the
    always-on app's CPU in bench/results/profile-before.txt, as much at 5 % sampling, where
    the log records are most of what is exported). A Resource cannot change after it is made
    (its attributes are immutable), so the first hash stays right; equality is the SDK's own.
    """

    def __init__(self, attributes: Any, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def _untraced(scope: Any) -> bool:
    """FastAPI's `exclude` hook: no spans for the scrape and health endpoints (as _UNTRACED_URLS)."""
    return scope.get("path") in _UNTRACED_PATHS


def _sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def setup_telemetry(
    service_name: str, component: str, *, settings: TelemetrySettings | None = None, contract: Contract | None = None
) -> Telemetry:
    """Set up traces, logs and metrics for `component` once per process; later calls return the same.

    `contract` defaults to the contract resolved with the active model catalogue ($LLM_MODELS_FILE);
    a component whose models do not depend on that setting (the simulator) passes its own.
    """
    with _lock:
        existing = _instances.get(component)
        if existing is not None:
            return existing
        settings = settings or TelemetrySettings()
        # New HTTP semconv attribute names (http.request.method, http.route, ...) on server
        # spans, as the contract names them. Must be set before instrumenting.
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
        contract = contract or load_contract()
        registry = CollectorRegistry(auto_describe=True)
        instruments = build_instruments(
            contract, component, registry, strict=settings.telemetry_strict_labels, enabled=settings.telemetry_metrics_enabled
        )
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        tel = Telemetry(
            service_name=name,
            component=component,
            settings=settings,
            contract=contract,
            registry=registry,
            tracer_provider=None,
            logger_provider=None,
            _instruments=instruments,
        )
        if not _sdk_disabled():
            # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and the SDK's own attributes; the
            # copy hashes once (see _HashedResource).
            created = Resource.create({"service.name": name, "service.namespace": "llm-obs-stack"})
            resource = _HashedResource(created.attributes, created.schema_url)
            timeout = settings.telemetry_export_timeout_s
            # OTEL_TRACES_EXPORTER=none: spans are still made, so trace context still travels
            # to the simulator (tracing.inject_trace_context) and into log lines; they just go
            # nowhere (as in the SDK's own auto-configuration).
            export_traces = settings.otel_traces_exporter == "otlp"
            tel.tracer_provider = build_tracer_provider(resource, timeout, tel._count_dropped("traces"), export=export_traces)
            trace.set_tracer_provider(tel.tracer_provider)
            if settings.otel_logs_exporter == "otlp":
                tel.logger_provider = build_logger_provider(resource, timeout, tel._count_dropped("logs"))
                set_logger_provider(tel.logger_provider)
        configure_logging(name, settings.log_level, tel.logger_provider)
        # After logging, so the SDK starts in a process whose log lines are already JSON.
        tracking = init_error_tracking(settings, name)
        _instances[component] = tel
        get_logger().debug("telemetry ready", component=component, otel_sdk=not _sdk_disabled(), error_tracking=tracking)
        return tel
