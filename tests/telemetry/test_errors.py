"""Error tracking (demo_app/telemetry/errors.py): what an event may carry, how it is tagged and grouped.

The end-to-end proof against the real Bugsink is in tests/tracker; these tests read the
events in process, through a transport that keeps them instead of sending them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
import sentry_sdk
from opentelemetry.sdk.trace import TracerProvider
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from demo_app.config import TelemetrySettings
from demo_app.telemetry import errors
from demo_app.telemetry.errors import ErrorTrackingMiddleware, grafana_trace_url, init_error_tracking, scrub_event

KEY = "sk-proj-Abcdefgh12345678"
EMAIL = "ann.customer@example.com"
CARD = "4111-1111-1111-1111"


def _leaky_event() -> dict[str, Any]:
    return {
        "message": f"failed for {EMAIL}",
        "exception": {"values": [{"type": "LLMError", "value": f"bad key {KEY}", "stacktrace": {"frames": [{"function": "f", "vars": {"question": "hi"}}]}}]},
        "request": {"url": "http://app/v1/ask", "method": "POST", "data": {"question": "q"}, "headers": {"Authorization": f"Bearer {KEY}"}, "cookies": "c=1"},
        "user": {"ip_address": "10.0.0.1", "email": EMAIL},
        "breadcrumbs": {"values": [{"message": CARD}]},
        "extra": {"question": "what is my balance", "note": f"card {CARD}", "gen_ai.input.messages": "[...]"},
        "contexts": {"llm": {"prompt": "system prompt text", "model": "sim-small"}},
        "tags": {"model": "sim-small"},
    }


class TestScrubEvent:
    """before_send: the masking of logs on every string, and nothing a caller sent."""

    def test_secrets_are_masked_everywhere(self) -> None:
        stored = json.dumps(scrub_event(_leaky_event(), capture_content=False))
        for secret in (KEY, EMAIL, CARD):
            assert secret not in stored
        assert "[REDACTED_API_KEY]" in stored and "[REDACTED_EMAIL]" in stored

    def test_request_data_user_breadcrumbs_and_locals_are_dropped(self) -> None:
        event = scrub_event(_leaky_event(), capture_content=False)
        assert set(event["request"]) == {"url", "method"}
        assert "user" not in event and "breadcrumbs" not in event
        assert "vars" not in event["exception"]["values"][0]["stacktrace"]["frames"][0]

    def test_content_is_dropped_unless_capture_is_on(self) -> None:
        off = scrub_event(_leaky_event(), capture_content=False)
        assert set(off["extra"]) == {"note"} and set(off["contexts"]["llm"]) == {"model"}
        on = scrub_event(_leaky_event(), capture_content=True)
        assert on["extra"]["question"] == "what is my balance" and on["contexts"]["llm"]["prompt"] == "system prompt text"
        assert CARD not in json.dumps(on)  # masked even then, as on spans

    def test_clean_event_is_unchanged(self) -> None:
        event = {"message": "GET /v1/ask answered 500 (http_500)", "tags": {"trace_id": "0" * 31 + "1"}}
        assert scrub_event(copy.deepcopy(event), capture_content=False) == event


def test_grafana_trace_url_opens_the_trace_in_explore() -> None:
    url = grafana_trace_url("http://grafana.local:3000/", "0af7651916cd43dd8448eb211c80319c")
    assert url.startswith("http://grafana.local:3000/explore?")
    panes = json.loads(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["panes"][0])
    (pane,) = panes.values()
    assert pane["datasource"] == "tempo" and pane["queries"][0]["query"] == "0af7651916cd43dd8448eb211c80319c"


class _Keep(Transport):
    """Keeps every event instead of sending it."""

    events: ClassVar[list[dict[str, Any]]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def tracking() -> Iterator[list[dict[str, Any]]]:
    _Keep.events = []
    settings = TelemetrySettings(sentry_dsn="http://key@127.0.0.1:9/1", grafana_url="http://grafana.test")
    assert init_error_tracking(settings, "app", transport=_Keep)
    yield _Keep.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: a client that sends nothing
    errors._state.update(enabled=False)


def _serve(inner: Any) -> Any:
    """`inner` behind the middleware, inside a server span that carries feature and tier."""
    tracer = TracerProvider().get_tracer("test")
    middleware = ErrorTrackingMiddleware(inner)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        with tracer.start_as_current_span("POST /v1/ask") as span:
            span.set_attribute("app.feature", "qa")
            span.set_attribute("app.user_tier", "pro")
            scope.setdefault("state", {})["request_id"] = "req-123"
            scope["server_span"] = span
            await middleware(scope, receive, send)

    return app


def _call(app: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as client:
            return await client.post("/v1/ask", json={"question": f"my key {KEY}"})

    return asyncio.run(go())


class TestRequestEvents:
    """A 5xx or an exception becomes one event, tagged and grouped by error type."""

    def test_noted_5xx_becomes_a_tagged_event(self, tracking: list[dict[str, Any]]) -> None:
        spans: list[Any] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            spans.append(scope["server_span"])
            try:
                raise RuntimeError(f"upstream said no to {EMAIL}")
            except RuntimeError as exc:
                noted = {"error_type": "upstream_timeout", "exception": exc, "fields": {"gen_ai_request_model": "sim-small"}}
                scope["state"]["telemetry_request_error"] = noted
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        assert _call(_serve(inner)).status_code == 502
        sentry_sdk.flush()
        (event,) = tracking
        trace_id = format(spans[0].get_span_context().trace_id, "032x")
        tags = event["tags"]
        assert tags["trace_id"] == trace_id and tags["request_id"] == "req-123"
        assert (tags["model"], tags["feature"], tags["tier"], tags["error_type"], tags["service"]) == ("sim-small", "qa", "pro", "upstream_timeout", "app")
        assert event["fingerprint"] == ["app", "upstream_timeout"]
        assert event["contexts"]["trace"]["trace_id"] == trace_id
        assert trace_id in event["contexts"]["grafana"]["trace_url"] and event["contexts"]["grafana"]["trace_url"].startswith("http://grafana.test/")
        assert EMAIL not in json.dumps(event) and KEY not in json.dumps(event)

    def test_unhandled_exception_becomes_an_event(self, tracking: list[dict[str, Any]]) -> None:
        async def inner(scope: Any, receive: Any, send: Any) -> None:
            raise ZeroDivisionError("boom")

        assert _call(_serve(inner)).status_code == 500
        sentry_sdk.flush()
        (event,) = tracking
        assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
        assert event["fingerprint"] == ["app", "ZeroDivisionError"]

    def test_deliberate_5xx_and_2xx_send_nothing(self, tracking: list[dict[str, Any]]) -> None:
        async def inner(scope: Any, receive: Any, send: Any) -> None:
            status = 200 if scope["path"] == "/ok" else 500
            if status == 500:  # the simulator's injected fault: answered on purpose
                scope["state"]["telemetry_request_error"] = {"error_type": "500", "level": "warning", "fields": {}}
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        assert _call(_serve(inner)).status_code == 500
        sentry_sdk.flush()
        assert tracking == []


def test_sdk_collects_no_pii_and_traces_nothing(tracking: list[dict[str, Any]]) -> None:
    options = sentry_sdk.get_client().options
    assert not options["send_default_pii"] and options["traces_sample_rate"] is None and options["traces_sampler"] is None
    assert options["data_collection"]["user_info"] is False and options["data_collection"]["http_bodies"] == []
    assert options["max_request_body_size"] == "never" and options["include_local_variables"] is False
    # Only the integrations chosen in errors.py: none that patches HTTP clients, logging or OpenAI.
    assert set(sentry_sdk.get_client().integrations) == {"excepthook", "threading", "dedupe", "atexit"}


def test_no_dsn_means_off() -> None:
    assert init_error_tracking(TelemetrySettings(sentry_dsn=""), "app") is False
    assert TelemetrySettings(sentry_dsn="  ").sentry_dsn is None


def test_a_malformed_dsn_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="SENTRY_DSN is not a DSN"):
        TelemetrySettings(sentry_dsn="http://127.0.0.1:8083/1")  # no key
