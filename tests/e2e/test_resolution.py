"""After each scenario's fault is gone, its alert resolves and the receiver gets the resolved notification.

The scenarios do not wait for this one by one (that would double the suite's time): the
receiver keeps every notification, so each scenario's resolution is read here afterwards.
Run alone, a test stages its scenario first (`scenario_result`, after the baseline).
"""

from __future__ import annotations

import time

import httpx
import pytest

from demo_app.loadgen.observe import parse_rfc3339, rfc3339

pytestmark = pytest.mark.e2e

RESOLVE_TIMEOUT_S = 240.0  # longest window (2m quality) + for + group_interval, with room


def _resolved_at(sink_url: str, alert, since: float) -> float | None:
    resp = httpx.get(f"{sink_url}/alerts", params={"alertname": alert.name, "since": rfc3339(since)}, timeout=5)
    resp.raise_for_status()
    for note in resp.json()["notifications"]:
        if any(a["status"] == "resolved" and alert.matches(a["labels"]) for a in note["alerts"]):
            return parse_rfc3339(note["received_at"])
    return None


@pytest.mark.timeout(900 + int(RESOLVE_TIMEOUT_S))  # the scenario itself, when this test stages it
def test_alert_resolves_after_the_fault_is_gone(stack, e2e_session, baseline, scenario_result, scenario_name):
    result = scenario_result(scenario_name)
    assert result.delivered, f"{scenario_name} did not deliver its alert, nothing to resolve"
    record = e2e_session.records[scenario_name]
    deadline = result.cleared_at + RESOLVE_TIMEOUT_S
    for timeline in result.timelines:
        while (at := _resolved_at(stack.urls.sink, timeline.alert, result.cleared_at)) is None and time.time() < deadline:
            time.sleep(2.0)
        assert at is not None, f"{timeline.alert}: no resolved notification {RESOLVE_TIMEOUT_S:.0f}s after the fault was cleared"
        timeline.resolved_s = at - result.cleared_at
        record["alerts"][str(timeline.alert)]["resolved_s"] = round(timeline.resolved_s, 1)
    record["resolved_seconds"] = round(max(t.resolved_s for t in result.timelines), 1)
