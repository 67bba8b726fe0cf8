"""Error tracking: the official `sentry-sdk`, sending to a Sentry-compatible server (Bugsink in this stack).

Off unless SENTRY_DSN is set. When on, two things become events:
  - an unhandled exception (in a request, the main thread or a thread), and
  - every request that ends in a 5xx for its caller, with the exception its error handler noted
    (`note_request_error`) or, without one, a message naming the status and the error type.
A 5xx a component answers on purpose (the simulator's injected faults, noted with level
"warning") is not an error of that component and sends nothing; the app that receives it
reports its own 502.

Each event is tagged `trace_id` (the request's OpenTelemetry trace id, 32 lower-case hex),
`span_id`, `request_id`, `service`, `model`, `feature`, `tier` and `error_type`, grouped by
(service, error type) through its fingerprint, and carries a `grafana` context whose
`trace_url` opens the trace in Grafana's Explore. `contexts.trace` is replaced by the OTel ids:
the SDK's own (random) trace id would point nowhere.

What the SDK must not do, and how it is kept from it:
  - fight OpenTelemetry: tracing stays off (no traces_sample_rate), and only four integrations
    run (excepthook, threading, dedupe, atexit). The defaults would patch http.client
    (sentry-trace headers beside W3C traceparent), turn every ERROR log line into an event
    (duplicates of the request events) and auto-enable the OpenAI integration, which records
    prompts; none of them is loaded.
  - leak: `before_send` applies the masking of logs and spans (demo_app.telemetry.masking) to
    the whole event, drops request data, cookies, headers, user and breadcrumbs, and removes
    prompt and completion text unless content capture is on. send_default_pii stays off (and
    data_collection, which supersedes it, collects no user, body, GenAI text or locals), local
    variables are not captured (they hold questions and keys), request bodies are never read.
  - slow the app down: capture only enqueues; the SDK's transport sends from its own thread
    through a bounded queue (SENTRY_QUEUE_SIZE) and drops when it is full, so a tracker that
    is down or slow costs a request nothing (tests/tracker prove it on a stopped Bugsink).
"""

from __future__ import annotations

import importlib.metadata
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, cast

import sentry_sdk
from opentelemetry import trace
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.excepthook import ExcepthookIntegration
from sentry_sdk.integrations.threading import ThreadingIntegration
from sentry_sdk.types import Event, Hint
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from demo_app.config import TelemetrySettings
from demo_app.telemetry.masking import mask

__all__ = [
    "init_error_tracking",
    "error_tracking_enabled",
    "scrub_event",
    "grafana_trace_url",
    "ErrorTrackingMiddleware",
    "CONTENT_KEYS",
]

# Keys whose values are prompt or completion text (or hold it): removed from an event's extra,
# contexts and tags unless content capture is on. The app's own names (question, answer) and
# the GenAI conventions' (gen_ai.input.messages, ...).
CONTENT_KEYS: frozenset[str] = frozenset(
    {
        "question",
        "answer",
        "prompt",
        "completion",
        "messages",
        "content",
        "text",
        "input",
        "output",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
    }
)
# Parts of a Sentry event that can carry what a caller sent; none is needed to fix a bug.
_DROPPED_EVENT_KEYS = ("user", "breadcrumbs", "modules")
_DROPPED_REQUEST_KEYS = ("data", "cookies", "headers", "env", "query_string")
# Where an error handler leaves what it knows about a failed request (demo_app.telemetry.asgi,
# note_request_error): error type, exception, fields such as the model, and a level.
_ERROR_STATE = "telemetry_request_error"

_state: dict[str, Any] = {"enabled": False, "capture_content": False, "grafana_url": "", "service": ""}


def error_tracking_enabled() -> bool:
    """True once `init_error_tracking` has started the SDK in this process."""
    return bool(_state["enabled"])


def grafana_trace_url(grafana_url: str, trace_id: str) -> str:
    """Grafana Explore on the Tempo data source (uid `tempo`), showing trace `trace_id`."""
    pane = {
        "datasource": "tempo",
        "queries": [{"refId": "A", "datasource": {"type": "tempo", "uid": "tempo"}, "queryType": "traceql", "query": trace_id}],
        "range": {"from": "now-1h", "to": "now"},
    }
    panes = json.dumps({"trace": pane}, separators=(",", ":"))
    return f"{grafana_url.rstrip('/')}/explore?schemaVersion=1&orgId=1&panes={urllib.parse.quote(panes, safe='')}"


def _drop_content(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_content(v) for k, v in value.items() if str(k).lower() not in CONTENT_KEYS}
    return value


def scrub_event(event: dict[str, Any], capture_content: bool) -> dict[str, Any]:
    """The event as it may leave the process: no request data, no PII, no content (unless
    capture is on), every string masked (API keys, bearer tokens, e-mails, card numbers)."""
    for key in _DROPPED_EVENT_KEYS:
        event.pop(key, None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in _DROPPED_REQUEST_KEYS:
            request.pop(key, None)
    for exc in (event.get("exception") or {}).get("values") or ():
        for frame in (exc.get("stacktrace") or {}).get("frames") or ():
            frame.pop("vars", None)  # include_local_variables is off; this is the belt to its braces
    if not capture_content:
        for key in ("extra", "contexts", "tags"):
            if isinstance(event.get(key), Mapping):
                event[key] = _drop_content(event[key])
    return mask(event)


def _before_send(event: Event, hint: Hint) -> Event | None:
    return cast(Event, scrub_event(cast(dict[str, Any], event), capture_content=bool(_state["capture_content"])))


def init_error_tracking(settings: TelemetrySettings, service_name: str, *, transport: Any = None) -> bool:
    """Start the SDK when SENTRY_DSN is set (once per process); True when tracking is on.

    `transport` replaces the SDK's HTTP transport (a sentry_sdk.transport.Transport class),
    for tests that read the events in process; None sends to the DSN.
    """
    if _state["enabled"]:
        return True
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn is not None else ""
    if not dsn:
        return False
    try:
        version = importlib.metadata.version("llm-obs-stack")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        version = "dev"
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.sentry_environment,
        release=f"llm-obs-stack@{version}",
        server_name=service_name,
        # No tracing: OpenTelemetry owns traces (and the trace id the events carry).
        traces_sample_rate=None,
        profiles_sample_rate=None,
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[ExcepthookIntegration(), ThreadingIntegration(), DedupeIntegration(), AtexitIntegration()],
        # What the SDK may collect, in the form that supersedes send_default_pii (deprecated in
        # sentry-sdk 2.7x; left unset it stays False): no user identity, no HTTP bodies, no
        # local variables, no GenAI inputs or outputs.
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "gen_ai": {"inputs": False, "outputs": False},
        },
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        send_client_reports=False,
        enable_logs=False,
        in_app_include=["demo_app"],
        transport_queue_size=settings.sentry_queue_size,
        shutdown_timeout=settings.sentry_shutdown_timeout_s,
        before_send=_before_send,
        **({"transport": transport} if transport is not None else {}),
    )
    sentry_sdk.set_tag("service", service_name)
    _state.update(
        enabled=True,
        capture_content=settings.otel_instrumentation_genai_capture_message_content,
        grafana_url=settings.grafana_url,
        service=service_name,
    )
    return True


def _span_tags(span: Any) -> dict[str, str]:
    """trace_id/span_id of the server span and the feature/tier the app put on it."""
    ctx = span.get_span_context()
    tags: dict[str, str] = {}
    if ctx.is_valid:
        tags["trace_id"] = format(ctx.trace_id, "032x")
        tags["span_id"] = format(ctx.span_id, "016x")
    attributes = getattr(span, "attributes", None) or {}
    for attribute, tag in (("app.feature", "feature"), ("app.user_tier", "tier"), ("gen_ai.request.model", "model")):
        value = attributes.get(attribute)
        if isinstance(value, str) and value:
            tags[tag] = value
    return tags


def capture_request_error(scope: Scope, status: int, exception: BaseException | None, span: Any) -> None:
    """One event for a request that ended in `status` (>= 500) or raised `exception`."""
    state = scope.get("state", {})
    noted = state.get(_ERROR_STATE) or {}
    if noted.get("level") == "warning" and exception is None:
        return  # a 5xx answered on purpose: not this component's error
    exc = exception or noted.get("exception")
    error_type = str(noted.get("error_type") or (type(exc).__name__ if exc is not None else f"http_{status}"))
    fields = noted.get("fields") or {}
    tags = _span_tags(span)
    model = fields.get("gen_ai_request_model")
    if isinstance(model, str) and model:
        tags["model"] = model
    route = getattr(scope.get("route"), "path", "") or ""
    tags.update(
        request_id=str(state.get("request_id", "")),
        error_type=error_type,
        http_route=route,
        http_status_code=str(status),
    )
    with sentry_sdk.new_scope() as sentry_scope:
        for key, value in tags.items():
            if value:
                sentry_scope.set_tag(key, value)
        # Grouped by error type, not by stack trace: every upstream_timeout of the app is one issue.
        sentry_scope.fingerprint = [str(_state["service"]), error_type]
        if "trace_id" in tags:
            sentry_scope.set_context("trace", {"trace_id": tags["trace_id"], "span_id": tags.get("span_id", "")})
            sentry_scope.set_context("grafana", {"trace_url": grafana_trace_url(str(_state["grafana_url"]), tags["trace_id"])})
        if exc is not None:
            sentry_sdk.capture_exception(exc)
        else:
            method = scope.get("method", "")
            sentry_sdk.capture_message(f"{method} {route or scope.get('path', '')} answered {status} ({error_type})", level="error")


class ErrorTrackingMiddleware:
    """Sends one tracker event per request that ends in a 5xx or raises (installed only when on).

    It sits inside the request-id middleware and the server span, so both are known when the
    response starts; the event is sent after the response, from the SDK's own thread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 0}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        span = trace.get_current_span()
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            capture_request_error(scope, status["code"] or 500, exc, span)
            raise
        if status["code"] >= 500:
            capture_request_error(scope, status["code"], None, span)
