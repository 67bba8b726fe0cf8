"""The standard OTEL_*_EXPORTER=none switches, TELEMETRY_METRICS_ENABLED and the export batch size."""

from __future__ import annotations

import time

import httpx
import pytest
from pydantic import ValidationError

from demo_app.config import TelemetrySettings
from demo_app.procs import poll_until
from demo_app.telemetry.tracing import EXPORT_BATCH_SIZE, batch_size_from_env


def _ask(url: str) -> dict:
    response = httpx.post(f"{url}/v1/ask", json={"secret": "nothing"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_traces_exporter_none_keeps_context_and_logs_but_exports_no_span(sink, start_service, json_log) -> None:
    proc = start_service("svc-no-traces", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_TRACES_EXPORTER": "none"})
    trace_id = _ask(proc.url)["trace_id"]
    assert trace_id, "spans are still made, so requests still carry a trace id"
    poll_until(lambda: sink.logs(trace_id), "OTLP log records of the request", 15)
    time.sleep(0.5)  # a few export rounds (100 ms apart here) in which spans would have arrived
    assert sink.spans(trace_id) == []
    assert any(e.get("trace_id") == trace_id for e in json_log(proc))


def test_logs_exporter_none_keeps_stdout_and_spans(sink, start_service, json_log) -> None:
    proc = start_service("svc-no-logs", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_LOGS_EXPORTER": "none"})
    trace_id = _ask(proc.url)["trace_id"]
    poll_until(lambda: sink.spans(trace_id), "spans of the request", 15)
    time.sleep(0.5)  # a few export rounds (100 ms apart here) in which log records would have arrived
    assert sink.logs(trace_id) == []
    assert any(e.get("trace_id") == trace_id and e["event"] == "handling" for e in json_log(proc))


def test_metrics_disabled_serves_an_empty_exposition(sink, start_service) -> None:
    proc = start_service("svc-no-metrics", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "TELEMETRY_METRICS_ENABLED": "false"})
    _ask(proc.url)
    metrics = httpx.get(f"{proc.url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert [line for line in metrics.text.splitlines() if line and not line.startswith("#")] == []


@pytest.mark.parametrize(("value", "expected"), [("otlp", "otlp"), (" None ", "none"), ("", "otlp")])
def test_exporter_names_are_read_as_the_spec_writes_them(monkeypatch, value: str, expected: str) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", value)
    assert TelemetrySettings().otel_traces_exporter == expected


@pytest.mark.parametrize("value", ["console", "otlp,console", "zipkin"])
def test_exporters_we_do_not_build_are_refused_at_start(monkeypatch, value: str) -> None:
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", value)
    with pytest.raises(ValidationError):
        TelemetrySettings()


def test_batch_size_default_yields_to_the_standard_variables(monkeypatch) -> None:
    for name in ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert batch_size_from_env("BSP", EXPORT_BATCH_SIZE) == EXPORT_BATCH_SIZE
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512")
    assert batch_size_from_env("BSP", EXPORT_BATCH_SIZE) is None  # None: the SDK reads the variable
    monkeypatch.delenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")
    assert batch_size_from_env("BSP", EXPORT_BATCH_SIZE) is None
