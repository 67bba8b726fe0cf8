"""ASGI middleware: X-Request-ID, the HTTP server duration metric and one log line per request.

It runs inside the OpenTelemetry server span (FastAPI's own telemetry, or the contrib FastAPI
instrumentation, wraps the whole middleware stack), so its log line carries the trace id and
its histogram observation gets an exemplar. A pure ASGI middleware rather than Starlette's
BaseHTTPMiddleware: it does not buffer streaming responses and keeps contextvars visible to
the endpoint.

Log levels (the contract's `log_levels`): the per-request line is the one ERROR line of a
request that ends in a 5xx, INFO otherwise. An error handler says why with
`note_request_error` (error type, model, the exception): its fields join that line, the
exception becomes an `exception` event on the server span and, under the contrib
instrumentation, its error type the span's `error.type` (FastAPI's own telemetry sets
`error.type` itself as the response ends: the status code, as HTTP semconv asks when no
exception reached the server; the provider's error class stays on the chat span). A 5xx a
component answers on purpose (the simulator's injected faults) is noted with level
"warning": it is what its caller asked for, not an error of the component.

One line per request: what the endpoint knows about its outcome (the answer's model, scores,
retries) joins the same line through `add_request_fields` instead of a line of its own (each
log line is also an OTLP record: one fewer per request is less to encode and ship).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from demo_app.telemetry.logs import get_logger

__all__ = ["RequestContextMiddleware", "REQUEST_ID_HEADER", "valid_request_id", "note_request_error", "add_request_fields"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._\-]{1,64}")
_KNOWN_METHODS = frozenset({"GET", "POST", "DELETE"})
# Scrapes and health checks arrive every few seconds; a log line each would drown the rest.
_QUIET_PATHS = frozenset({"/metrics", "/healthz"})
# Key in the ASGI scope's "state" (shared with Starlette's request.state) under which an
# error handler leaves what the per-request log line and the server span should say.
_ERROR_STATE = "telemetry_request_error"
# The fields the request's code adds to its line (add_request_fields): one dict per request,
# set before the app runs, so what the endpoint (or a task it starts, in a copied context)
# adds is in the very dict the middleware reads at the end.
_REQUEST_FIELDS: ContextVar[dict[str, Any] | None] = ContextVar("telemetry_request_fields", default=None)


def note_request_error(
    request: Any, *, error_type: str, exception: BaseException | None = None, level: str | None = None, **fields: Any
) -> None:
    """Tell the request middleware why this request fails: `error_type` (and `fields`) go on its
    log line, `exception` becomes an `exception` event of the server span.

    `request` is a Starlette Request (or an ASGI scope). `level` overrides the line's level
    ("warning" for a 5xx answered on purpose); the default is ERROR for 5xx, INFO below.
    """
    scope = request if isinstance(request, dict) else request.scope
    scope.setdefault("state", {})[_ERROR_STATE] = {"error_type": error_type, "exception": exception, "level": level, "fields": fields}


def add_request_fields(**fields: Any) -> bool:
    """Put `fields` on this request's `request` log line rather than on a line of their own.

    The structlog context bound where this is called (team, conversation id) goes with them:
    the line carries what a line logged here would have. False outside a request this
    middleware handles; the caller then logs its own line.
    """
    noted = _REQUEST_FIELDS.get()
    if noted is None:
        return False
    noted.update(structlog.contextvars.get_contextvars(), **fields)
    return True


def valid_request_id(value: str | None) -> bool:
    """A caller's request id is kept only if short and plain (it ends up in logs and headers)."""
    return value is not None and _REQUEST_ID_RE.fullmatch(value) is not None


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                text = value.decode("ascii")
            except UnicodeDecodeError:
                return None
            return text if valid_request_id(text) else None
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's path template ("/v1/ask"), "" when no route matched."""
    route = scope.get("route")
    return getattr(route, "path", "") or ""


class RequestContextMiddleware:
    """Per request: request id in/out, structlog context, duration histogram, access log line."""

    def __init__(
        self,
        app: ASGIApp,
        duration_histogram: Any | None = None,
        measured_route: Callable[[str], bool] = lambda route: True,
        record_escaping_exceptions: bool = False,
    ) -> None:
        self.app = app
        self._histogram = duration_histogram
        self._measured_route = measured_route
        self._record_escaping = record_escaping_exceptions
        self._log = get_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("app.request_id", request_id)
        status = {"code": 500}  # if the app dies before answering, ServerErrorMiddleware sends a 500

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)
            if message["type"] == "http.response.start" and message["status"] >= 500:
                # After the contrib instrumentation's own send, which sets error.type to the status code.
                _mark_span(span, scope.get("state", {}).get(_ERROR_STATE))

        started = time.perf_counter()
        # bind/reset rather than the bound_contextvars() context manager: same effect, a
        # third of the cost, and this runs on every request.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        fields_token = _REQUEST_FIELDS.set({})
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Starlette re-raises after its 500 (the instrumentation records it on the span):
            # keep it for the request's one ERROR line instead of a line of its own.
            state = scope.setdefault("state", {})
            noted = state.get(_ERROR_STATE)
            if noted is None or noted.get("exception") is None:
                state[_ERROR_STATE] = {**(noted or {"error_type": type(exc).__name__, "fields": {}}), "exception": exc}
            if self._record_escaping:
                _mark_span(span, state[_ERROR_STATE])
            raise
        finally:
            try:
                self._finish(scope, status["code"], time.perf_counter() - started)
            finally:
                _REQUEST_FIELDS.reset(fields_token)
                structlog.contextvars.reset_contextvars(**tokens)

    def _finish(self, scope: Scope, status_code: int, duration_s: float) -> None:
        route = _route_template(scope)
        method = scope.get("method", "")
        # Routes the contract does not list (/openapi.json, /docs) are served but not
        # measured: the label set stays exactly what dashboards and tests expect.
        if self._histogram is not None and self._measured_route(route):
            self._histogram.labels(
                http_request_method=method if method in _KNOWN_METHODS else "_OTHER",
                http_route=route,
                http_response_status_code=str(status_code),
            ).observe(duration_s)
        if scope.get("path") in _QUIET_PATHS and status_code < 400:
            return
        noted = scope.get("state", {}).get(_ERROR_STATE) or {}
        fields: dict[str, Any] = {
            **(_REQUEST_FIELDS.get() or {}),
            "http_method": method,
            "http_route": route,
            "status_code": status_code,
            "duration_ms": round(duration_s * 1000, 2),
        }
        if noted:
            fields |= {"error_type": noted.get("error_type"), **noted.get("fields", {})}
            if noted.get("exception") is not None:
                fields["exc_info"] = noted["exception"]
        level = noted.get("level") or ("error" if status_code >= 500 else "info")
        getattr(self._log, level)("request", **fields)


def _mark_span(span: Any, noted: dict[str, Any] | None) -> None:
    """The noted error on the server span: error.type, and the exception as an `exception` event
    (OTel exception conventions; masked on export like every span event)."""
    if not noted or not span.is_recording():
        return
    span.set_attribute("error.type", noted["error_type"])
    exception = noted.get("exception")
    if exception is not None and noted.get("recorded") is not True:
        noted["recorded"] = True
        span.record_exception(exception, escaped=False)
