"""run_scenario's phases against a scripted stand-in for the stack (no processes, a few seconds)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from demo_app.loadgen import runner
from demo_app.loadgen.catalogue import Fault, PromptRollout, get_scenario
from demo_app.loadgen.driver import Stats
from demo_app.loadgen.observe import rfc3339
from demo_app.stack_urls import StackUrls

URLS = StackUrls(app="http://app", sim="http://sim", prometheus="http://prom", alertmanager="http://am", sink="http://sink", tools="http://tools")
EXPECTED = {"alertname": "LLMHighErrorRate", "gen_ai_request_model": "sim-large", "severity": "warning"}
CARRIED = {"alertname": "LLMHighLatencyP95", "gen_ai_request_model": "sim-medium", "severity": "warning"}
STRAY = {"alertname": "LLMCostSpike", "gen_ai_request_model": "sim-large", "severity": "warning"}


class FakeStack:
    """Answers like the stack would: the expected alert fires once a fault is in, resolves once it is out."""

    def __init__(self, *, not_ready: list[str] | None = None, stray: bool = False) -> None:
        self.not_ready_parts = not_ready or []
        self.stray = stray
        self.injected: list[tuple[dict[str, Any], float]] = []
        self.removed: list[str] = []
        self.cleared = 0
        self.prompt_resets = 0
        self.rolled_out: list[tuple[str, str, float]] = []
        self.reverted: list[str] = []
        self.injected_at: float | None = None
        self.removed_at: float | None = None

    def client(self, urls: StackUrls) -> FakeClient:
        return FakeClient(self, urls)


class FakeClient:
    def __init__(self, stack: FakeStack, urls: StackUrls) -> None:
        self.stack, self.urls = stack, urls

    async def __aenter__(self) -> FakeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def not_ready(self) -> list[str]:
        return self.stack.not_ready_parts

    async def clear_faults(self) -> None:
        self.stack.cleared += 1

    async def revert_prompts(self) -> None:
        self.stack.prompt_resets += 1

    async def roll_out(self, rollout, ttl_s: float) -> None:
        self.stack.rolled_out.append((rollout.name, rollout.version, ttl_s))

    async def revert_prompt(self, name: str) -> None:
        self.stack.reverted.append(name)

    async def inject(self, fault: Fault, ttl_s: float) -> str:
        self.stack.injected.append((fault.body(ttl_s), ttl_s))
        self.stack.injected_at = time.time()
        return f"f{len(self.stack.injected)}"

    async def remove_fault(self, fault_id: str, target: str = "sim") -> None:
        self.stack.removed.append(fault_id)
        self.stack.removed_at = time.time()

    async def rule_alerts(self) -> list[dict]:
        alerts = [{"labels": CARRIED, "state": "firing", "activeAt": rfc3339(time.time() - 600)}]
        s = self.stack
        if s.injected_at is not None and s.removed_at is None:
            alerts.append({"labels": EXPECTED, "state": "firing", "activeAt": rfc3339(s.injected_at)})
            if s.stray:
                alerts.append({"labels": STRAY, "state": "firing", "activeAt": rfc3339(s.injected_at)})
        return alerts

    async def notifications(self, alertname: str | None = None, since: float | None = None) -> list[dict]:
        s, notes = self.stack, []
        if s.injected_at is not None:
            notes.append({"received_at": rfc3339(s.injected_at + 0.5), "alerts": [{"labels": EXPECTED, "status": "firing"}]})
        if s.removed_at is not None:
            notes.append({"received_at": rfc3339(s.removed_at + 0.2), "alerts": [{"labels": EXPECTED, "status": "resolved"}]})
        return notes

    async def am_alerts(self) -> list[dict]:
        return []

    async def scalar(self, expr: str) -> float | None:
        return 1.0

    async def failed_llm_calls(self, window: str) -> float:
        return 0.0

    async def prometheus_version(self) -> str:
        return "3.0.0"

    async def alertmanager_version(self) -> str:
        raise RuntimeError("no status")  # a version that cannot be read is left out


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.updates = 0

    def update(self, snap: object) -> None:
        self.updates += 1

    def event(self, message: str) -> None:
        self.events.append(message)

    def close(self) -> None:
        pass


@pytest.fixture()
def stack(monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    fake = FakeStack()
    monkeypatch.setattr(runner, "StackClient", fake.client)

    async def drive(app_url: str, streams: list, docs: tuple, *, stats: Stats | None = None, stop: asyncio.Event | None = None, **_: Any) -> Stats:
        assert stop is not None
        await stop.wait()
        return stats or Stats()

    monkeypatch.setattr(runner, "drive", drive)
    return fake


def run(**kw: Any) -> runner.RunResult:
    return asyncio.run(runner.run_scenario(get_scenario("error-spike"), URLS, poll_s=0.05, settle_timeout_s=1, docs=(), **kw))


class TestRunScenario:
    """Faults go in with a TTL and always come out; every hop is timed; the record says what happened."""

    def test_delivered_alert_is_timed_and_the_fault_removed(self, stack: FakeStack) -> None:
        display = Recorder()
        result = run(display=display)
        assert stack.cleared == 1
        assert [body for body, _ in stack.injected] == [{"kind": "error", "rate": 0.5, "ttl_s": 180, "value": 500, "model": "sim-large"}]
        assert stack.removed == ["f1"]
        assert result.ok and result.delivered and not result.interrupted and not result.resolve_waited
        timeline = result.timelines[0]
        assert timeline.pending_s is not None and timeline.firing_s is not None and timeline.delivered_s == pytest.approx(0.5, abs=0.1)
        assert result.carried_over == ['LLMHighLatencyP95{gen_ai_request_model="sim-medium"}'] and not result.others_fired
        assert result.faults == [stack.injected[0][0]] and result.cleared_at is not None
        assert result.machine["prometheus"] == "3.0.0" and "alertmanager" not in result.machine
        assert any("injected" in e for e in display.events) and any("-> delivered" in e for e in display.events)
        assert display.updates >= 1

    def test_a_prompt_rollout_goes_live_with_a_ttl_and_is_reverted_when_the_run_ends(self, stack: FakeStack) -> None:
        rollout = dataclasses.replace(get_scenario("error-spike"), faults=(), rollouts=(PromptRollout("qa", "v2"),))
        result = asyncio.run(runner.run_scenario(rollout, URLS, poll_s=0.05, settle_timeout_s=1, docs=(), display=Recorder()))
        assert stack.prompt_resets == 1  # a rollout left by a killed run is ended first
        assert stack.rolled_out == [("qa", "v2", 180)] and stack.reverted == ["qa"]
        assert result.faults == [{"prompt": "qa", "version": "v2", "ttl_s": 180}]

    def test_waits_for_the_resolved_notification_when_asked(self, stack: FakeStack) -> None:
        result = run(display=Recorder(), wait_resolved=True, resolve_timeout_s=5)
        assert result.resolve_waited and result.resolved_s == pytest.approx(0.2, abs=0.1)
        assert result.record()["resolved_seconds"] is not None

    def test_an_alert_outside_the_scenario_fails_the_run(self, stack: FakeStack) -> None:
        stack.stray = True
        result = run(display=Recorder())
        assert result.delivered and not result.ok
        assert result.unexpected == ['LLMCostSpike{gen_ai_request_model="sim-large"}']

    def test_a_stopped_run_is_interrupted_and_still_removes_its_fault(self, stack: FakeStack) -> None:
        async def stopped() -> runner.RunResult:
            stop = asyncio.Event()
            stop.set()
            return await runner.run_scenario(get_scenario("error-spike"), URLS, poll_s=0.05, docs=(), display=Recorder(), stop=stop)

        result = asyncio.run(stopped())
        assert result.interrupted and not result.ok
        assert stack.removed == ["f1"]

    def test_a_stack_that_is_not_ready_is_refused_before_any_fault(self, stack: FakeStack) -> None:
        stack.not_ready_parts = ["sim (ConnectError)"]
        with pytest.raises(RuntimeError, match="stack not ready: sim"):
            run(display=Recorder())
        assert not stack.injected
