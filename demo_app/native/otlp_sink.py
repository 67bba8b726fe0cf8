"""A tiny OTLP/HTTP receiver that keeps decoded spans and log records in memory, for tests and drills.

Accepts what our exporters send (protobuf, optionally gzip; JSON too) on POST /v1/traces,
/v1/logs and /v1/metrics (metrics are acknowledged and ignored), and serves what it got as
JSON: GET /spans, GET /logs (optional ?trace_id=), DELETE /data to clear, GET /healthz.
Memory is bounded: only the newest `capacity` items of each signal are kept.

Run it alone with `python -m demo_app.native.otlp_sink` (HOST/PORT, default 127.0.0.1:4318),
or in-process with `OtlpSink().start()`.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import zlib
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf.json_format import Parse  # type: ignore[import-untyped]  # protobuf ships no stubs; types-protobuf is not a dependency
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["OtlpSink", "main"]

_SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _attrs(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def _attrs(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode_spans(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Flatten an export request into one dict per span (hex ids, plain attributes)."""
    out = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    {
                        "service": resource.get("service.name", ""),
                        "resource": resource,
                        "scope": ss.scope.name,
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex(),
                        "name": s.name,
                        "kind": _SPAN_KINDS.get(s.kind, str(s.kind)),
                        "start_ns": s.start_time_unix_nano,
                        "end_ns": s.end_time_unix_nano,
                        "attributes": _attrs(s.attributes),
                        "events": [{"name": e.name, "attributes": _attrs(e.attributes)} for e in s.events],
                        "status": {"code": _STATUS.get(s.status.code, str(s.status.code)), "message": s.status.message},
                    }
                )
    return out


def decode_logs(request: ExportLogsServiceRequest) -> list[dict[str, Any]]:
    """Flatten an export request into one dict per log record."""
    out = []
    for rl in request.resource_logs:
        resource = _attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                out.append(
                    {
                        "service": resource.get("service.name", ""),
                        "resource": resource,
                        "trace_id": r.trace_id.hex(),
                        "span_id": r.span_id.hex(),
                        "severity_text": r.severity_text,
                        "severity_number": r.severity_number,
                        "event_name": r.event_name,
                        "body": _value(r.body),
                        "attributes": _attrs(r.attributes),
                        "time_ns": r.time_unix_nano,
                    }
                )
    return out


class OtlpSink:
    """In-memory OTLP/HTTP receiver on 127.0.0.1; `start()` returns self with `.port` set."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, capacity: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._spans: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._logs: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.requests = 0
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.host: str = host
        self.port: int = self._server.server_address[1]  # the real one when port=0 asked for a free port
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """Base URL for OTEL_EXPORTER_OTLP_ENDPOINT."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> OtlpSink:
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spans(self, trace_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s["trace_id"] == trace_id]

    def logs(self, trace_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._logs if trace_id is None or r["trace_id"] == trace_id]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()
            self._logs.clear()

    def _ingest(self, path: str, body: bytes, content_type: str) -> bytes:
        as_json = content_type.startswith("application/json")
        if path == "/v1/traces":
            req = Parse(body, ExportTraceServiceRequest()) if as_json else ExportTraceServiceRequest.FromString(body)
            with self._lock:
                self._spans.extend(decode_spans(req))
            return ExportTraceServiceResponse().SerializeToString()
        if path == "/v1/logs":
            req = Parse(body, ExportLogsServiceRequest()) if as_json else ExportLogsServiceRequest.FromString(body)
            with self._lock:
                self._logs.extend(decode_logs(req))
            return ExportLogsServiceResponse().SerializeToString()
        return b""  # /v1/metrics: acknowledged, not kept

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per export would drown the test output

            def _reply(self, code: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                if path not in ("/v1/traces", "/v1/logs", "/v1/metrics"):
                    self._reply(404, b'{"error": "unknown path"}')
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                try:
                    if encoding == "gzip":
                        body = gzip.decompress(body)
                    elif encoding == "deflate":
                        body = zlib.decompress(body)
                    reply = sink._ingest(path, body, self.headers.get("Content-Type") or "")
                except Exception as exc:
                    self._reply(400, json.dumps({"error": str(exc)}).encode())
                    return
                sink.requests += 1
                self._reply(200, reply, "application/x-protobuf")

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                trace_id = parse_qs(url.query).get("trace_id", [None])[0]
                if url.path == "/healthz":
                    self._reply(200, b'{"status": "ok"}')
                elif url.path == "/spans":
                    self._reply(200, json.dumps(sink.spans(trace_id)).encode())
                elif url.path == "/logs":
                    self._reply(200, json.dumps(sink.logs(trace_id)).encode())
                else:
                    self._reply(404, b'{"error": "unknown path"}')

            def do_DELETE(self) -> None:
                if urlsplit(self.path).path == "/data":
                    sink.clear()
                    self._reply(200, b'{"status": "cleared"}')
                else:
                    self._reply(404, b'{"error": "unknown path"}')

        return Handler


def main() -> None:
    """Serve until interrupted, on HOST:PORT (default 127.0.0.1:4318)."""
    sink = OtlpSink(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "4318")))
    print(json.dumps({"event": "otlp sink listening", "endpoint": sink.endpoint}), flush=True)
    try:
        sink._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink._server.server_close()


if __name__ == "__main__":
    main()
