"""Fixtures for the app tests: a simulator, an OTLP receiver and app processes on 127.0.0.1.

One simulator and one app (pointed at one in-memory OTLP sink) serve most tests; tests
that need other settings start their own app with `start_app(env)`. Every process is
stopped when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo_app.native.otlp_sink import OtlpSink
from demo_app.procs import Proc, start_component

FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100"}
# Fast retries: the tests check that they happen, not how long they wait.
APP_ENV = {
    "TELEMETRY_STRICT_LABELS": "true",
    "LLM_RETRY_BACKOFF_S": "0.02",
    "LLM_RETRY_AFTER_CAP_S": "0.05",
    "LLM_TIMEOUT_S": "5",
    "RATE_LIMIT_PRO_PER_S": "1000",
    "RATE_LIMIT_PRO_BURST": "1000",
    "RATE_LIMIT_ENTERPRISE_PER_S": "1000",
    "RATE_LIMIT_ENTERPRISE_BURST": "1000",
}


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app-logs")


@pytest.fixture(scope="session")
def sink() -> Iterator[OtlpSink]:
    with OtlpSink() as s:
        yield s


@pytest.fixture(scope="session")
def sim(logs_dir: Path, sink: OtlpSink) -> Iterator[Proc]:
    env = {"LLM_SIM_LATENCY_SCALE": "0.02", "LLM_SIM_SEED": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, **FAST_EXPORT}
    with start_component("llm_sim", logs_dir, env=env) as proc:
        yield proc


@pytest.fixture(scope="session")
def start_app(launch: Callable[..., Proc], logs_dir: Path, sim: Proc) -> Callable[..., Proc]:
    """Start another app process against the shared simulator; `env` adds to APP_ENV."""

    def _start(name: str, env: dict[str, str]) -> Proc:
        return launch("app", {"LLM_BASE_URL": f"{sim.url}/v1", **APP_ENV, **FAST_EXPORT, **env}, logs_dir / name)

    return _start


@pytest.fixture(scope="session")
def tool_server(launch: Callable[..., Proc], logs_dir: Path, sink: OtlpSink) -> Proc:
    """The agents' MCP tool server (python -m demo_app.mcp_tools), exporting to the sink."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "TELEMETRY_STRICT_LABELS": "true", **FAST_EXPORT}
    return launch("mcp_tools", env, logs_dir / "mcp-tools")


@pytest.fixture(scope="session")
def app(start_app: Callable[..., Proc], sink: OtlpSink, tool_server: Proc) -> Proc:
    """The shared app, set up as compose runs it: its agents call the MCP tool server; it
    exports to the sink and captures message content (masked)."""
    return start_app(
        "main",
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
            "MCP_TOOLS_URL": f"{tool_server.url}/mcp",
        },
    )


@pytest.fixture
def faults(sim: Proc) -> Iterator[Callable[..., None]]:
    """Inject simulator faults for one test; all are cleared afterwards."""

    def _add(kind: str, **spec: object) -> None:
        response = httpx.post(f"{sim.url}/faults", json={"kind": kind, "ttl_s": 60, **spec}, timeout=5)
        assert response.status_code == 201, response.text

    yield _add
    httpx.delete(f"{sim.url}/faults", timeout=5)


@pytest.fixture
def post() -> Callable[..., httpx.Response]:
    """POST JSON to an app and return the response (no status check)."""

    def _post(proc: Proc, path: str, body: object, **kwargs: object) -> httpx.Response:
        return httpx.post(f"{proc.url}{path}", json=body, timeout=30, **kwargs)

    return _post


@pytest.fixture
def scrape() -> Callable[..., list]:
    """Parsed metric families of an app's /metrics (OpenMetrics when `openmetrics`)."""

    def _scrape(proc: Proc, openmetrics: bool = False) -> list:
        headers = {"Accept": "application/openmetrics-text; version=1.0.0"} if openmetrics else {}
        text = httpx.get(f"{proc.url}/metrics", headers=headers, timeout=5).text
        if openmetrics:
            from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

            return list(parse_om(text))
        return list(text_string_to_metric_families(text))

    return _scrape
