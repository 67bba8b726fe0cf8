"""settle: a run starts only once the expected alerts are inactive and the last failed LLM calls left the quiet window."""

from __future__ import annotations

import asyncio

from demo_app.loadgen.catalogue import get_scenario
from demo_app.loadgen.watch import QUIET_WINDOW, settle


class Client:
    """Failed LLM calls per poll as scripted (the last value repeats), and `active` alerts until `clear_after` polls."""

    def __init__(self, failed: list[float], active: list[dict] | None = None, clear_after: int = 0) -> None:
        self.failed, self.active, self.clear_after = failed, active or [], clear_after
        self.polls = 0
        self.windows: list[str] = []

    async def rule_alerts(self) -> list[dict]:
        return self.active if self.polls < self.clear_after else []

    async def failed_llm_calls(self, window: str) -> float:
        self.windows.append(window)
        value = self.failed[min(self.polls, len(self.failed) - 1)]
        self.polls += 1
        return value


class Events:
    def __init__(self) -> None:
        self.events: list[str] = []

    def event(self, message: str) -> None:
        self.events.append(message)


def _settle(client: Client, timeout_s: float = 5.0, scenario: str = "prompt-injection") -> Events:
    display = Events()
    asyncio.run(settle(client, get_scenario(scenario), timeout_s, display, poll_s=0.01))  # type: ignore[arg-type]
    return display


def test_waits_until_no_llm_call_failed_in_the_window() -> None:
    # The previous run's fault was just removed: its failures leave the 30 s window one poll at a time.
    client = Client(failed=[12, 4, 1, 0, 7])
    display = _settle(client)
    assert client.polls == 4, "started before the window was free of failures, or polled on after it was"
    assert set(client.windows) == {QUIET_WINDOW}
    assert display.events == [f"waiting for the failed LLM calls of the last {QUIET_WINDOW} (12 now) to clear before starting"], display.events


def test_a_quiet_stack_starts_at_once() -> None:
    client = Client(failed=[0])
    assert _settle(client).events == [] and client.polls == 1


def test_waits_for_the_expected_alert_too() -> None:
    firing = {"labels": {"alertname": "LLMGuardrailBlockSurge", "stage": "input"}, "state": "firing"}
    client = Client(failed=[0], active=[firing], clear_after=3)
    display = _settle(client)
    assert client.polls == 4
    assert display.events == ['waiting for LLMGuardrailBlockSurge{stage="input"} to clear before starting'], display.events


def test_gives_up_after_the_timeout_and_says_so() -> None:
    client = Client(failed=[5])
    display = _settle(client, timeout_s=0.1)
    assert client.polls > 1
    assert "did not settle" in display.events[-1]


def test_the_baseline_does_not_wait() -> None:
    client = Client(failed=[5])
    assert _settle(client, scenario="baseline").events == [] and client.polls == 0
