"""Fixtures for the alerting tests: amtool, a real alert receiver, real Alertmanagers.

The Alertmanager config is generated from alertmanager/alertmanager.yml the way native
mode does it (only the webhook URL changes), so what is tested is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from demo_app.native.config import render_alertmanager, write_yaml
from demo_app.procs import Proc, free_port, start_process

SINK_ENV = {"OTEL_SDK_DISABLED": "true", "TELEMETRY_STRICT_LABELS": "true"}


@pytest.fixture(scope="session")
def am_config(repo_root: Path) -> Path:
    return repo_root / "alertmanager" / "alertmanager.yml"


@pytest.fixture(scope="session")
def amtool(require_tool) -> str:
    return require_tool("amtool")


@pytest.fixture(scope="session")
def alertmanager_bin(require_tool) -> str:
    return require_tool("prometheus-alertmanager", "alertmanager")


@pytest.fixture(scope="session")
def rule_alerts(repo_root: Path) -> list[dict]:
    """Every alert rule of prometheus/rules/ (demo and production), as parsed YAML."""
    rules_dir = repo_root / "prometheus" / "rules"
    paths = sorted(rules_dir.glob("*.yml")) + sorted((rules_dir / "production").glob("*.yml"))
    return [r for p in paths for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"] if "alert" in r]


@pytest.fixture(scope="session")
def start_sink(launch: Callable[..., Proc]) -> Callable[..., Proc]:
    """Start an alert receiver process (`python -m demo_app.alert_sink`); all stop at the end."""

    def _start(**env: str) -> Proc:
        return launch("alert_sink", {**SINK_ENV, **env})

    return _start


@pytest.fixture(scope="session")
def sink_proc(start_sink: Callable[..., Proc]) -> Proc:
    return start_sink()


@pytest.fixture
def sink(sink_proc: Proc) -> Iterator[Proc]:
    """The shared receiver, empty before and after each test."""
    httpx.delete(f"{sink_proc.url}/alerts", timeout=5).raise_for_status()
    yield sink_proc
    httpx.delete(f"{sink_proc.url}/alerts", timeout=5).raise_for_status()


@pytest.fixture
def start_alertmanager(alertmanager_bin: str, am_config: Path, tmp_path: Path) -> Iterator[Callable[[Proc], Proc]]:
    """Start a fresh Alertmanager (own port and storage, no cluster) posting to `sink`."""
    procs: list[Proc] = []

    def _start(sink: Proc) -> Proc:
        run_dir = tmp_path / f"am{len(procs)}"
        cfg, rewrite = render_alertmanager(am_config, {"alert-sink": f"127.0.0.1:{sink.port}"})
        assert rewrite.urls, "no webhook URL was pointed at the local receiver"
        config_path = run_dir / "alertmanager.yml"
        write_yaml(config_path, cfg, am_config)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_process(
            "alertmanager",
            [
                alertmanager_bin,
                f"--config.file={config_path}",
                f"--storage.path={run_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # a single instance: no gossip port
                "--log.level=debug",
            ],
            run_dir,
            ready_url=f"{url}/-/ready",
            url=url,
            port=port,
            timeout=30,
        )
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        proc.stop()
