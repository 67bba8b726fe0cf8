"""End-to-end fixtures: one native stack per session, scenario runs, and the time-to-alert records.

The stack runs the repository's own rule files and Alertmanager routing (derived, not copied)
with the demo intervals (5 s scrape/eval), and the simulator at realistic latency
(LLM_SIM_LATENCY_SCALE=1), so the times measured here are the times a user sees.

Every test sets up what it needs through fixtures, so any file or test runs alone and in any
order: `scenario_result(name)` runs a catalogue scenario the first time a test asks for it
in the session and hands the same result to every later test (the scenario test checks its
delivery, the resolution test its resolved notification); `baseline` gives the stack its
minutes of ordinary traffic, which the spike alerts compare against, before any fault.
The order below only saves time (each scenario runs once, resolutions are read after all of
them) and spaces scenarios that share an alert; the runner also waits for a scenario's alert
to clear before it starts, so no order is needed for correctness.

Time-to-alert records are written only when asked: `E2E_RESULTS=path` appends this session's
records to that JSON file (`make bench` records its own runs into bench/results/).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from demo_app.loadgen.catalogue import get_scenario
from demo_app.loadgen.display import PlainDisplay
from demo_app.loadgen.results import append_result
from demo_app.loadgen.runner import RunResult, run_scenario
from demo_app.native import NativeStack

LATENCY_SCALE = 1.0  # realistic: the latency alert's thresholds are about real-looking latencies
SEED = 20261126
RESULTS_ENV = "E2E_RESULTS"
# Scenarios that share an alert are spaced so the earlier one's alert has resolved before the
# later one needs it fresh (e.g. provider-outage's inhibited LLMHighErrorRate{sim-large}
# before error-spike), which saves the runner's settle wait.
SCENARIO_ORDER = (
    "provider-outage",
    "latency-spike",
    "cost-spike",
    "error-spike",
    "token-blowup",
    "quality-drop",
    "rate-limit-storm",
    "slo-burn",
    "prompt-injection",  # blocked before any LLM call: moves no baseline the later scenarios compare with
    # Last: the batch job's spend on sim-large would raise the baseline cost-spike compares with.
    "cache-bust",
    "budget-burn",
    # Its extra agent runs (on sim-medium) would move the baselines of cost-spike and cache-bust.
    "mcp-tool-failure",
)
# Where each file's tests run in a whole-folder run (files not listed run before the dashboards).
# test_conversations reads the baseline's spans right after it, before the scenarios' traffic
# pushes them out of the OTLP sink (it keeps only its newest items).
_FILE_RANK = {"test_native_cli": 0, "test_baseline": 1, "test_conversations": 1, "test_fault_ttl": 2, "test_scenarios": 3, "test_resolution": 4,
              "test_dashboards": 9}
_UNLISTED_RANK = 5


@dataclass
class Session:
    """What the tests of one session share: when it began, what ran, what the app returned."""

    started_at: float = field(default_factory=time.time)
    results: dict[str, RunResult] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    trace_ids: set[str] = field(default_factory=set)


_SESSION_KEY = pytest.StashKey[Session]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `scenario_name` run once per scenario, in SCENARIO_ORDER."""
    if "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", SCENARIO_ORDER)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run this folder's tests in the cheapest order (see the module docstring); other folders keep theirs."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in Path(item.path).parents]
    ordered = sorted((items[i] for i in slots), key=lambda item: _FILE_RANK.get(Path(item.path).stem, _UNLISTED_RANK))
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item


@pytest.fixture(scope="session")
def e2e_session(request: pytest.FixtureRequest) -> Session:
    session = Session()
    request.config.stash[_SESSION_KEY] = session
    return session


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, require_tool) -> Iterator[NativeStack]:
    require_tool("prometheus")
    require_tool("prometheus-alertmanager", "alertmanager")
    with NativeStack(tmp_path_factory.mktemp("native"), latency_scale=LATENCY_SCALE, seed=SEED) as native:
        yield native


@pytest.fixture(scope="session")
def run(stack: NativeStack, e2e_session: Session) -> Callable[..., RunResult]:
    """Run a catalogue scenario against the session's stack now, and keep its result and record."""

    def _run(name: str, **kwargs) -> RunResult:
        result = asyncio.run(
            run_scenario(
                get_scenario(name),
                stack.urls,
                seed=SEED,
                display=PlainDisplay(every_s=15.0),
                machine_extra={"mode": "native e2e", "latency_scale": LATENCY_SCALE},
                **kwargs,
            )
        )
        e2e_session.results[name] = result
        e2e_session.records[name] = result.record()
        e2e_session.trace_ids.update(result.stats.trace_ids)
        return result

    return _run


@pytest.fixture(scope="session")
def scenario_result(run: Callable[..., RunResult], e2e_session: Session) -> Callable[[str], RunResult]:
    """The session's run of a scenario: staged the first time a test asks for it, then reused."""

    def _result(name: str) -> RunResult:
        return e2e_session.results.get(name) or run(name)

    return _result


@pytest.fixture(scope="session")
def baseline(scenario_result: Callable[[str], RunResult]) -> RunResult:
    """Ordinary traffic with no fault (150 s): the 'normal' that spike alerts compare against."""
    return scenario_result("baseline")


@pytest.fixture(scope="session")
def all_scenarios(baseline: RunResult, scenario_result: Callable[[str], RunResult]) -> dict[str, RunResult]:
    """Every catalogue scenario's run in this session (staged now when a test needs them first)."""
    return {name: scenario_result(name) for name in SCENARIO_ORDER}


def _results_path() -> Path | None:
    value = os.environ.get(RESULTS_ENV, "").strip()
    return Path(value) if value else None


def _table(session: Session) -> list[str]:
    lines = [f"{'scenario':<17} {'alert':<62} {'pending':>7} {'firing':>7} {'deliv.':>7} {'budget':>6} {'resolved':>8}  ok"]
    for name, rec in session.records.items():
        def cell(key: str, rec: dict = rec) -> str:
            return "-" if rec.get(key) is None else f"{rec[key]:.1f}"

        lines.append(
            f"{name:<17} {rec['expected_alert'][:62]:<62} {cell('seconds_to_pending'):>7} {cell('seconds_to_firing'):>7} "
            f"{cell('seconds_to_delivered'):>7} {rec['budget_s']:>6.0f} {cell('resolved_seconds'):>8}  {'yes' if rec['ok'] else 'NO'}"
        )
    return lines


def pytest_sessionfinish(session: pytest.Session) -> None:
    e2e = session.config.stash.get(_SESSION_KEY, None)
    path = _results_path()
    if e2e is None or not e2e.records or path is None:
        return
    for record in e2e.records.values():
        append_result(path, record)


def pytest_terminal_summary(terminalreporter) -> None:
    e2e = terminalreporter.config.stash.get(_SESSION_KEY, None)
    if e2e is None or not e2e.records:
        return
    terminalreporter.section("time to alert (native stack, seconds after the fault was injected)")
    for line in _table(e2e):
        terminalreporter.write_line(line)
    path = _results_path()
    if path is None:
        terminalreporter.write_line(f"not recorded: set {RESULTS_ENV}=path/to/records.json to append these runs to a file")
    else:
        terminalreporter.write_line(f"appended to {path}")
