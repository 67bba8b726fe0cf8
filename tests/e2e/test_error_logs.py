"""The overview's "Recent error logs" panel has lines to show after an error scenario.

Native mode has no Loki: the OTLP sink (demo_app/native/otlp_sink.py) receives the same
log records Loki would. The panel's query is read from the generated dashboard JSON and
applied to those records as Loki would: its stream selector on service_name (the resource's
service.name) and its line filter on the severity_text structured metadata. LogQL regex
matchers are anchored (RE2), as re.fullmatch is.

The scenario is slo-burn, the one whose faults reach callers (over a quarter of its requests
end in a 5xx after retries and fallback); error-spike's failures are all absorbed by retries
and fallback, so they are WARNING lines and the panel rightly stays empty for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

OVERVIEW = Path(__file__).resolve().parents[2] / "grafana" / "dashboards" / "llm-overview.json"
PANEL = "Recent error logs"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _panel_query() -> str:
    def panels(items: list[dict]):
        for item in items:
            yield item
            yield from panels(item.get("panels") or [])

    dashboard = json.loads(OVERVIEW.read_text(encoding="utf-8"))
    (panel,) = [p for p in panels(dashboard["panels"]) if p.get("title") == PANEL]
    (target,) = panel["targets"]
    return target["expr"]


def _matcher(query: str, name: str) -> re.Pattern[str]:
    """The regex of `name =~ "..."` in the query (in the stream selector or a label filter)."""
    match = re.search(name + r'\s*=~\s*"((?:[^"\\]|\\.)*)"', query)
    assert match, f"{PANEL}: no {name}=~ matcher in {query!r}"
    return re.compile(match.group(1).encode().decode("unicode_escape"))


@pytest.mark.timeout(900)
def test_recent_error_logs_panel_has_the_failed_requests(stack, scenario_result):
    result = scenario_result("slo-burn")
    assert result.stats.server_errors > 0, "slo-burn should end some requests in a 5xx for their callers"
    query = _panel_query()
    services, severity = _matcher(query, "service_name"), _matcher(query, "severity_text")
    records = httpx.get(f"{stack.url('otlp')}/logs", timeout=30).json()
    shown = [r for r in records if services.fullmatch(r["service"]) and severity.fullmatch(r["severity_text"])]
    assert shown, f"no record the panel would show among {len(records)} (severities: {sorted({r['severity_text'] for r in records})})"
    for record in shown:
        attrs = record["attributes"]
        assert (record["service"], record["body"], record["severity_number"]) == ("demo-app", "request", 17), record
        assert attrs["status_code"] >= 500 and attrs["error_type"] and attrs["http_route"] in {"/v1/ask", "/v1/agent"}, record
        assert attrs["request_id"] and HEX32.match(record["trace_id"]), record
    # Exactly the app's 5xx request lines: every one of them is on the panel, and nothing else is;
    # the simulator's injected 5xx and the app's retried attempts are WARNING.
    failed = [r for r in records if r["service"] == "demo-app" and r["body"] == "request" and r["attributes"]["status_code"] >= 500]
    assert sorted(r["attributes"]["request_id"] for r in failed) == sorted(r["attributes"]["request_id"] for r in shown)
    warnings = {r["body"] for r in records if r["severity_text"] == "WARNING"}
    assert "llm call failed" in warnings, warnings
