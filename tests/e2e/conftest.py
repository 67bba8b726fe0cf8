"""End-to-end fixtures: one native stack per session, a scenario runner, and the time-to-alert record.

The stack runs the repository's own rule files and Alertmanager routing (derived, not copied)
with the demo intervals (5 s scrape/eval), and the simulator at realistic latency
(LLM_SIM_LATENCY_SCALE=1), so the times measured here are the times a user sees.
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
# The order matters: scenarios that share an alert are spaced so the earlier one's alert has
# resolved before the later one needs it fresh (e.g. provider-outage's inhibited
# LLMHighErrorRate{sim-large} before error-spike), and spike alerts run after the baseline has
# given them a few minutes of "normal" to compare with.
SCENARIO_ORDER = (
    "provider-outage",
    "latency-spike",
    "cost-spike",
    "error-spike",
    "token-blowup",
    "quality-drop",
    "rate-limit-storm",
    "slo-burn",
)


@dataclass
class Session:
    """What the tests of one session share: when it began, what ran, what the app returned."""

    started_at: float = field(default_factory=time.time)
    results: dict[str, RunResult] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    trace_ids: set[str] = field(default_factory=set)


_SESSION = Session()


@pytest.fixture(scope="session")
def e2e_session() -> Session:
    return _SESSION


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take `scenario_name` run once per scenario, in SCENARIO_ORDER."""
    if "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", SCENARIO_ORDER)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, require_tool) -> Iterator[NativeStack]:
    require_tool("prometheus")
    require_tool("prometheus-alertmanager", "alertmanager")
    with NativeStack(tmp_path_factory.mktemp("native"), latency_scale=LATENCY_SCALE, seed=SEED) as native:
        yield native


@pytest.fixture(scope="session")
def run(stack: NativeStack, e2e_session: Session) -> Callable[..., RunResult]:
    """Run a catalogue scenario against the session's stack and keep its result and record."""

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


def _results_path(repo_root: Path) -> Path:
    """bench/results/time-to-alert.json; E2E_RESULTS points a partial or trial run elsewhere."""
    return Path(os.environ.get("E2E_RESULTS") or repo_root / "bench" / "results" / "time-to-alert.json")


def _write_results(repo_root: Path) -> None:
    if not _SESSION.records:
        return
    path = _results_path(repo_root)
    for record in _SESSION.records.values():
        append_result(path, record)


def _table() -> list[str]:
    lines = [f"{'scenario':<17} {'alert':<62} {'pending':>7} {'firing':>7} {'deliv.':>7} {'budget':>6} {'resolved':>8}  ok"]
    for name, rec in _SESSION.records.items():
        def cell(key: str) -> str:
            return "-" if rec.get(key) is None else f"{rec[key]:.1f}"

        lines.append(
            f"{name:<17} {rec['expected_alert'][:62]:<62} {cell('seconds_to_pending'):>7} {cell('seconds_to_firing'):>7} "
            f"{cell('seconds_to_delivered'):>7} {rec['budget_s']:>6.0f} {cell('resolved_seconds'):>8}  {'yes' if rec['ok'] else 'NO'}"
        )
    return lines


def pytest_sessionfinish(session: pytest.Session) -> None:
    _write_results(Path(session.config.rootpath))


def pytest_terminal_summary(terminalreporter) -> None:
    if not _SESSION.records:
        return
    terminalreporter.section("time to alert (native stack, seconds after the fault was injected)")
    for line in _table():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"appended to {_results_path(Path(terminalreporter.config.rootpath))}")
