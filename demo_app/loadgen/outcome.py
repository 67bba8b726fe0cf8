"""What a scenario run observed, its verdict, its result record and its human summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from demo_app.loadgen.catalogue import ExpectedAlert, Scenario
from demo_app.loadgen.driver import Stats
from demo_app.loadgen.observe import rfc3339

__all__ = ["AlertTimeline", "RunResult", "alert_key", "format_summary"]

_NOISY_LABELS = {"alertname", "severity"}  # shown separately / the same for every instance of an alert


def alert_key(labels: dict[str, str]) -> str:
    """`Name{label="v",...}` with the labels that tell instances of one alert apart."""
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in _NOISY_LABELS)
    return f"{labels.get('alertname', '?')}{{{rest}}}" if rest else labels.get("alertname", "?")


@dataclass
class AlertTimeline:
    """When one expected alert reached each hop, in seconds after the fault was injected."""

    alert: ExpectedAlert
    pending_s: float | None = None
    firing_s: float | None = None
    delivered_s: float | None = None
    resolved_s: float | None = None  # after the fault was cleared

    @property
    def state(self) -> str:
        if self.resolved_s is not None:
            return "resolved"
        if self.delivered_s is not None:
            return "delivered"
        if self.firing_s is not None:
            return "firing"
        return "pending" if self.pending_s is not None else "inactive"

    def as_dict(self) -> dict[str, float | None]:
        return {k: _round(getattr(self, k)) for k in ("pending_s", "firing_s", "delivered_s", "resolved_s")}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _latest(values: list[float | None]) -> float | None:
    """The time by which every one had happened (None if one never did)."""
    return None if not values or any(v is None for v in values) else max(v for v in values if v is not None)


@dataclass
class RunResult:
    """Everything a run observed; `record()` is what goes into the results file."""

    scenario: Scenario
    budget_s: float
    started_at: str
    timelines: list[AlertTimeline]
    stats: Stats
    others_fired: dict[str, float] = field(default_factory=dict)  # alert key -> first seen firing (s)
    others_delivered: dict[str, float] = field(default_factory=dict)
    carried_over: list[str] = field(default_factory=list)  # already active before the fault
    inhibition: dict[str, dict[str, bool]] = field(default_factory=dict)
    interrupted: bool = False
    resolve_waited: bool = False
    machine: dict[str, Any] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)
    cleared_at: float | None = None  # epoch seconds when the faults were removed

    @property
    def delivered(self) -> bool:
        return all(t.delivered_s is not None for t in self.timelines)

    @property
    def seconds_to_delivered(self) -> float | None:
        return _latest([t.delivered_s for t in self.timelines])

    @property
    def within_budget(self) -> bool:
        seconds = self.seconds_to_delivered
        return seconds is not None and seconds <= self.budget_s

    @property
    def unexpected(self) -> list[str]:
        """Alerts that fired or were delivered although the scenario does not permit them."""
        permitted = self.scenario.permitted
        keys = set(self.others_fired) | set(self.others_delivered)
        return sorted(k for k in keys if k.split("{", 1)[0] not in permitted)

    @property
    def inhibition_ok(self) -> bool:
        return all(v["fired"] and v["suppressed"] and not v["delivered"] for v in self.inhibition.values())

    @property
    def resolved_s(self) -> float | None:
        return _latest([t.resolved_s for t in self.timelines]) if self.resolve_waited else None

    @property
    def ok(self) -> bool:
        return self.within_budget and not self.unexpected and self.inhibition_ok and not self.interrupted

    def record(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "expected_alert": " + ".join(str(t.alert) for t in self.timelines),
            "delivered": self.delivered,
            "within_budget": self.within_budget,
            "budget_s": self.budget_s,
            "seconds_to_pending": _round(_latest([t.pending_s for t in self.timelines])),
            "seconds_to_firing": _round(_latest([t.firing_s for t in self.timelines])),
            "seconds_to_delivered": _round(self.seconds_to_delivered),
            "resolved_seconds": _round(self.resolved_s),
            "alerts": {str(t.alert): t.as_dict() for t in self.timelines},
            "other_alerts_fired": sorted(self.others_fired),
            "other_alerts_delivered": sorted(self.others_delivered),
            "unexpected_alerts": self.unexpected,
            "carried_over": self.carried_over,
            "inhibition": self.inhibition,
            "interrupted": self.interrupted,
            "faults": self.faults,
            "faults_cleared_at": None if self.cleared_at is None else rfc3339(self.cleared_at),
            "load": self.stats.as_dict(),
            "started_at": self.started_at,
            "machine": self.machine,
            "ok": self.ok,
        }



def format_summary(result: RunResult) -> str:
    """A few human lines: verdict, time to each hop, other alerts."""
    rec = result.record()
    verdict = "OK" if result.ok else "FAILED"
    lines = [f"{verdict}: scenario {rec['scenario']} -> {rec['expected_alert']}"]
    for name, times in rec["alerts"].items():
        hops = ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in times.items() if v is not None and k != "resolved_s")
        hops = hops or "never became active"
        if times.get("resolved_s") is not None:
            hops += f"; resolved {times['resolved_s']:.1f}s after the fault was cleared"
        lines.append(f"  {name}: {hops}")
    if result.interrupted:
        lines.append("  interrupted: faults removed")
    elif not result.delivered:
        lines.append(f"  not delivered within {result.budget_s:.0f}s")
    elif not result.within_budget:
        lines.append(f"  delivered after the {result.budget_s:.0f}s budget")
    for name, state in result.inhibition.items():
        lines.append(f"  inhibited {name}: fired={state['fired']} suppressed={state['suppressed']} delivered={state['delivered']}")
    if rec["other_alerts_fired"] or rec["other_alerts_delivered"]:
        lines.append(f"  other alerts fired: {', '.join(rec['other_alerts_fired']) or '-'}")
        lines.append(f"  other alerts delivered: {', '.join(rec['other_alerts_delivered']) or '-'}")
    if result.unexpected:
        lines.append(f"  NOT permitted in this scenario: {', '.join(result.unexpected)}")
    load = rec["load"]
    lines.append(
        f"  load: {load['sent']} requests, {load['error_pct']}% failed, p95 {load['p95_s']}s, "
        f"{load['rate_limited']} rate limited, cost {load['cost_usd']} USD"
    )
    return "\n".join(lines)
