"""A real service process: JSON logs with trace ids, OTLP spans and logs, masking, request ids, drops."""

from __future__ import annotations

import json
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from demo_app.procs import free_port, poll_until

SECRET_KEY = "sk-proj-TESTabcdef1234567890"
SECRET_MAIL = "jane.doe@example.com"
SECRET = f"my key is {SECRET_KEY}, mail me at {SECRET_MAIL}, card 4111 1111 1111 1111"
LEAKS = (SECRET_KEY, "TESTabcdef", SECRET_MAIL, "jane.doe", "4111 1111")


def _ask(url: str, **headers: str) -> httpx.Response:
    response = httpx.post(f"{url}/v1/ask", json={"secret": SECRET}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def _metric_total(url: str, family: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == family and all(s.labels.get(k) == v for k, v in labels.items())
    )


class TestWithCollector:
    """With an OTLP receiver up, every signal arrives correlated and masked."""

    def test_logs_spans_and_masking(self, sink, start_service, json_log) -> None:
        proc = start_service("svc", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
        trace_id = _ask(proc.url, **{"X-Request-ID": "req-123"}).json()["trace_id"]

        spans = poll_until(lambda: len(sink.spans(trace_id)) >= 2 and sink.spans(trace_id), "spans of the request", 15)
        by_name = {s["name"]: s for s in spans}
        server = by_name["POST /v1/ask"]
        assert server["kind"] == "SERVER" and server["service"] == "telemetry-under-test"
        assert server["attributes"]["http.request.method"] == "POST"
        assert server["attributes"]["http.route"] == "/v1/ask"
        assert server["attributes"]["http.response.status_code"] == 200
        assert server["attributes"]["app.request_id"] == "req-123"
        child = by_name["retrieve documents"]
        assert child["parent_span_id"] == server["span_id"]
        assert child["events"] and child["events"][0]["name"] == "exception"
        assert "[REDACTED_API_KEY]" in child["attributes"]["raw.attribute"]
        assert "skipped" not in child["attributes"]

        events = json_log(proc)
        handling = next(e for e in events if e["event"] == "handling")
        assert (handling["trace_id"], handling["request_id"]) == (trace_id, "req-123")
        assert handling["span_id"] == server["span_id"]
        inside = next(e for e in events if e["event"] == "inside child span")
        assert inside["span_id"] == child["span_id"]
        for event in events:
            for field in ("timestamp", "level", "event", "service", "request_id", "trace_id", "span_id"):
                assert field in event, (field, event)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["timestamp"])

        otlp_logs = poll_until(lambda: sink.logs(trace_id), "OTLP log records of the request", 15)
        assert {r["body"] for r in otlp_logs} >= {"handling", "inside child span"}

        everything = proc.log() + json.dumps(sink.spans()) + json.dumps(sink.logs())
        for leak in LEAKS:
            assert leak not in everything, leak

    def test_request_id_kept_only_when_sane(self, sink, start_service) -> None:
        proc = start_service("svc-ids", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
        assert _ask(proc.url, **{"X-Request-ID": "abc.DEF_1-2"}).headers["x-request-id"] == "abc.DEF_1-2"
        for bad in ("x" * 65, "has space", "semi;colon", ""):
            got = _ask(proc.url, **{"X-Request-ID": bad}).headers["x-request-id"]
            assert re.fullmatch(r"[0-9a-f]{32}", got), (bad, got)

    def test_probes_are_not_traced(self, sink, start_service) -> None:
        proc = start_service("svc-probes", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
        httpx.get(f"{proc.url}/healthz")
        httpx.get(f"{proc.url}/metrics")
        trace_id = _ask(proc.url).json()["trace_id"]
        poll_until(lambda: sink.spans(trace_id), "spans of the request", 15)
        names = {s["name"] for s in sink.spans() if s["service"] == "telemetry-under-test"}
        assert not any("/healthz" in n or "/metrics" in n for n in names), names


def test_unmatched_route_is_measured_with_empty_route(sink, start_service) -> None:
    proc = start_service("svc-404", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
    assert httpx.get(f"{proc.url}/no/such/path", timeout=5).status_code == 404
    count = _metric_total(
        proc.url, "http_server_request_duration_seconds_count",
        http_request_method="GET", http_route="", http_response_status_code="404",
    )
    assert count == 1


class TestWithoutCollector:
    """A dead backend costs nothing but dropped telemetry, and the drops are counted."""

    def test_drops_are_counted(self, start_service) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        proc = start_service("svc-dead", {"OTEL_EXPORTER_OTLP_ENDPOINT": dead, "OTEL_EXPORTER_OTLP_TIMEOUT": "1"})
        for _ in range(3):
            _ask(proc.url)
        for signal in ("traces", "logs"):
            poll_until(
                lambda signal=signal: _metric_total(proc.url, "llmapp_telemetry_dropped_total", signal=signal) > 0,
                f"llmapp_telemetry_dropped_total{{signal={signal!r}}} to count",
                20,
            )

    def test_full_queue_drops_are_counted(self, start_service) -> None:
        # A 30 s export timeout keeps the one export in flight retrying (nothing is reported
        # as failed yet), so only the full 4-span queue can account for the count.
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "30",
            "OTEL_BSP_MAX_QUEUE_SIZE": "4",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2",
        }
        proc = start_service("svc-full", env)
        for _ in range(6):
            _ask(proc.url)
        assert _metric_total(proc.url, "llmapp_telemetry_dropped_total", signal="traces") > 0

    def test_sdk_disabled_keeps_stdout_logs(self, sink, start_service, json_log) -> None:
        proc = start_service("svc-off", {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint})
        body = _ask(proc.url).json()
        assert body["trace_id"] == ""
        handling = next(e for e in json_log(proc) if e["event"] == "handling")
        assert handling["trace_id"] == "" and handling["request_id"]
        assert not [s for s in sink.spans() if s["service"] == "telemetry-under-test" and s["trace_id"] == ""]
