"""Fixtures of the reliability drills: real processes on 127.0.0.1, started the way the stack starts them.

Every process is started through demo_app.procs (own process group, log file, readiness poll)
and stopped when its fixture ends, so a failed drill leaves nothing running.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from demo_app.procs import Proc, free_port, poll_until, start_component, start_process

ROOT = Path(__file__).resolve().parents[2]

# Secrets and personal data the leak scan plants in prompts and looks for everywhere.
# Each entry: (kind, planted text, regex that finds it or any recognisable part of it).
PLANTED = (
    ("api_key", "sk-proj-DRILLabcdef0123456789XYZ", r"DRILLabcdef0123456789"),
    ("bearer", "Bearer eyJhbGciOiJIUzI1NiJ9.drilltoken.Sig42", r"drilltoken"),
    ("email", "drill.victim+llm@example-corp.com", r"drill\.victim|example-corp\.com"),
    ("card", "4111 1111 1111 1111", r"4111[ -]?1111[ -]?1111[ -]?1111"),
)


def _stop_all(procs: list[Proc]) -> None:
    for proc in reversed(procs):
        proc.stop()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """A list to append started processes to; all are stopped when the test ends."""
    started: list[Proc] = []
    yield started
    _stop_all(started)


@pytest.fixture
def start(procs: list[Proc], tmp_path: Path) -> Callable[..., Proc]:
    """start(component, env=..., port=...) -> Proc for `python -m demo_app.<component>`, stopped after the test."""

    def _start(component: str, env: dict[str, str] | None = None, port: int | None = None, timeout: float = 40.0) -> Proc:
        proc = start_component(component, tmp_path / "logs", env={"PYTHONPATH": str(ROOT), **(env or {})}, port=port, timeout=timeout)
        procs.append(proc)
        return proc

    return _start


@pytest.fixture
def start_argv(procs: list[Proc], tmp_path: Path) -> Callable[..., Proc]:
    """start_argv(name, argv, ready_url=..., env=...) -> Proc for any program, stopped after the test."""

    def _start(name: str, argv: list[str], *, ready_url: str | None = None, env: dict[str, str] | None = None,
               url: str = "", port: int = 0, timeout: float = 40.0) -> Proc:
        proc = start_process(name, argv, tmp_path / "logs", env=env, ready_url=ready_url, url=url, port=port, timeout=timeout)
        procs.append(proc)
        return proc

    return _start


def sim_env(latency_scale: str = "0") -> dict[str, str]:
    """Simulator settings for the drills: no modelled latency, a fixed seed."""
    return {"LLM_SIM_LATENCY_SCALE": latency_scale, "LLM_SIM_SEED": "11", "OTEL_SDK_DISABLED": "true"}


def app_env(sim: Proc, otlp_url: str | None, **extra: str) -> dict[str, str]:
    """App settings: the simulator as provider, OTLP to `otlp_url` (None: SDK off), no tier limits."""
    env = {"LLM_BASE_URL": f"{sim.url}/v1", "OTEL_SERVICE_NAME": "llm-app", "TELEMETRY_STRICT_LABELS": "true"}
    for tier in ("FREE", "PRO", "ENTERPRISE"):
        env[f"RATE_LIMIT_{tier}_PER_S"] = "100000"
        env[f"RATE_LIMIT_{tier}_BURST"] = "100000"
    if otlp_url:
        env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url, "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BLRP_SCHEDULE_DELAY": "200"}
    else:
        env["OTEL_SDK_DISABLED"] = "true"
    return env | extra


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0.0 when there are none)."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.split("#")[0].split()[-1])
    return total


def spans_at(sink_url: str) -> list[dict]:
    return httpx.get(f"{sink_url}/spans", timeout=10).json()


def wait_for(fn: Callable[[], object], description: str, timeout: float = 20.0) -> object:
    return poll_until(fn, description, timeout)


def find_planted(text: str) -> list[str]:
    """Kinds of planted secrets that appear in `text`."""
    return [kind for kind, _, pattern in PLANTED if re.search(pattern, text)]


@pytest.fixture(scope="session")
def drill() -> SimpleNamespace:
    """The helpers above as one object (test modules must not import conftest)."""
    return SimpleNamespace(
        PLANTED=PLANTED,
        sim_env=sim_env,
        app_env=app_env,
        metric_value=metric_value,
        spans_at=spans_at,
        wait_for=wait_for,
        find_planted=find_planted,
        free_port=free_port,
        python=sys.executable,
        root=ROOT,
    )
