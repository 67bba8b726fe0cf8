"""HTTP API of the alert receiver: POST /webhook, GET and DELETE /alerts, GET /runbooks, GET /healthz.

GET /metrics (alert_sink_notifications_total) and the request-id middleware come from
`Telemetry.instrument`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from demo_app.alert_sink.config import SinkSettings
from demo_app.alert_sink.models import AlertsPage, StoredNotification, WebhookPayload
from demo_app.alert_sink.runbooks import render_runbooks
from demo_app.alert_sink.store import NotificationStore
from demo_app.contract import load_contract
from demo_app.telemetry import get_logger, setup_telemetry

__all__ = ["create_app"]

_METRIC = "alert_sink_notifications_total"
_UNKNOWN = "unknown"  # alertname label of payloads we could not read


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _as_utc(moment: datetime) -> datetime:
    # `since` without an offset is read as UTC, the zone received_at is written in.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def create_app(settings: SinkSettings | None = None) -> FastAPI:
    """Build the receiver app with its own store (one per app, so tests can build several)."""
    settings = settings or SinkSettings()
    tel = setup_telemetry(service_name="alert-sink", component="alert_sink")
    log = get_logger()
    counter = tel.metric(_METRIC)
    allowed_alertname = load_contract().labels["alertname"].allows
    store = NotificationStore(settings.alert_sink_max)

    app = FastAPI(
        title="llm-obs-stack alert receiver",
        description="Receives Alertmanager webhook notifications and keeps the most recent ones.",
        version="1",
    )
    app.state.store = store
    tel.instrument(app)

    def count_notification(alertname: str, status: str) -> None:
        counter.labels(alertname=alertname if allowed_alertname(alertname) else _UNKNOWN, status=status).inc()

    @app.post(
        "/webhook",
        status_code=200,
        responses={
            413: {"description": "Body larger than ALERT_SINK_MAX_BODY_BYTES."},
            422: {"description": "Not an Alertmanager webhook payload (version 4)."},
        },
    )
    async def webhook(request: Request) -> Any:
        """Store one Alertmanager notification (webhook payload version 4)."""
        try:
            body = await _read_body(request, settings.alert_sink_max_body_bytes)
            payload = WebhookPayload.model_validate_json(body)
        except _BodyTooLarge:
            count_notification(_UNKNOWN, "invalid")
            log.warning("webhook payload too large", status_code=413)
            return JSONResponse(status_code=413, content={"detail": f"body larger than {settings.alert_sink_max_body_bytes} bytes"})
        except ValidationError as exc:
            count_notification(_UNKNOWN, "invalid")
            log.warning("invalid webhook payload", status_code=422, count=exc.error_count())
            detail = json.loads(exc.json(include_url=False, include_input=False))
            return JSONResponse(status_code=422, content={"detail": detail})

        notification = StoredNotification.from_payload(payload, datetime.now(UTC))
        store.add(notification)
        alertnames = payload.alertnames()
        for name, status in dict.fromkeys((a.labels.get("alertname", ""), a.status) for a in payload.alerts):
            count_notification(name, status)
        log.info(
            "alert notification",
            receiver=payload.receiver,
            status=payload.status,
            alertnames=alertnames,
            count=len(payload.alerts),
        )
        return {"stored": True, "count": len(store)}

    @app.get("/alerts", response_model=AlertsPage)
    async def list_alerts(
        alertname: Annotated[str | None, Query(min_length=1, max_length=200, description="Only notifications with an alert of this name")] = None,
        since: Annotated[datetime | None, Query(description="Only notifications received at or after this RFC 3339 time")] = None,
    ) -> AlertsPage:
        """Received notifications, oldest first."""
        items = store.list(alertname=alertname, since=_as_utc(since) if since else None)
        return AlertsPage(count=len(items), notifications=items)

    @app.delete("/alerts")
    async def clear_alerts() -> dict[str, int]:
        """Forget every stored notification."""
        cleared = store.clear()
        log.info("alerts cleared", count=cleared)
        return {"cleared": cleared}

    @app.get("/runbooks", response_class=HTMLResponse)
    async def runbooks() -> HTMLResponse:
        """The runbooks, one section per alert: each alert's runbook_url ends in `#<alertname in lower case>`."""
        return HTMLResponse(render_runbooks())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
