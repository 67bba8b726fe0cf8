"""The alert receiver: Alertmanager's webhook target, keeping recent notifications for demos and tests.

Run it with `python -m demo_app.alert_sink` (HOST, PORT, ALERT_SINK_MAX from the
environment). Alertmanager posts to `POST /webhook`; `GET /alerts` shows what arrived
(oldest first, filterable by `alertname` and `since`), `DELETE /alerts` forgets it.
`GET /runbooks` serves the runbooks (runbooks.md here) that every alert's `runbook_url` opens.
"""

from demo_app.alert_sink.api import create_app

__all__ = ["create_app"]
