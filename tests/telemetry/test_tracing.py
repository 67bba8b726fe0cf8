"""Span drop counting through public hooks (failed exports, the SDK's own queue-full count), and trace context injection."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence

import httpx
import pytest
from opentelemetry.sdk import environment_variables
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from demo_app.telemetry import tracing
from demo_app.telemetry.tracing import MaskingSpanExporter, sdk_processor_metrics


class _BlockingExporter(SpanExporter):
    """Holds the first export until released, so the processor's queue fills behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        return SpanExportResult.SUCCESS


class _Failing(SpanExporter):
    def __init__(self, outcome: SpanExportResult | Exception) -> None:
        self.outcome = outcome

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def _spans(n: int) -> list[ReadableSpan]:
    return [ReadableSpan(name=f"s{i}") for i in range(n)]


class TestFailedExports:
    """Every span of a batch whose export failed or raised is reported as dropped."""

    @pytest.mark.parametrize("outcome", [SpanExportResult.FAILURE, RuntimeError("exporter bug")])
    def test_failed_batch_is_counted(self, outcome: SpanExportResult | Exception) -> None:
        drops: list[int] = []
        assert MaskingSpanExporter(_Failing(outcome), drops.append).export(_spans(3)) is SpanExportResult.FAILURE
        assert drops == [3]

    def test_successful_batch_is_not_counted(self) -> None:
        drops: list[int] = []
        MaskingSpanExporter(_Failing(SpanExportResult.SUCCESS), drops.append).export(_spans(3))
        assert drops == []


class TestQueueFull:
    """Spans the batch processor drops for a full queue reach the callback via its meter_provider.

    This pins the SDK behaviour the count relies on (opentelemetry-sdk 1.45: the processor
    reports drops on its `meter_provider` only while OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED
    is on as it is built); if an upgrade changes that, these tests fail rather than the
    count going silently to zero.
    """

    def test_drops_beyond_the_queue_are_counted_exactly(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in {"OTEL_BSP_MAX_QUEUE_SIZE": "4", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "4", "OTEL_BSP_SCHEDULE_DELAY": "60000"}.items():
            monkeypatch.setenv(name, value)
        drops: list[int] = []
        exporter = _BlockingExporter()
        provider = TracerProvider()
        provider.add_span_processor(tracing._batch_span_processor(exporter, drops.append))
        tracer = provider.get_tracer("t")
        try:
            for _ in range(4):  # one full batch: the worker takes it and blocks in export
                tracer.start_span("x").end()
            assert exporter.entered.wait(5)
            for _ in range(4 + 3):  # the queue holds 4, the next 3 are dropped
                tracer.start_span("x").end()
            assert sum(drops) == 3
        finally:
            exporter.release.set()
            provider.shutdown()

    def test_switch_is_the_documented_one_and_is_restored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        switch = environment_variables.OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED
        assert switch == tracing._SDK_METRICS_SWITCH
        monkeypatch.delenv(switch, raising=False)
        with sdk_processor_metrics():
            assert os.environ[switch] == "true"
        assert switch not in os.environ
        monkeypatch.setenv(switch, "false")
        with sdk_processor_metrics():
            pass
        assert os.environ[switch] == "false"


class TestTraceContextInjection:
    """The request hook sends the current span's W3C traceparent, and nothing outside a span."""

    def test_current_span_goes_into_the_request_headers(self) -> None:
        tracer = TracerProvider().get_tracer("test")
        request = httpx.Request("POST", "http://sim/v1/chat/completions")
        with tracer.start_as_current_span("chat sim-small") as span:
            asyncio.run(tracing.inject_trace_context(request))
        ctx = span.get_span_context()
        assert request.headers["traceparent"] == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
        assert ctx.trace_flags.sampled

    def test_no_header_outside_a_span(self) -> None:
        request = httpx.Request("POST", "http://sim/v1/chat/completions")
        asyncio.run(tracing.inject_trace_context(request))
        assert "traceparent" not in request.headers
