"""Server spans made by FastAPI's own telemetry (the demo app) and by the contrib instrumentation
(the default of `instrument`) carry the same contract: name, kind, required attributes, request
id, parenting, an escaping exception as an `exception` event, nothing for /healthz."""

from __future__ import annotations

import httpx
import pytest

from demo_app.procs import poll_until

SCOPES = {"fastapi": "fastapi", "instrumentation": "opentelemetry.instrumentation.fastapi"}


@pytest.fixture(scope="module", params=sorted(SCOPES))
def service(request, start_service, sink):
    proc = start_service(f"svc-{request.param}", {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "SERVER_SPANS": request.param})
    return request.param, proc


def _server(sink, trace_id: str | None = None, name: str | None = None) -> list[dict]:
    return [s for s in sink.spans(trace_id) if s["kind"] == "SERVER" and (name is None or s["name"] == name)]


def test_a_request_gets_one_server_span_with_the_contract_attributes(service, sink) -> None:
    mode, proc = service
    response = httpx.post(f"{proc.url}/v1/ask", json={"secret": "x"}, headers={"X-Request-ID": f"req-{mode}"}, timeout=10)
    assert response.status_code == 200
    trace_id = response.json()["trace_id"]
    (server,) = poll_until(lambda: _server(sink, trace_id), "server span", 15)
    assert server["name"] == "POST /v1/ask" and server["scope"] == SCOPES[mode]
    assert server["attributes"]["http.request.method"] == "POST"
    assert server["attributes"]["http.route"] == "/v1/ask"
    assert server["attributes"]["http.response.status_code"] == 200
    assert server["attributes"]["app.request_id"] == f"req-{mode}"
    assert "error.type" not in server["attributes"] and server["status"]["code"] != "ERROR"
    child = poll_until(lambda: [s for s in sink.spans(trace_id) if s["name"] == "retrieve documents"], "child span", 15)[0]
    assert child["parent_span_id"] == server["span_id"]


def test_an_escaping_exception_is_one_exception_event_on_the_server_span(service, sink) -> None:
    mode, proc = service
    response = httpx.get(f"{proc.url}/boom", headers={"X-Request-ID": f"boom-{mode}"}, timeout=10)
    assert response.status_code == 500

    def boom_span() -> list[dict]:
        return [s for s in _server(sink, name="GET /boom") if s["attributes"].get("app.request_id") == f"boom-{mode}"]

    (server,) = poll_until(boom_span, "server span of /boom", 15)
    assert server["status"]["code"] == "ERROR"
    # error.type: FastAPI names the exception's class; the contrib instrumentation the status code.
    assert server["attributes"]["error.type"] == ("ZeroDivisionError" if mode == "fastapi" else "500")
    events = [e for e in server["events"] if e["name"] == "exception"]
    assert len(events) == 1 and events[0]["attributes"]["exception.type"].endswith("ZeroDivisionError")


def test_health_checks_make_no_span(service, sink) -> None:
    _, proc = service
    for _ in range(3):
        assert httpx.get(f"{proc.url}/healthz", timeout=5).status_code == 200
    # A marker request after them: its server span is exported after any span they made.
    marker = httpx.post(f"{proc.url}/v1/ask", json={"secret": "x"}, timeout=10).json()["trace_id"]
    poll_until(lambda: _server(sink, marker), "the marker's server span", 15)
    assert not [s for s in sink.spans() if s["attributes"].get("url.path") == "/healthz" or s["name"].endswith("/healthz")]
