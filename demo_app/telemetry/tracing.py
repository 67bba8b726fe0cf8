"""Trace pipeline: TracerProvider from the OTEL_* environment, masking and drop-counting export.

The SDK reads the sampler (OTEL_TRACES_SAMPLER / _ARG, default parentbased_always_on), the
endpoint (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) and the batch sizes (OTEL_BSP_*) from the
environment itself; this module only adds what the SDK lacks:
  - masking of every span's name, attributes, events and status before it leaves the process
    (a SpanProcessor cannot change an ended span, but an exporter can send a masked copy);
  - a count of spans lost to a failing backend (the exporter's result) or a full queue (the
    SDK's own drop count, through the processor's public `meter_provider` hook), for the
    llmapp_telemetry_dropped_total metric;
  - `set_attributes`, the one way business code puts values on spans (masked at the source);
  - `inject_trace_context`, the request hook that carries the current span's W3C trace context
    to an outbound HTTP call (the LLM provider).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import Counter, Meter, NoOpCounter, NoOpMeter, NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, Status
from opentelemetry.util.types import Attributes

from demo_app.telemetry.masking import contains_secret, mask

__all__ = [
    "build_tracer_provider",
    "set_attributes",
    "current_ids",
    "inject_trace_context",
    "export_timeout_from_env",
    "batch_size_from_env",
    "MaskingSpanExporter",
    "DropCountingMeterProvider",
    "sdk_processor_metrics",
    "EXPORT_BATCH_SIZE",
]

DropCallback = Callable[[int], None]

# Spans (and log records) per export request, unless OTEL_BSP_/OTEL_BLRP_MAX_EXPORT_BATCH_SIZE
# says otherwise. With the SDK's 512 one export encodes for ~15 ms holding the GIL, and the
# requests that arrive meanwhile wait (the p99). Measured with bench/overhead.py's load:
# 512 -> 256 cut the sequential p99 by ~5 ms at the same CPU per request; 128 cut it by
# ~8 ms but cost ~3% throughput (each export request has a fixed ~0.6 ms of CPU).
EXPORT_BATCH_SIZE = 256


def export_timeout_from_env(signal: str, default_s: float) -> float | None:
    """None when the user set an OTLP timeout (the SDK then reads it), else our shorter default."""
    if os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT"):
        return None
    return default_s


def batch_size_from_env(prefix: str, default: int) -> int | None:
    """None when the user sized the batch or the queue (OTEL_<prefix>_*; the SDK reads it), else `default`."""
    for name in ("MAX_EXPORT_BATCH_SIZE", "MAX_QUEUE_SIZE"):
        if os.environ.get(f"OTEL_{prefix}_{name}"):
            return None  # also keeps a small user-set queue from being below our batch size
    return default


def _mask_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: mask(value) for key, value in (attributes or {}).items()}


def _needs_masking(span: ReadableSpan) -> bool:
    """True when any text `_masked_copy` masks holds a secret (most spans hold none)."""
    status = span.status.description
    return (
        contains_secret(span.name)
        or any(contains_secret(v) for v in (span.attributes or {}).values())
        or any(contains_secret(v) for e in span.events for v in (e.attributes or {}).values())
        or (bool(status) and contains_secret(status))
    )


def _masked_copy(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    return ReadableSpan(
        name=mask(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_mask_attributes(span.attributes),
        events=[Event(e.name, _mask_attributes(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=Status(status.status_code, mask(status.description)) if status.description else status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class MaskingSpanExporter(SpanExporter):
    """Masks every span, delegates to `inner`, and reports batches that failed to export.

    A span with nothing to mask is passed on as it is: copying it costs more than checking it.
    """

    def __init__(self, inner: SpanExporter, on_drop: DropCallback | None = None) -> None:
        self._inner = inner
        self._on_drop = on_drop

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export([_masked_copy(s) if _needs_masking(s) else s for s in spans])
        except Exception:  # an exporter bug must not kill the export thread
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS and self._on_drop:
            self._on_drop(len(spans))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


# The SDK's batch processors count the items they drop (queue full, or emitted after
# shutdown) on the `otel.sdk.processor.{span,log}.processed` counter of the meter provider
# given to their constructor, with an `error.type` attribute, but only when this switch is on
# as the constructor runs (it is read once, there). The switch is documented in
# opentelemetry.sdk.environment_variables but marked experimental, so
# tests/telemetry/test_tracing.py and test_logs.py pin the exact counts on the installed SDK.
_SDK_METRICS_SWITCH = "OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"
_ERROR_TYPE = "error.type"


class _DropCounter(NoOpCounter):
    """The SDK processor's "processed" counter: reports the items added with an error type."""

    def __init__(self, name: str, on_drop: DropCallback, unit: str = "", description: str = "") -> None:
        super().__init__(name, unit=unit, description=description)
        self._on_drop = on_drop

    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        if attributes and attributes.get(_ERROR_TYPE):
            self._on_drop(int(amount))


class _DropMeter(NoOpMeter):
    def __init__(self, name: str, on_drop: DropCallback) -> None:
        super().__init__(name)
        self._on_drop = on_drop

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        return _DropCounter(name, self._on_drop, unit, description)


class DropCountingMeterProvider(NoOpMeterProvider):
    """A meter provider for one batch processor: its drop counts go to `on_drop`, the rest nowhere.

    Handed to `BatchSpanProcessor` / `BatchLogRecordProcessor` through their public
    `meter_provider` argument (build them inside `sdk_processor_metrics()`). Only the
    processor uses it: the app runs no OTel metrics pipeline of its own.
    """

    def __init__(self, on_drop: DropCallback) -> None:
        self._on_drop = on_drop

    def get_meter(self, name: str, version: str | None = None, schema_url: str | None = None, attributes: Attributes = None) -> Meter:
        return _DropMeter(name, self._on_drop)


@contextmanager
def sdk_processor_metrics() -> Iterator[None]:
    """Turn the SDK's own processor metrics on while a batch processor is built, then restore the switch.

    Scoped rather than set for the process: left on, it would also make every Tracer record
    per-span metrics on the global (no-op) meter provider, CPU on every span for nothing.
    Called once per processor at start, under setup_telemetry's lock.
    """
    previous = os.environ.get(_SDK_METRICS_SWITCH)
    os.environ[_SDK_METRICS_SWITCH] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_SDK_METRICS_SWITCH]
        else:
            os.environ[_SDK_METRICS_SWITCH] = previous


def _batch_span_processor(exporter: SpanExporter, on_drop: DropCallback | None) -> BatchSpanProcessor:
    # Queue size and delay from OTEL_BSP_* (queue bounded by default: 2048).
    batch_size = batch_size_from_env("BSP", EXPORT_BATCH_SIZE)
    if on_drop is None:
        return BatchSpanProcessor(exporter, max_export_batch_size=batch_size)
    with sdk_processor_metrics():
        return BatchSpanProcessor(exporter, max_export_batch_size=batch_size, meter_provider=DropCountingMeterProvider(on_drop))


def build_tracer_provider(
    resource: Resource, timeout_s: float, on_drop: DropCallback | None, *, export: bool = True
) -> TracerProvider:
    """A TracerProvider exporting over OTLP/HTTP through a bounded batch queue (or not at all: `export=False`)."""
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER, parentbased_always_on by default
    if export:
        exporter = OTLPSpanExporter(timeout=export_timeout_from_env("traces", timeout_s))
        provider.add_span_processor(_batch_span_processor(MaskingSpanExporter(exporter, on_drop), on_drop))
    return provider


def set_attributes(span: Span, attributes: Mapping[str, Any]) -> None:
    """Set span attributes, masked, skipping None (OTel refuses None values)."""
    if not span.is_recording():
        return
    for key, value in attributes.items():
        if value is None:
            continue
        span.set_attribute(key, mask(value))  # lists and tuples too: mask walks them


def current_ids() -> tuple[str, str]:
    """(trace_id, span_id) of the current span as lowercase hex, or ("", "") outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return "", ""
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


async def inject_trace_context(request: Any) -> None:
    """httpx/httpx2 request event hook: the current span's trace context into the headers.

    The provider's server span becomes a child of the span that makes the call (the LLM
    client's `chat {model}` span). The httpx instrumentation did this by opening a client
    span of its own under every chat span, which the contract does not name and which cost
    ~0.44 ms of CPU per request (bench/attribution.py, 2026-12-02). The global propagator
    (OTEL_PROPAGATORS, W3C tracecontext + baggage by default) writes the headers, and
    writes none outside a span or with the SDK disabled.
    """
    propagate.inject(request.headers)
