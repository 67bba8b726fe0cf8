"""Run one scenario end to end: inject, drive load, watch the alert travel, clean up, report.

The alert's journey is watched at every hop, so a slow or broken hop is visible:
Prometheus rule state (inactive -> pending -> firing, from /api/v1/alerts), then the
receiver (delivered: a firing notification reached the webhook), then optionally the
resolved notification after the fault is cleared. Faults are injected with a TTL and
removed in a `finally`, so an interrupted run never leaves the simulator broken.

This module only orders the phases; each lives in its own module: staging (faults),
driver (load), watch (the alert's hops), progress (the live display), outcome (the
verdict, the result record and the summary).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from demo_app.loadgen.catalogue import Scenario
from demo_app.loadgen.corpus import CorpusDoc, load_corpus
from demo_app.loadgen.display import Display, PlainDisplay
from demo_app.loadgen.driver import LoadStream, Stats, drive
from demo_app.loadgen.observe import StackClient, rfc3339
from demo_app.loadgen.outcome import AlertTimeline, RunResult, alert_key, format_summary
from demo_app.loadgen.progress import PROGRESS_QUERIES, Progress
from demo_app.loadgen.results import machine_info
from demo_app.loadgen.staging import StagedFaults, fault_ttl_s, prepare_stack
from demo_app.loadgen.watch import AlertWatch, settle
from demo_app.stack_urls import StackUrls

# AlertTimeline, alert_key, format_summary and PROGRESS_QUERIES are re-exported: callers
# (the CLI, the e2e tests, bench) import them from here.
__all__ = ["AlertTimeline", "RunResult", "run_scenario", "alert_key", "format_summary", "PROGRESS_QUERIES"]


def _background_of(scenario: Scenario) -> list[LoadStream]:
    """The scenario's steady traffic (kept running while we wait for the resolved notification)."""
    streams = [s for s in scenario.load if s.name == "background"]
    return streams or list(scenario.load[:1])


async def _stop_load(stop: asyncio.Event, task: asyncio.Task[Stats] | None) -> None:
    stop.set()
    if task is not None:
        with contextlib.suppress(Exception):
            await task


class _Run:
    """One run's context, shared by its phases."""

    def __init__(
        self, client: StackClient, scenario: Scenario, budget_s: float, docs: Sequence[CorpusDoc],
        display: Display, stop: asyncio.Event, seed: int | None, poll_s: float,
    ) -> None:
        self.client, self.scenario, self.budget_s = client, scenario, budget_s
        self.docs, self.display, self.stop, self.seed, self.poll_s = tuple(docs), display, stop, seed, poll_s
        self.stats = Stats()
        self.watch = AlertWatch(client, scenario, time.time(), time.monotonic())
        self.result = RunResult(
            scenario=scenario, budget_s=budget_s, started_at=rfc3339(self.watch.t0_wall), timelines=self.watch.timelines, stats=self.stats
        )

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less if the run is stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    async def fault_phase(self) -> None:
        """Inject, drive the scenario's load and watch until delivered (or budget, or stop); always clean up."""
        run_for = max(self.budget_s, self.scenario.observe_s)
        staged = StagedFaults(self.client, self.scenario.faults, fault_ttl_s(run_for), self.display, self.scenario.rollouts)
        load_stop = asyncio.Event()
        load_task: asyncio.Task[Stats] | None = None
        progress = Progress(self.client, self.watch, self.stats, self.budget_s, self.display)
        try:
            await staged.inject()
            load_task = asyncio.create_task(
                drive(self.client.urls.app, list(self.scenario.load), self.docs, duration_s=run_for + 5, seed=self.seed, stats=self.stats, stop=load_stop)
            )
            while not self.stop.is_set() and self.watch.elapsed() < run_for:
                await asyncio.gather(self.watch.poll_rules(), self.watch.poll_receiver(), self.watch.poll_inhibition())
                await progress.show()
                if self.watch.done():
                    break
                await self._pause(self.poll_s)
        finally:
            load_stop.set()  # stop sending first, remove the faults, then let in-flight requests finish
            self.watch.cleared_wall = await staged.remove()
            await _stop_load(load_stop, load_task)
        self.result.interrupted = self.stop.is_set()
        self.result.faults = staged.bodies
        self.result.cleared_at = self.watch.cleared_wall

    async def resolve_phase(self, timeout_s: float) -> None:
        """With the fault cleared and only background traffic left, wait for every resolved notification."""
        self.result.resolve_waited = True
        self.display.event("fault cleared and extra load stopped; waiting for the resolved notification")
        bg_stop = asyncio.Event()
        bg = asyncio.create_task(drive(self.client.urls.app, _background_of(self.scenario), self.docs, duration_s=timeout_s + 5, seed=self.seed, stop=bg_stop))
        try:
            deadline = time.monotonic() + timeout_s
            while not self.stop.is_set() and time.monotonic() < deadline:
                await asyncio.gather(self.watch.poll_rules(), self.watch.poll_receiver())
                if all(t.resolved_s is not None for t in self.watch.timelines):
                    break
                await self._pause(self.poll_s * 2)
        finally:
            await _stop_load(bg_stop, bg)
        self.result.interrupted = self.stop.is_set()

    def wants_resolution(self) -> bool:
        # Every scenario but the baseline ends something (a fault, or extra traffic) here.
        return self.result.delivered and not self.result.interrupted and self.scenario.delivered_since_start

    async def versions(self) -> dict[str, Any]:
        versions: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            versions["prometheus"] = await self.client.prometheus_version()
        with contextlib.suppress(Exception):
            versions["alertmanager"] = await self.client.alertmanager_version()
        return versions

    def finish(self, versions: dict[str, Any], machine_extra: dict[str, Any] | None) -> RunResult:
        result, watch = self.result, self.watch
        result.others_fired = watch.others_fired
        result.others_delivered = watch.others_delivered
        result.carried_over = sorted(watch.carried_over)
        result.inhibition = watch.inhibition
        result.machine = machine_info(**versions, **(machine_extra or {}))
        return result


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
    display = display or PlainDisplay()
    async with StackClient(urls) as client:
        await prepare_stack(client)
        await settle(client, scenario, settle_timeout_s, display)
        run = _Run(client, scenario, float(budget_s or scenario.budget_s), docs or load_corpus(), display, stop or asyncio.Event(), seed, poll_s)
        await run.watch.snapshot_carry_over()
        await run.fault_phase()
        if wait_resolved and run.wants_resolution():
            await run.resolve_phase(resolve_timeout_s)
        versions = await run.versions()
    return run.finish(versions, machine_extra)
