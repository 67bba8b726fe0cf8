"""Every catalogue scenario fires its alert at the receiver within budget, and nothing it does not allow.

Each scenario runs after the session's baseline (the spike alerts compare against its
traffic); `scenario_result` stages it, or reuses the run if another test staged it first.
"""

from __future__ import annotations

import pytest

from demo_app.loadgen.runner import format_summary

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
def test_scenario_delivers_its_alert_within_budget(baseline, scenario_result, scenario_name):  # one per scenario, see conftest
    result = scenario_result(scenario_name)
    summary = format_summary(result)
    print(summary)
    assert result.delivered, summary
    assert result.within_budget, summary
    assert not result.unexpected, summary
    assert result.inhibition_ok, summary
