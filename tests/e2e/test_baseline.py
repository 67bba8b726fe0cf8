"""Baseline: ordinary traffic fires nothing but Watchdog, and exemplars link metrics to the app's traces.

The baseline run is the session's `baseline` fixture (tests/e2e/conftest.py): staged once,
by whichever test needs it first, so these tests also run alone.
"""

from __future__ import annotations

import httpx
import pytest

from demo_app.contract import load_contract
from demo_app.loadgen.runner import format_summary

pytestmark = pytest.mark.e2e


def test_baseline_fires_nothing_but_watchdog(baseline):
    result = baseline
    assert result.delivered, "Watchdog never reached the receiver: the alert pipeline is broken\n" + format_summary(result)
    assert not result.others_fired and not result.others_delivered, format_summary(result)
    assert result.stats.ok > 0.8 * result.stats.done, result.stats.as_dict()


@pytest.mark.parametrize("metric", ["gen_ai_client_operation_duration_seconds", "http_server_request_duration_seconds"])
def test_exemplars_carry_trace_ids_the_app_returned(stack, e2e_session, baseline, metric):
    assert load_contract().metric(metric).exemplars
    assert e2e_session.trace_ids, "the baseline collected no trace ids from the app's answers"
    resp = httpx.get(
        f"{stack.urls.prometheus}/api/v1/query_exemplars",
        params={"query": f"{metric}_bucket", "start": e2e_session.started_at, "end": e2e_session.started_at + 3600},
        timeout=10,
    )
    resp.raise_for_status()
    stored = {ex["labels"].get("trace_id") for series in resp.json()["data"] for ex in series["exemplars"]}
    assert stored - {None}, f"Prometheus holds no exemplars for {metric}"
    matched = stored & e2e_session.trace_ids
    assert matched, f"none of {len(stored)} exemplar trace ids of {metric} is one the app returned"
