"""A discarding OTLP/HTTP receiver that counts what each peer-benchmark arm emits.

Every arm exports to its own path prefix (http://127.0.0.1:PORT/<arm>/v1/traces, /v1/logs,
/v1/metrics). Each body is decoded (protobuf, gzip or not; JSON too), counted and dropped:
spans (and how many of each name), log records, metric data points and the distinct series
(metric name + point attributes). GET /stats serves the counts per arm as JSON. Unlike
demo_app.native.otlp_sink it keeps no items, so its memory stays flat under load; unlike
bench.null_otlp (whose handler it extends) it decodes, which is what the "emits" column needs.

    HOST=127.0.0.1 PORT=4318 python -m bench.peer.receiver
"""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

from bench.null_otlp import NullOtlpHandler, main

__all__ = ["Counts", "count_export"]


@dataclass
class Counts:
    """What one arm sent so far."""

    spans: int = 0
    logs: int = 0
    metric_points: int = 0
    exports: int = 0
    span_names: dict[str, int] = field(default_factory=dict)
    series: set[str] = field(default_factory=set)

    def add(self, other: Counts) -> None:
        self.spans += other.spans
        self.logs += other.logs
        self.metric_points += other.metric_points
        self.exports += other.exports
        for name, n in other.span_names.items():
            self.span_names[name] = self.span_names.get(name, 0) + n
        self.series |= other.series

    def to_json(self) -> dict[str, Any]:
        return {
            "spans": self.spans,
            "logs": self.logs,
            "metric_points": self.metric_points,
            "exports": self.exports,
            "span_names": dict(sorted(self.span_names.items())),
            "metric_series": len(self.series),
            "metric_names": sorted({s.split("{", 1)[0] for s in self.series}),
        }


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _point_key(name: str, attributes: Any) -> str:
    labels = ",".join(sorted(f"{kv.key}={kv.value}".replace("\n", " ").strip() for kv in attributes))
    return f"{name}{{{labels}}}"


def count_export(signal: str, body: bytes, content_type: str = "application/x-protobuf") -> Counts:
    """Decode one OTLP export request (`signal` traces, logs or metrics) into counts."""
    from google.protobuf.json_format import Parse  # type: ignore[import-untyped]
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    kinds = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest, "metrics": ExportMetricsServiceRequest}
    request = kinds[signal]()
    if "json" in content_type:
        Parse(body.decode("utf-8"), request)
    else:
        request.ParseFromString(body)
    counts = Counts(exports=1)
    if signal == "traces":
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    counts.spans += 1
                    counts.span_names[span.name] = counts.span_names.get(span.name, 0) + 1
    elif signal == "logs":
        counts.logs = sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    else:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    if kind is None:
                        continue
                    for point in getattr(metric, kind).data_points:
                        counts.metric_points += 1
                        counts.series.add(_point_key(metric.name, point.attributes))
    return counts


_counts: dict[str, Counts] = {}
_lock = threading.Lock()
_SIGNALS = ("traces", "logs", "metrics")


class _Handler(NullOtlpHandler):
    """The null receiver's replies, with a hook that decodes and counts per arm."""

    def on_export(self, body: bytes) -> tuple[int, str] | None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        # /<arm>/v1/<signal>; an exporter pointed at the bare endpoint lands under "_".
        arm, signal = (parts[0], parts[-1]) if len(parts) >= 3 else ("_", parts[-1])
        if signal not in _SIGNALS:
            return 404, f"unknown signal {signal!r}"
        content_type = self.headers.get("Content-Type", "application/x-protobuf")
        try:
            counts = count_export(signal, _decompress(body, self.headers.get("Content-Encoding", "")), content_type)
        except Exception as exc:  # a malformed body: say so, as a collector would
            return 400, str(exc)
        with _lock:
            _counts.setdefault(arm, Counts()).add(counts)
        return None

    def stats(self) -> dict[str, Any]:
        with _lock:
            return {arm: c.to_json() for arm, c in _counts.items()}


if __name__ == "__main__":
    main(_Handler)
