"""Log lines: stdlib records and structlog events give the same JSON; log drops are counted."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import cast

import pytest
import structlog
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from demo_app.telemetry import logs
from demo_app.telemetry.logs import configure_logging, get_logger

LEADING = ["timestamp", "level", "event", "service", "request_id", "trace_id", "span_id"]
SECRET = "sk-proj-TESTabcdef1234567890"


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict]]]:
    """Logging configured onto captured stdout; the JSON objects written so far. Undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def _read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    yield _read
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


class TestStdlibBridge:
    """Standard-library records go through structlog's ProcessorFormatter into the same chain."""

    def test_same_fields_as_structlog_masked_and_correlated(self, lines: Callable[[], list[dict]]) -> None:
        configure_logging("svc", "info", None)
        structlog.contextvars.bind_contextvars(request_id="req-1")
        try:
            with TracerProvider().get_tracer("t").start_as_current_span("x") as span:
                get_logger().info("from structlog", key=SECRET)
                logging.getLogger("some.lib").warning("from stdlib %s", SECRET)
                ids = (format(span.get_span_context().trace_id, "032x"), format(span.get_span_context().span_id, "016x"))
        finally:
            structlog.contextvars.clear_contextvars()
        ours, theirs = lines()
        assert list(ours)[:7] == list(theirs)[:7] == LEADING
        assert theirs["level"] == "warning" and theirs["logger"] == "some.lib" and theirs["service"] == "svc"
        assert (theirs["trace_id"], theirs["span_id"], theirs["request_id"]) == (*ids, "req-1")
        assert SECRET not in json.dumps([ours, theirs]) and "[REDACTED_API_KEY]" in theirs["event"]
        assert not any(key.startswith("_") for key in theirs)

    def test_exception_is_rendered_and_masked(self, lines: Callable[[], list[dict]]) -> None:
        configure_logging("svc", "info", None)
        try:
            raise ValueError(f"boom {SECRET}")
        except ValueError:
            logging.getLogger("some.lib").exception("failed")
        (line,) = lines()
        assert line["level"] == "error" and "ValueError: boom [REDACTED_API_KEY]" in line["exception"]

    def test_level_applies_and_reconfiguring_keeps_one_handler(self, lines: Callable[[], list[dict]]) -> None:
        configure_logging("svc", "info", None)
        configure_logging("svc", "warning", None)
        chatty = logging.getLogger("chatty.lib")
        chatty.setLevel(logging.DEBUG)
        try:
            chatty.info("below the level")
            chatty.error("above it")
        finally:
            chatty.setLevel(logging.NOTSET)
        assert [line["event"] for line in lines()] == ["above it"]

    def test_stdlib_records_are_shipped_except_the_sdks_own(self, lines: Callable[[], list[dict]]) -> None:
        exported = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
        configure_logging("svc", "info", provider)
        logging.getLogger("some.lib").warning("shipped")
        logging.getLogger("opentelemetry.exporter").warning("stdout only")
        assert len(lines()) == 2
        (record,) = exported.get_finished_logs()
        assert record.log_record.body == "shipped" and record.log_record.attributes is not None
        assert dict(record.log_record.attributes)["logger"] == "some.lib"
        assert not any(str(key).startswith("_") for key in record.log_record.attributes)


class _Exporter(LogRecordExporter):
    def __init__(self, result: LogRecordExportResult, block: bool = False) -> None:
        self.result, self.entered, self.release = result, threading.Event(), threading.Event()
        self.block = block

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.entered.set()
        if self.block:
            self.release.wait(10)
        return self.result

    def shutdown(self) -> None: ...

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class TestLogDrops:
    """Records of a failed export and records refused by a full queue are both counted."""

    def test_failed_export_is_counted(self) -> None:
        drops: list[int] = []
        counting = logs._CountingLogExporter(_Exporter(LogRecordExportResult.FAILURE), drops.append)
        two = cast(Sequence[ReadableLogRecord], [object(), object()])  # only counted, never read
        assert counting.export(two) is LogRecordExportResult.FAILURE
        assert drops == [2]

    def test_queue_full_drops_are_counted_exactly(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Pins the SDK's queue-full report on the processor's meter_provider (see test_tracing.py).
        for name, value in {"OTEL_BLRP_MAX_QUEUE_SIZE": "4", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "4", "OTEL_BLRP_SCHEDULE_DELAY": "60000"}.items():
            monkeypatch.setenv(name, value)
        drops: list[int] = []
        exporter = _Exporter(LogRecordExportResult.SUCCESS, block=True)
        provider = LoggerProvider()
        provider.add_log_record_processor(logs._batch_log_processor(exporter, drops.append))
        logger = provider.get_logger("t")
        try:
            for _ in range(4):
                logger.emit(body="x")
            assert exporter.entered.wait(5)
            for _ in range(4 + 2):
                logger.emit(body="x")
            assert sum(drops) == 2
        finally:
            exporter.release.set()
            provider.shutdown()
