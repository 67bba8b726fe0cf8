"""Fixtures for the LLM simulator tests: a real simulator process, an OTLP sink, SDK clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from demo_app.native.otlp_sink import OtlpSink
from demo_app.procs import Proc

SIM_ENV = {
    "LLM_SIM_LATENCY_SCALE": "0.02",
    "LLM_SIM_SEED": "1",
    "TELEMETRY_STRICT_LABELS": "true",  # a label value outside the contract fails loudly
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "OTEL_BLRP_SCHEDULE_DELAY": "100",
}
CONTEXT = (
    "You answer questions about the observability stack from the context only.\n"
    "[prom-1] Prometheus scrapes metrics from targets every 15 seconds. It evaluates alert rules on a schedule.\n"
    "[loki-2] Loki stores log lines in compressed chunks. Loki indexes only the labels of each stream.\n"
    "[tempo-3] Tempo stores distributed traces received over OTLP. Tempo can generate span metrics.\n"
)


@pytest.fixture(scope="session")
def otlp_sink() -> Iterator[OtlpSink]:
    with OtlpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def start_sim(launch: Callable[..., Proc], otlp_sink: OtlpSink) -> Callable[..., Proc]:
    """Start an extra simulator process (same env plus overrides); all are stopped at the end."""

    def _start(**env: str) -> Proc:
        return launch("llm_sim", {**SIM_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink.endpoint, **env})

    return _start


@pytest.fixture(scope="session")
def sim_proc(start_sim: Callable[..., Proc]) -> Proc:
    return start_sim()


@pytest.fixture
def sim(sim_proc: Proc) -> Iterator[Proc]:
    """The shared simulator with no faults before and after the test."""
    httpx.delete(f"{sim_proc.url}/faults", timeout=5).raise_for_status()
    yield sim_proc
    httpx.delete(f"{sim_proc.url}/faults", timeout=5).raise_for_status()


@pytest.fixture
def client(sim: Proc) -> Iterator[openai.OpenAI]:
    """The official SDK pointed at the simulator, without retries (each test sees every answer)."""
    with openai.OpenAI(base_url=f"{sim.url}/v1", api_key="x", max_retries=0, timeout=15) as c:
        yield c


@pytest.fixture
def add_fault(sim: Proc) -> Callable[..., dict[str, Any]]:
    def _add(**body: Any) -> dict[str, Any]:
        response = httpx.post(f"{sim.url}/faults", json=body, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()

    return _add


@pytest.fixture
def rag() -> Callable[[str], list[dict[str, str]]]:
    """Messages as the app sends them: retrieved documents in the system message, then the question."""

    def _messages(question: str, context: str = CONTEXT) -> list[dict[str, str]]:
        return [{"role": "system", "content": context}, {"role": "user", "content": question}]

    return _messages
