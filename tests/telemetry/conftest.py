"""Fixtures for the telemetry tests: an in-memory OTLP receiver and a service process using it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demo_app.native.otlp_sink import OtlpSink
from demo_app.procs import Proc, free_port, start_process

HERE = Path(__file__).parent
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100", "TELEMETRY_STRICT_LABELS": "true"}


@pytest.fixture(scope="module")
def sink() -> Iterator[OtlpSink]:
    with OtlpSink() as s:
        yield s


@pytest.fixture(scope="module")
def start_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Proc]]:
    """Start instrumented_service.py with extra env; every process is stopped at module end."""
    procs: list[Proc] = []

    def _start(name: str, env: dict[str, str]) -> Proc:
        port = free_port()
        proc = start_process(
            name,
            [sys.executable, str(HERE / "instrumented_service.py")],
            tmp_path_factory.mktemp(name),
            env={"PORT": str(port), "PYTHONUNBUFFERED": "1", **FAST_EXPORT, **env},
            ready_url=f"http://127.0.0.1:{port}/healthz",
            url=f"http://127.0.0.1:{port}",
            port=port,
        )
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        proc.stop()
