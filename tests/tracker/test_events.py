"""A failed request becomes a tracker issue whose event names its trace and carries none of the caller's secrets.

Runs on the native stack with the real Bugsink (see conftest.py) and reads the result back
through Bugsink's own API, as a user's script would.
"""

from __future__ import annotations

import json

import httpx
import pytest

from demo_app.native import NativeStack
from demo_app.procs import poll_until
from tests.tracker.conftest import PLANTED_QUESTION, SECRETS, TrackerApi

pytestmark = pytest.mark.e2e


def _server_trace_id(stack: NativeStack, request_id: str) -> str:
    """The trace id of the app's server span for `request_id`, as the OTLP receiver got it."""

    def find() -> str | None:
        spans = httpx.get(f"{stack.url('otlp')}/spans", timeout=5.0).json()
        for span in spans:
            if span["service"] == "demo-app" and span["kind"] == "SERVER" and span["attributes"].get("app.request_id") == request_id:
                return span["trace_id"]
        return None

    return poll_until(find, f"the app's server span of request {request_id}", timeout=30.0)


@pytest.fixture(scope="module")
def failed_request(tracker_stack: NativeStack) -> dict[str, str]:
    """One /v1/ask with planted secrets that fails: the simulator answers every call with a 500."""
    sim = tracker_stack.urls.sim
    httpx.post(f"{sim}/faults", json={"kind": "error", "rate": 1.0, "ttl_s": 120}, timeout=5.0).raise_for_status()
    try:
        response = httpx.post(
            f"{tracker_stack.urls.app}/v1/ask",
            json={"question": PLANTED_QUESTION, "feature": "qa", "user_tier": "pro"},
            headers={"Authorization": f"Bearer {SECRETS['api_key']}"},
            timeout=30.0,
        )
    finally:
        httpx.delete(f"{sim}/faults", timeout=5.0)
    assert response.status_code == 502, response.text
    request_id = response.headers["x-request-id"]
    return {"request_id": request_id, "trace_id": _server_trace_id(tracker_stack, request_id)}


class TestErrorEvent:
    """The 502 the app answered is an issue in Bugsink, its event tagged with the request's ids."""

    def test_event_carries_the_requests_trace_id(self, tracker_api: TrackerApi, failed_request: dict[str, str]) -> None:
        event = tracker_api.event_with_tag("request_id", failed_request["request_id"])
        tags = event["data"]["tags"]
        assert tags["trace_id"] == failed_request["trace_id"]
        assert len(tags["trace_id"]) == 32 and tags["trace_id"] == tags["trace_id"].lower()
        # The event's trace context is the OTel one, not the SDK's own random id.
        assert event["data"]["contexts"]["trace"]["trace_id"] == failed_request["trace_id"]
        assert {tags["feature"], tags["tier"], tags["service"], tags["http_status_code"]} == {"qa", "pro", "demo-app", "502"}
        assert tags["model"] and tags["error_type"]

    def test_issue_is_grouped_by_error_type(self, tracker_api: TrackerApi, failed_request: dict[str, str]) -> None:
        event = tracker_api.event_with_tag("request_id", failed_request["request_id"])
        tags = event["data"]["tags"]
        assert event["data"]["fingerprint"] == ["demo-app", tags["error_type"]]
        assert event["issue"]["calculated_type"] == "LLMError"  # the exception the handler noted, with its stack

    def test_event_holds_none_of_the_planted_secrets(self, tracker_api: TrackerApi, failed_request: dict[str, str]) -> None:
        event = tracker_api.event_with_tag("request_id", failed_request["request_id"])
        stored = json.dumps(event)
        for name, secret in SECRETS.items():
            assert secret not in stored, f"the {name} planted in the question reached the tracker"
        assert "sky blue" not in stored, "question text reached the tracker with content capture off"
        assert "request" not in event["data"] and "user" not in event["data"]

    def test_only_the_app_reports_the_failure(self, tracker_api: TrackerApi, failed_request: dict[str, str]) -> None:
        # The simulator's 500s were injected (answered on purpose): the app's 502 is the one error.
        tracker_api.event_with_tag("request_id", failed_request["request_id"])
        services = {
            (event["data"].get("tags") or {}).get("service") for issue in tracker_api.issues() for event in tracker_api.events(issue["id"])
        }
        assert services == {"demo-app"}


@pytest.mark.parametrize("component", ["llm-sim", "alert-sink"])
def test_simulator_and_receiver_report_to_the_tracker(tracker_stack: NativeStack, component: str) -> None:
    """They got the DSN and started the SDK (their errors are reported like the app's, by the same code)."""
    ready = [json.loads(line) for line in tracker_stack.procs[component].log().splitlines() if '"telemetry ready"' in line]
    assert ready and ready[-1]["error_tracking"] is True, ready


class TestTraceLink:
    """From the event, one click opens the trace in Grafana."""

    def test_event_page_links_to_the_trace_in_grafana(self, tracker_api: TrackerApi, failed_request: dict[str, str]) -> None:
        event = tracker_api.event_with_tag("request_id", failed_request["request_id"])
        trace_url = event["data"]["contexts"]["grafana"]["trace_url"]
        assert failed_request["trace_id"] in trace_url and "/explore?" in trace_url
        browser = tracker_api.logged_in_client()
        try:
            page = browser.get(f"/issues/issue/{event['issue']['id']}/event/{event['id']}/")
        finally:
            browser.close()
        assert page.status_code == 200, page.status_code
        escaped = trace_url.replace("&", "&amp;")
        assert f'href="{escaped}"' in page.text, "the event page has no link to the trace"
        assert "Open the trace in Grafana" in page.text
