"""Inhibition on a running Alertmanager: suppressed alerts never reach the receiver.

`amtool` cannot evaluate inhibit_rules offline, so each case of
alertmanager/tests/inhibition.test.yml runs against a real, fresh Alertmanager (config
generated from alertmanager.yml, webhook pointed at a real alert receiver): all the
case's alerts are posted at once to /api/v2/alerts, then we wait for the expected
deliveries and check that Alertmanager marked the others suppressed and never sent them.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from demo_app.procs import poll_until

CASES_FILE = Path(__file__).resolve().parents[2] / "alertmanager" / "tests" / "inhibition.test.yml"
CASES = yaml.safe_load(CASES_FILE.read_text())["cases"]


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted(labels.items()))


def _delivered(sink) -> set[tuple]:
    page = httpx.get(f"{sink.url}/alerts", timeout=5).json()
    return {_key(a["labels"]) for n in page["notifications"] for a in n["alerts"] if a["status"] == "firing"}


def _am_states(am) -> dict[tuple, dict]:
    alerts = httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
    return {_key(a["labels"]): a["status"] for a in alerts}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_inhibition_case(case, sink, start_alertmanager):
    am = start_alertmanager(sink)
    alerts = [a["labels"] for a in case["alerts"]]
    expect_delivered = {_key(a["labels"]) for a in case["alerts"] if a["expect"] == "delivered"}
    expect_suppressed = {_key(a["labels"]) for a in case["alerts"] if a["expect"] == "suppressed"}
    assert expect_delivered and expect_suppressed, "a case needs both outcomes to prove anything"

    posted = httpx.post(
        f"{am.url}/api/v2/alerts",
        json=[{"labels": labels, "annotations": {"summary": "posted by tests/alerting"}} for labels in alerts],
        timeout=5,
    )
    assert posted.status_code == 200, posted.text

    # group_wait is 5 s; every group of this case starts at the same moment.
    poll_until(lambda: expect_delivered <= _delivered(sink), f"{case['name']}: deliveries of {len(expect_delivered)} alerts", 30)

    states = _am_states(am)
    for key in expect_suppressed:
        assert states[key]["state"] == "suppressed" and states[key]["inhibitedBy"], f"{dict(key)} is not inhibited: {states[key]}"
    for key in expect_delivered:
        assert states[key]["state"] == "active", f"{dict(key)}: {states[key]}"

    # The suppressed alerts' groups were due at the same time as the delivered ones; give
    # a slow machine a moment more, then make sure nothing suppressed got through.
    time.sleep(2)
    leaked = expect_suppressed & _delivered(sink)
    assert not leaked, f"inhibited alerts were delivered: {[dict(k) for k in leaked]}"
