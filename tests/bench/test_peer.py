"""The peer benchmark's pure parts: its statistics and the receiver's decoding of what arms emit.

No timing here (timing belongs to bench/): the numbers are fixed inputs, the OTLP bodies are
built with the protobuf classes the exporters use, and the receiver runs as its own process.
"""

from __future__ import annotations

import gzip

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from prometheus_client import CollectorRegistry, Counter, Histogram, PlatformCollector, generate_latest

from bench._common import start_module
from bench.peer.receiver import count_export
from bench.peer.run import round_order, to_markdown
from bench.peer.stats import emits_text, paired_difference, paired_ratio, per_request, prom_series, spread


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _traces(*names: str) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for name in names:
        scope.spans.add(name=name, trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    return req


def _logs(n: int) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    scope = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        scope.log_records.add().body.string_value = f"line {i}"
    return req


def _metrics() -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    scope = req.resource_metrics.add().scope_metrics.add()
    hist = scope.metrics.add(name="gen_ai.client.operation.duration")
    for model in ("sim-small", "sim-large"):
        point = hist.histogram.data_points.add(count=3, sum=0.5, bucket_counts=[1, 2], explicit_bounds=[0.1])
        point.attributes.append(_kv("gen_ai.request.model", model))
    counter = scope.metrics.add(name="gen_ai.usage.cost")
    counter.sum.data_points.add(as_double=0.01).attributes.append(_kv("gen_ai.request.model", "sim-small"))
    return req


def test_spread_is_median_and_range():
    assert spread([3.0, 1.0, 2.0, 10.0]) == {"median": 2.5, "min": 1.0, "max": 10.0}
    with pytest.raises(ValueError):
        spread([])


def test_ratios_and_differences_are_paired_by_round():
    # Round 2 is slow for both (a noisy neighbour): pairing keeps its ratio at 0.5 like the others.
    arm, base = [100.0, 50.0, 110.0], [200.0, 100.0, 220.0]
    assert paired_ratio(arm, base) == {"median": 0.5, "min": 0.5, "max": 0.5}
    assert paired_difference([3.0, 4.0, 3.5], [2.0, 2.5, 2.0]) == {"median": 1.5, "min": 1.0, "max": 1.5}
    with pytest.raises(ValueError):
        paired_ratio([1.0], [1.0, 2.0])


def test_per_request_counts_between_snapshots():
    before, after = {"spans": 100, "logs": 40}, {"spans": 350, "logs": 140}
    assert per_request(before, after, 50) == {"spans": 5.0, "logs": 2.0}
    assert per_request({}, {"spans": 3}, 3) == {"spans": 1.0, "logs": 0.0}
    with pytest.raises(ValueError):
        per_request(before, after, 0)


def test_a_prometheus_histogram_is_one_point_per_label_set():
    registry = CollectorRegistry()
    hist = Histogram("d_seconds", "d", ["model"], buckets=(0.1, 1.0), registry=registry)
    counter = Counter("c", "c", ["model"], registry=registry)
    Counter("unused", "never incremented, labelled: no samples", ["model"], registry=registry)
    for model in ("a", "b"):
        hist.labels(model=model).observe(0.3)
    counter.labels(model="a").inc()
    PlatformCollector(registry=registry)  # python_info: a runtime family, not request telemetry
    # Two histograms (each buckets + _sum + _count) and one counter (_total and _created).
    assert prom_series(generate_latest(registry).decode()) == (3, ["c", "d_seconds"])


def test_emits_text():
    assert emits_text({"spans": 5, "logs": 0}, 0, "") == "5 spans"
    assert emits_text({"spans": 3, "logs": 2}, 7, "OTLP") == "3 spans, 2 logs, 7 metric series (OTLP)"
    assert emits_text({"spans": 0, "logs": 0}, 0, "") == "nothing"
    assert emits_text({"spans": 0.5, "logs": 1}, 0, "") == "0.5 spans, 1 logs"


def test_count_export_decodes_each_signal_in_protobuf_and_json():
    traces = _traces("POST /ask", "chat sim-small", "POST /ask")
    for counts in (count_export("traces", traces.SerializeToString()),
                   count_export("traces", MessageToJson(traces).encode(), "application/json")):
        assert (counts.spans, counts.logs, counts.metric_points) == (3, 0, 0)
        assert counts.span_names == {"POST /ask": 2, "chat sim-small": 1}
    assert count_export("logs", _logs(2).SerializeToString()).logs == 2
    metrics = count_export("metrics", _metrics().SerializeToString())
    assert metrics.metric_points == 3
    assert len(metrics.series) == 3
    # The same point exported again (a cumulative metric, next interval) is no new series.
    metrics.add(count_export("metrics", _metrics().SerializeToString()))
    assert (metrics.metric_points, len(metrics.series), metrics.exports) == (6, 3, 2)


def test_the_receiver_counts_per_arm_path_and_refuses_garbage(tmp_path):
    with start_module("bench.peer.receiver", tmp_path, name="receiver") as receiver:
        body = _traces("a", "b").SerializeToString()
        assert httpx.post(f"{receiver.url}/otel/v1/traces", content=body,
                          headers={"Content-Type": "application/x-protobuf"}).status_code == 200
        assert httpx.post(f"{receiver.url}/ours/v1/logs", content=gzip.compress(_logs(3).SerializeToString()),
                          headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}).status_code == 200
        assert httpx.post(f"{receiver.url}/ours/v1/traces", content=b"\xff\x00garbage",
                          headers={"Content-Type": "application/x-protobuf"}).status_code == 400
        stats = httpx.get(f"{receiver.url}/stats").json()
    assert stats["otel"]["spans"] == 2 and stats["otel"]["span_names"] == {"a": 1, "b": 1}
    assert stats["ours"]["logs"] == 3 and stats["ours"]["spans"] == 0


def test_the_table_has_a_row_per_arm_and_names_what_was_left_out():
    s = {"median": 1.0, "min": 0.9, "max": 1.1}
    row = {"title": "OpenLIT", "rps": s, "ratio_to_own_baseline": s, "ratio_to_none": s, "added_cpu_ms_per_request": s,
           "cpu_ms_per_request": s, "baseline_cpu_ms_per_request": s, "p50_ms": 1, "p99_ms": 2, "baseline_p50_ms": 1,
           "baseline_p99_ms": 2, "rss_mb": 100, "baseline_rss_mb": 80, "emits": {"text": "6 spans, 1 logs"}}
    result = {"settings": {"concurrency": 8, "rounds_done": 2, "rounds_planned": 3, "requests_per_round": 400,
                           "census_requests": 50},
              "measured_commit": "abc1234", "machine": {"date": "d", "cpu_count": 2, "load_avg_1m": 1.0},
              "arms": [row], "left_out": {"openllmetry": "its venv could not be built: no registry\npip says"}}
    table = to_markdown(result)
    assert "| OpenLIT | 1.0 (0.9-1.1) |" in table and "6 spans, 1 logs |" in table
    assert "- openllmetry: its venv could not be built: no registry" in table and "pip says" not in table
    assert "Only 2 of 3 rounds" in table


def test_round_order_keeps_an_arm_beside_its_baseline_and_rotates():
    groups = [["none-off"], ["otel-off", "otel-on"], ["ours-off", "ours-on", "ours-5pct-on"]]
    assert round_order(groups, 0) == ["none-off", "otel-off", "otel-on", "ours-off", "ours-on", "ours-5pct-on"]
    assert round_order(groups, 1) == ["otel-on", "otel-off", "ours-5pct-on", "ours-on", "ours-off", "none-off"]
    assert round_order(groups, 2) == ["ours-off", "ours-on", "ours-5pct-on", "none-off", "otel-off", "otel-on"]
    # Every app runs exactly once per round.
    assert all(sorted(round_order(groups, r)) == sorted(k for g in groups for k in g) for r in range(6))


def test_the_null_receiver_shares_the_replies_and_counts_bytes_only(tmp_path):
    with start_module("bench.null_otlp", tmp_path, name="null") as receiver:
        body = _traces("a").SerializeToString()
        assert httpx.post(f"{receiver.url}/v1/traces", content=body,
                          headers={"Content-Type": "application/x-protobuf"}).content == b""
        assert httpx.post(f"{receiver.url}/v1/logs", content=b"{}",
                          headers={"Content-Type": "application/json"}).json() == {}
        assert httpx.get(f"{receiver.url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{receiver.url}/stats").json() == {"requests": 2, "bytes": len(body) + 2}
