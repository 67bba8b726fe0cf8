"""The alert receiver stores valid Alertmanager notifications, refuses garbage, stays bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest


def notification(alertname: str = "LLMHighErrorRate", status: str = "firing", model: str = "sim-large", **extra) -> dict:
    """A webhook payload shaped exactly like Alertmanager 0.25's."""
    labels = {"alertname": alertname, "severity": "critical", "gen_ai_request_model": model}
    return {
        "receiver": "critical",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": f"{model}: 12% of LLM calls fail"},
                "startsAt": "2026-11-26T04:50:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-26T04:55:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
                "fingerprint": "1b2c3d4e5f607182",
            }
        ],
        "groupLabels": {"alertname": alertname, "gen_ai_request_model": model},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": f'{{}}/{{severity="critical"}}:{{alertname="{alertname}", gen_ai_request_model="{model}"}}',
        "truncatedAlerts": 0,
        **extra,
    }


def post(sink, body) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{sink.url}/webhook", content=content, headers={"content-type": "application/json"}, timeout=10)


def alerts(sink, **params) -> dict:
    response = httpx.get(f"{sink.url}/alerts", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


class TestStoring:
    """A valid notification is kept and returned in the documented shape, oldest first."""

    def test_stored_notification_has_the_documented_fields(self, sink):
        sent = notification()
        assert post(sink, sent).status_code == 200
        page = alerts(sink)
        assert page["count"] == 1
        (got,) = page["notifications"]
        assert set(got) == {"received_at", "status", "receiver", "groupKey", "groupLabels", "commonLabels", "alerts"}
        assert got["status"] == "firing" and got["receiver"] == "critical" and got["groupKey"] == sent["groupKey"]
        assert got["groupLabels"] == sent["groupLabels"] and got["commonLabels"] == sent["commonLabels"]
        (alert,) = got["alerts"]
        assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "fingerprint"}
        assert alert["startsAt"] == "2026-11-26T04:50:00.123456789Z"  # echoed, not reinterpreted
        received = datetime.fromisoformat(got["received_at"])
        assert received.tzinfo is not None and abs(datetime.now(UTC) - received) < timedelta(seconds=30)

    def test_filters_by_alertname_and_since(self, sink):
        post(sink, notification("LLMHighErrorRate"))
        middle = datetime.now(UTC)
        post(sink, notification("LLMCostSpike", model="sim-small"))
        post(sink, notification("LLMHighErrorRate", status="resolved"))
        assert [n["status"] for n in alerts(sink, alertname="LLMHighErrorRate")["notifications"]] == ["firing", "resolved"]
        assert alerts(sink, alertname="Watchdog") == {"count": 0, "notifications": []}
        later = alerts(sink, since=middle.isoformat())
        assert [n["alerts"][0]["labels"]["alertname"] for n in later["notifications"]] == ["LLMCostSpike", "LLMHighErrorRate"]
        assert alerts(sink, since=(middle + timedelta(hours=1)).isoformat())["count"] == 0

    def test_delete_clears_everything(self, sink):
        post(sink, notification())
        post(sink, notification())
        response = httpx.delete(f"{sink.url}/alerts", timeout=10)
        assert response.status_code == 200 and response.json() == {"cleared": 2}
        assert alerts(sink)["count"] == 0

    def test_each_notification_is_counted_and_logged(self, sink):
        def counted() -> float:
            text = httpx.get(f"{sink.url}/metrics", timeout=10).text
            for line in text.splitlines():
                if line.startswith('alert_sink_notifications_total{alertname="LLMTokenBlowup",status="resolved"}'):
                    return float(line.split()[-1])
            return 0.0

        before = counted()
        post(sink, notification("LLMTokenBlowup", status="resolved", model="sim-small"))
        assert counted() == before + 1
        lines = [json.loads(line) for line in sink.log().splitlines() if line.startswith("{")]
        logged = [entry for entry in lines if entry.get("event") == "alert notification" and entry.get("alertnames") == ["LLMTokenBlowup"]]
        assert logged and logged[-1]["receiver"] == "critical" and logged[-1]["status"] == "resolved" and logged[-1]["count"] == 1


class TestRefusing:
    """Anything that is not an Alertmanager v4 payload is refused and stored nowhere."""

    @pytest.mark.parametrize(
        "body",
        [
            b"not json at all",
            b"[]",
            json.dumps(notification(version="3")),
            json.dumps({k: v for k, v in notification().items() if k != "alerts"}),
            json.dumps(notification(alerts=[])),
            json.dumps(notification(status="exploded")),
            json.dumps(notification(alerts=[{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "yesterday", "endsAt": "0001-01-01T00:00:00Z"}])),
        ],
        ids=["not-json", "array", "version-3", "no-alerts", "empty-alerts", "bad-status", "bad-time"],
    )
    def test_garbage_is_422(self, sink, body):
        response = post(sink, body)
        assert response.status_code == 422, response.text
        assert alerts(sink)["count"] == 0

    def test_a_body_over_one_mebibyte_is_413(self, sink):
        big = notification()
        big["commonAnnotations"] = {"padding": "x" * (1024 * 1024)}
        response = post(sink, big)
        assert response.status_code == 413
        assert alerts(sink)["count"] == 0

    def test_a_bad_since_is_422(self, sink):
        assert httpx.get(f"{sink.url}/alerts", params={"since": "last tuesday"}, timeout=10).status_code == 422

    def test_refusals_are_counted_as_invalid(self, sink):
        text = httpx.get(f"{sink.url}/metrics", timeout=10).text
        before = sum(float(line.split()[-1]) for line in text.splitlines() if 'status="invalid"' in line and not line.startswith("#"))
        post(sink, b"{")
        text = httpx.get(f"{sink.url}/metrics", timeout=10).text
        after = sum(float(line.split()[-1]) for line in text.splitlines() if 'status="invalid"' in line and not line.startswith("#"))
        assert after == before + 1


def test_memory_is_bounded_to_the_newest_notifications(start_sink):
    small = start_sink(ALERT_SINK_MAX="5")
    for i in range(12):
        assert post(small, notification(model="sim-large", groupKey=f"key-{i}")).status_code == 200
    page = alerts(small)
    assert page["count"] == 5
    assert [n["groupKey"] for n in page["notifications"]] == [f"key-{i}" for i in range(7, 12)]


def test_health(sink):
    assert httpx.get(f"{sink.url}/healthz", timeout=5).json() == {"status": "ok"}
