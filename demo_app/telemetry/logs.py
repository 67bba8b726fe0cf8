"""Structured logging: structlog JSON lines on stdout, the same events shipped over OTLP.

One processor chain serves structlog calls and the standard library's `logging` (uvicorn,
httpx, the OTel SDK) alike, so every line on stdout is one JSON object with the contract's
fields (timestamp, level, event, service, request_id, trace_id, span_id) and masked values.
OTLP shipping goes through the SDK's BatchLogRecordProcessor: a bounded in-memory queue and a
background thread, so a slow or dead log backend never blocks a request.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import orjson
import structlog
from opentelemetry import context as otel_context
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from structlog.typing import Processor

from demo_app.telemetry.masking import mask
from demo_app.telemetry.tracing import (
    EXPORT_BATCH_SIZE,
    DropCountingMeterProvider,
    batch_size_from_env,
    current_ids,
    export_timeout_from_env,
    sdk_processor_metrics,
)

__all__ = ["configure_logging", "build_logger_provider", "get_logger"]

EventDict = MutableMapping[str, Any]
DropCallback = Callable[[int], None]

_LEADING_FIELDS = ("timestamp", "level", "event", "service", "request_id", "trace_id", "span_id")
# Fields that are ids we generate ourselves: never free text, and a 16-digit span id could
# look like a card number to the masker.
_UNMASKED = frozenset({"timestamp", "level", "trace_id", "span_id", "request_id", "service"})
_SEVERITY = {
    "debug": SeverityNumber.DEBUG,
    "info": SeverityNumber.INFO,
    "warning": SeverityNumber.WARN,
    "error": SeverityNumber.ERROR,
    "critical": SeverityNumber.FATAL,
}
# Loggers whose records stay on stdout only: the OTel SDK complaining that export failed
# must not feed the very exporter that is failing.
_LOCAL_ONLY_PREFIXES = ("opentelemetry", "urllib3")
# Name of the root logger's stdout handler, so that configuring again replaces it.
_HANDLER_NAME = "demo_app.telemetry.stdout"


def _add_service(service: str) -> Callable[[Any, str, EventDict], EventDict]:
    def processor(_: Any, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def _add_trace_context(_: Any, __: str, event_dict: EventDict) -> EventDict:
    trace_id, span_id = current_ids()
    event_dict["trace_id"] = trace_id
    event_dict["span_id"] = span_id
    event_dict.setdefault("request_id", "")
    return event_dict


def _mask_event(_: Any, __: str, event_dict: EventDict) -> EventDict:
    # `mask` hands back the very object when there is nothing to mask: write back only changes.
    changed = {}
    for key, value in event_dict.items():
        if key not in _UNMASKED:
            masked = mask(value)
            if masked is not value:
                changed[key] = masked
    if changed:
        event_dict.update(changed)
    return event_dict


def _order_fields(_: Any, __: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict.pop(key) for key in _LEADING_FIELDS if key in event_dict}
    ordered.update(event_dict)
    return ordered


_OTLP_TYPES = (str, bool, int, float)
# Fields that become the record's own body, severity, timestamp, trace context and event
# name, not attributes; and `service`, which the record's resource already carries as
# service.name (Loki's service_name label). Each attribute costs time on every record shipped.
_NOT_ATTRIBUTES = frozenset({"event", "level", "timestamp", "trace_id", "span_id", "service", "event_name"})


class _ShipToOtlp:
    """structlog processor that hands each (already masked) event to the OTel LoggerProvider."""

    def __init__(self, provider: LoggerProvider) -> None:
        self._logger = provider.get_logger("demo_app")

    def __call__(self, _: Any, __: str, event_dict: EventDict) -> EventDict:
        if str(event_dict.get("logger", "")).startswith(_LOCAL_ONLY_PREFIXES):
            return event_dict
        level = str(event_dict.get("level", "info"))
        attributes = {
            key: value if type(value) in _OTLP_TYPES else str(value)
            for key, value in event_dict.items()
            if key not in _NOT_ATTRIBUTES and value is not None
        }
        # context=current: the SDK copies trace_id/span_id/flags of the active span onto the
        # record, which Loki turns into structured metadata for log-to-trace links. A line
        # logged with `event_name=` (e.g. gen_ai.evaluation.result) is an OpenTelemetry event:
        # the record's own EventName field, not an attribute.
        event_name = event_dict.get("event_name")
        self._logger.emit(
            event_name=str(event_name) if event_name else None,
            context=otel_context.get_current(),
            severity_number=_SEVERITY.get(level, SeverityNumber.INFO),
            severity_text=level.upper(),
            body=str(event_dict.get("event", "")),
            attributes=attributes,
        )
        return event_dict


class _CountingLogExporter(LogRecordExporter):
    """Delegates to the OTLP exporter and reports batches that failed to export."""

    def __init__(self, inner: LogRecordExporter, on_drop: DropCallback | None) -> None:
        self._inner = inner
        self._on_drop = on_drop

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            result = self._inner.export(batch)
        except Exception:  # an exporter bug must not kill the export thread
            result = LogRecordExportResult.FAILURE
        if result is not LogRecordExportResult.SUCCESS and self._on_drop:
            self._on_drop(len(batch))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _batch_log_processor(exporter: LogRecordExporter, on_drop: DropCallback | None) -> BatchLogRecordProcessor:
    # Queue size and delay from OTEL_BLRP_* (queue bounded by default: 2048); batch size as for spans.
    batch_size = batch_size_from_env("BLRP", EXPORT_BATCH_SIZE)
    if on_drop is None:
        return BatchLogRecordProcessor(exporter, max_export_batch_size=batch_size)
    # Records dropped because the queue is full reach on_drop through the SDK's own count.
    with sdk_processor_metrics():
        return BatchLogRecordProcessor(exporter, max_export_batch_size=batch_size, meter_provider=DropCountingMeterProvider(on_drop))


def build_logger_provider(resource: Resource, timeout_s: float, on_drop: DropCallback | None) -> LoggerProvider:
    """A LoggerProvider exporting over OTLP/HTTP through a bounded batch queue."""
    provider = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(timeout=export_timeout_from_env("logs", timeout_s))
    provider.add_log_record_processor(_batch_log_processor(_CountingLogExporter(exporter, on_drop), on_drop))
    return provider


def _render_json(event_dict: EventDict, **kwargs: Any) -> str:
    """One JSON object per line, rendered by orjson (several times faster than json.dumps).

    Non-string keys become strings as json.dumps would make them; `default` is structlog's
    fallback for objects JSON has no type for (their repr). Anything orjson still refuses (an
    integer wider than 64 bits) goes through json.dumps, so a line is never lost to the renderer.
    """
    try:
        return orjson.dumps(event_dict, default=kwargs.get("default"), option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(event_dict, **kwargs)


def configure_logging(service: str, level: str, logger_provider: LoggerProvider | None) -> None:
    """Configure structlog and the stdlib root logger for this process (idempotent).

    structlog calls run the chain and write to stdout themselves (no trip through `logging`);
    records of the standard library's loggers reach the same chain through structlog's
    `ProcessorFormatter` on a stdout handler of the root logger, so both give the same lines.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service(service),
        _add_trace_context,
        structlog.processors.format_exc_info,
        _mask_event,
    ]
    tail: list[Processor] = [_ShipToOtlp(logger_provider)] if logger_provider is not None else []
    tail += [_order_fields, structlog.processors.JSONRenderer(serializer=_render_json)]
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=shared + tail,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # add_logger_name: the record's logger name as `logger`, as in every earlier line.
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        # remove_processors_meta first: the record itself must not become an OTLP attribute.
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    # Loggers that set a lower level of their own still stop here, as structlog's do.
    handler.setLevel(numeric_level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a JSON line too, not raw stderr
    # Per-request lines come from our middleware; uvicorn's access log would duplicate them
    # without trace ids, and httpx logs every request at INFO.
    for noisy in ("uvicorn.access", "httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(**initial: Any) -> Any:
    """A structlog logger; keyword arguments are bound to every event it logs."""
    return structlog.get_logger(**initial)
