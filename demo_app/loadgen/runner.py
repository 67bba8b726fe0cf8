"""Run one scenario end to end: inject, drive load, watch the alert travel, clean up, report.

The alert's journey is watched at every hop, so a slow or broken hop is visible:
Prometheus rule state (inactive -> pending -> firing, from /api/v1/alerts), then the
receiver (delivered: a firing notification reached the webhook), then optionally the
resolved notification after the fault is cleared. Faults are injected with a TTL and
removed in a `finally`, so an interrupted run never leaves the simulator broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from demo_app.loadgen.catalogue import ALWAYS_ALLOWED, ExpectedAlert, Scenario
from demo_app.loadgen.corpus import CorpusDoc, load_corpus
from demo_app.loadgen.display import Display, PlainDisplay, Snapshot
from demo_app.loadgen.driver import LoadStream, Stats, drive
from demo_app.loadgen.observe import StackClient, parse_rfc3339, rfc3339
from demo_app.loadgen.results import machine_info
from demo_app.stack_urls import StackUrls

__all__ = ["AlertTimeline", "RunResult", "run_scenario", "alert_key", "format_summary", "PROGRESS_QUERIES"]

# What the progress display reads back from Prometheus (raw contract metrics, so it works
# whatever recording rules exist). Windows are 4x+ the 5 s demo scrape interval.
_APP_ROUTES = 'http_route=~"/v1/.+"'
PROGRESS_QUERIES = {
    "error_pct": (
        # `or vector(0)`: before the first 5xx there is no error series at all, and 0% is the truth.
        f'100 * (sum(rate(http_server_request_duration_seconds_count{{{_APP_ROUTES},http_response_status_code=~"5.."}}[1m])) or vector(0))'
        f" / sum(rate(http_server_request_duration_seconds_count{{{_APP_ROUTES}}}[1m]))"
    ),
    "p95_s": f"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{_APP_ROUTES}}}[1m])))",
    "cost_per_hour": "3600 * sum(rate(llmapp_cost_usd_total[1m]))",
}
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


class _Watch:
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
            if state == "firing" and labels.get("alertname") not in ALWAYS_ALLOWED and not self._expected_match(labels):
                if key not in self.carried_over:
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
                if status == "firing" and labels.get("alertname") not in ALWAYS_ALLOWED and not self._expected_match(labels):
                    if key not in self.carried_over:
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


async def _settle(client: StackClient, scenario: Scenario, timeout_s: float, display: Display) -> None:
    """Wait until none of the expected (or to-be-inhibited) alerts is active, so this run measures fresh ones."""
    if not scenario.delivered_since_start:
        return
    watched = scenario.expected + scenario.inhibited
    deadline = time.monotonic() + timeout_s
    announced = False
    while time.monotonic() < deadline:
        active = [a for a in await client.rule_alerts() if any(e.matches(a["labels"]) for e in watched)]
        if not active:
            return
        if not announced:
            display.event(f"waiting for {', '.join(alert_key(a['labels']) for a in active)} to clear before starting")
            announced = True
        await asyncio.sleep(2.0)
    display.event("expected alert still active after the settle timeout; starting anyway (times will be short)")


async def _progress(client: StackClient) -> dict[str, float | None]:
    values = await asyncio.gather(*(client.scalar(q) for q in PROGRESS_QUERIES.values()), return_exceptions=True)
    return {k: (None if isinstance(v, BaseException) else v) for k, v in zip(PROGRESS_QUERIES, values)}


def _background_of(scenario: Scenario) -> list[LoadStream]:
    """The scenario's steady traffic (kept running while we wait for the resolved notification)."""
    streams = [s for s in scenario.load if s.name == "background"]
    return streams or list(scenario.load[:1])


async def run_scenario(
    scenario: Scenario,
    urls: StackUrls,
    *,
    budget_s: float | None = None,
    wait_resolved: bool = False,
    resolve_timeout_s: float = 300.0,
    settle_timeout_s: float = 300.0,
    seed: int | None = None,
    docs: tuple[CorpusDoc, ...] | None = None,
    display: Display | None = None,
    stop: asyncio.Event | None = None,
    poll_s: float = 1.0,
    machine_extra: dict[str, Any] | None = None,
) -> RunResult:
    """Stage `scenario` against the stack at `urls` and watch its alert; see the module docstring."""
    budget = float(budget_s or scenario.budget_s)
    docs = docs or load_corpus()
    display = display or PlainDisplay()
    stop = stop or asyncio.Event()
    stats = Stats()
    fault_ids: list[str] = []

    async with StackClient(urls) as client:
        missing = await client.not_ready()
        if missing:
            raise RuntimeError(f"stack not ready: {', '.join(missing)} (checked {urls.as_dict()})")
        await client.clear_faults()  # a fault left by a killed run (until its TTL) would skew this one
        await _settle(client, scenario, settle_timeout_s, display)

        t0_wall, t0_mono = time.time(), time.monotonic()
        watch = _Watch(client, scenario, t0_wall, t0_mono)
        await watch.snapshot_carry_over()
        run_for = max(budget, scenario.observe_s)
        # The TTL outlives the run by a margin only: if this process dies, the fault still goes.
        ttl_s = run_for + 60.0
        faults_info = []
        load_stop = asyncio.Event()
        load_task: asyncio.Task | None = None
        result = RunResult(scenario=scenario, budget_s=budget, started_at=rfc3339(t0_wall), timelines=watch.timelines, stats=stats)
        try:
            for fault in scenario.faults:
                fault_ids.append(await client.inject(fault, ttl_s))
                faults_info.append(fault.body(ttl_s))
                display.event(f"injected {fault.body(ttl_s)}")
            load_task = asyncio.create_task(
                drive(urls.app, list(scenario.load), docs, duration_s=run_for + 5, seed=seed, stats=stats, stop=load_stop)
            )
            progress: dict[str, float | None] = {}
            last_progress = 0.0
            states = {str(t.alert): t.state for t in watch.timelines}
            while not stop.is_set() and watch.elapsed() < run_for:
                await asyncio.gather(watch.poll_rules(), watch.poll_receiver(), watch.poll_inhibition())
                if time.monotonic() - last_progress >= 5.0:
                    progress, last_progress = await _progress(client), time.monotonic()
                for t in watch.timelines:
                    if t.state != states[str(t.alert)]:
                        states[str(t.alert)] = t.state
                        display.event(f"{watch.elapsed():6.1f}s  {t.alert} -> {t.state}")
                display.update(
                    Snapshot(
                        scenario=scenario.name,
                        elapsed_s=watch.elapsed(),
                        budget_s=budget,
                        sent=stats.sent,
                        client_error_pct=stats.error_pct,
                        error_pct=progress.get("error_pct"),
                        p95_s=progress.get("p95_s"),
                        cost_per_hour=progress.get("cost_per_hour"),
                        alert_states=dict(states),
                        others=sorted(watch.others_fired),
                    )
                )
                if watch.done():
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_s)
        finally:
            load_stop.set()
            # Remove our faults even when interrupted; each also expires by its TTL anyway.
            for fault_id in fault_ids:
                with contextlib.suppress(Exception):
                    await client.remove_fault(fault_id)
            watch.cleared_wall = time.time()
            if load_task is not None:
                with contextlib.suppress(Exception):
                    await load_task
        result.interrupted = stop.is_set()
        result.faults = faults_info
        result.cleared_at = watch.cleared_wall

        # Every scenario but the baseline ends something (a fault, or extra traffic) here.
        if wait_resolved and result.delivered and not result.interrupted and scenario.delivered_since_start:
            result.resolve_waited = True
            display.event("fault cleared and extra load stopped; waiting for the resolved notification")
            bg_stop = asyncio.Event()
            bg = asyncio.create_task(
                drive(urls.app, _background_of(scenario), docs, duration_s=resolve_timeout_s + 5, seed=seed, stop=bg_stop)
            )
            try:
                deadline = time.monotonic() + resolve_timeout_s
                while not stop.is_set() and time.monotonic() < deadline:
                    await asyncio.gather(watch.poll_rules(), watch.poll_receiver())
                    if all(t.resolved_s is not None for t in watch.timelines):
                        break
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=poll_s * 2)
            finally:
                bg_stop.set()
                with contextlib.suppress(Exception):
                    await bg
            result.interrupted = stop.is_set()

        versions: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            versions["prometheus"] = await client.prometheus_version()
        with contextlib.suppress(Exception):
            versions["alertmanager"] = await client.alertmanager_version()

    result.others_fired = watch.others_fired
    result.others_delivered = watch.others_delivered
    result.carried_over = sorted(watch.carried_over)
    result.inhibition = watch.inhibition
    result.machine = machine_info(**versions, **(machine_extra or {}))
    return result


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
