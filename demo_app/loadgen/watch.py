"""Watching the alert travel: Prometheus rule state, Alertmanager inhibition, the receiver's notifications.

`AlertWatch` keeps one timeline per expected alert (seconds after the fault was injected to
pending, firing, delivered and, after the fault is cleared, resolved) and notes every other
alert that fired; `settle` waits for a clean start.
"""

from __future__ import annotations

import asyncio
import time

from demo_app.loadgen.catalogue import ALWAYS_ALLOWED, Scenario
from demo_app.loadgen.display import Display
from demo_app.loadgen.observe import StackClient, parse_rfc3339
from demo_app.loadgen.outcome import AlertTimeline, alert_key

__all__ = ["AlertWatch", "settle"]


class AlertWatch:
    """Polls Prometheus, Alertmanager and the receiver; keeps the timelines up to date."""

    def __init__(self, client: StackClient, scenario: Scenario, t0_wall: float, t0_mono: float) -> None:
        self.c, self.scenario = client, scenario
        self.t0_wall, self.t0_mono = t0_wall, t0_mono
        self.timelines = [AlertTimeline(a) for a in scenario.expected]
        self.others_fired: dict[str, float] = {}
        self.others_delivered: dict[str, float] = {}
        self.carried_over: set[str] = set()
        self.inhibition = {str(a): {"fired": False, "suppressed": False, "delivered": False} for a in scenario.inhibited}
        self.cleared_wall: float | None = None  # when the faults were removed

    def elapsed(self) -> float:
        return time.monotonic() - self.t0_mono

    def _expected_match(self, labels: dict[str, str]) -> bool:
        return any(t.alert.matches(labels) for t in self.timelines) or any(a.matches(labels) for a in self.scenario.inhibited)

    def _is_other(self, labels: dict[str, str], key: str) -> bool:
        """An alert this scenario neither expects nor permits everywhere, and not active before the fault."""
        return labels.get("alertname") not in ALWAYS_ALLOWED and not self._expected_match(labels) and key not in self.carried_over

    async def poll_rules(self) -> None:
        now = self.elapsed()
        for alert in await self.c.rule_alerts():
            labels, state = alert["labels"], alert["state"]
            for t in self.timelines:
                if not t.alert.matches(labels):
                    continue
                if t.pending_s is None:
                    active_at = alert.get("activeAt")
                    t.pending_s = max(0.0, parse_rfc3339(active_at) - self.t0_wall) if active_at else now
                if state == "firing" and t.firing_s is None:
                    t.firing_s = now
            for inhibited in self.scenario.inhibited:
                if inhibited.matches(labels) and state == "firing":
                    self.inhibition[str(inhibited)]["fired"] = True
            key = alert_key(labels)
            if state == "firing" and self._is_other(labels, key):
                self.others_fired.setdefault(key, round(now, 1))

    async def poll_receiver(self) -> None:
        since = self.t0_wall if self.scenario.delivered_since_start else None
        for note in await self.c.notifications(since=since):
            received = parse_rfc3339(note["received_at"]) - self.t0_wall
            for alert in note.get("alerts", []):
                labels, status = alert["labels"], alert["status"]
                for t in self.timelines:
                    if not t.alert.matches(labels):
                        continue
                    if status == "firing" and t.delivered_s is None:
                        t.delivered_s = max(0.0, received)
                    if status == "resolved" and self.cleared_wall is not None and t.resolved_s is None:
                        resolved_after_clear = parse_rfc3339(note["received_at"]) - self.cleared_wall
                        if resolved_after_clear >= 0:
                            t.resolved_s = resolved_after_clear
                for inhibited in self.scenario.inhibited:
                    if inhibited.matches(labels) and status == "firing":
                        self.inhibition[str(inhibited)]["delivered"] = True
                key = alert_key(labels)
                if status == "firing" and self._is_other(labels, key):
                    self.others_delivered.setdefault(key, round(max(0.0, received), 1))

    async def poll_inhibition(self) -> None:
        if not self.scenario.inhibited:
            return
        for alert in await self.c.am_alerts():
            status = alert.get("status", {})
            for inhibited in self.scenario.inhibited:
                if inhibited.matches(alert.get("labels", {})) and status.get("state") == "suppressed" and status.get("inhibitedBy"):
                    self.inhibition[str(inhibited)]["suppressed"] = True

    async def snapshot_carry_over(self) -> None:
        """Alerts already pending/firing before the fault: not this scenario's doing."""
        for alert in await self.c.rule_alerts():
            self.carried_over.add(alert_key(alert["labels"]))

    def done(self) -> bool:
        delivered = all(t.delivered_s is not None for t in self.timelines)
        inhibited = all(v["suppressed"] or v["delivered"] for v in self.inhibition.values())
        return delivered and inhibited and self.elapsed() >= self.scenario.observe_s


# The shortest window an error alert looks back over (LLMProviderOutage's ratio_rate30s in
# prometheus/rules/llm-alerts.yml). Once it holds no failed LLM call, the failures of a fault
# just removed (the previous run's, or one a killed run left) can no longer fire an error,
# outage or SLO alert: the longer windows still hold some, but too few for their `for:`.
QUIET_WINDOW = "30s"


async def settle(client: StackClient, scenario: Scenario, timeout_s: float, display: Display, poll_s: float = 2.0) -> None:
    """Wait for a clean start: none of the expected (or to-be-inhibited) alerts active, and no
    LLM call failed within QUIET_WINDOW, so this run measures fresh alerts and is not blamed for
    one the previous run's fault fires after it was removed (a stray alert fails a run)."""
    if not scenario.delivered_since_start:
        return
    watched = scenario.expected + scenario.inhibited
    deadline = time.monotonic() + timeout_s
    announced: set[str] = set()
    while time.monotonic() < deadline:
        waiting = [alert_key(a["labels"]) for a in await client.rule_alerts() if any(e.matches(a["labels"]) for e in watched)]
        failed = await client.failed_llm_calls(QUIET_WINDOW)
        if failed > 0:
            waiting.append(f"the failed LLM calls of the last {QUIET_WINDOW}")
        if not waiting:
            return
        news = [w for w in waiting if w not in announced]  # each said once, not on every poll
        if news:
            shown = [f"{w} ({failed:.0f} now)" if w.startswith("the failed") else w for w in news]
            display.event(f"waiting for {', '.join(shown)} to clear before starting")
            announced.update(news)
        await asyncio.sleep(poll_s)
    display.event("the stack did not settle within the settle timeout; starting anyway (times may be short, stray alerts possible)")
