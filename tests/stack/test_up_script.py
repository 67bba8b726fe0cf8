"""scripts/up.sh against a stand-in `docker compose` (no engine): the --wait path, the polling fallback, the URLs."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

FAKE_COMPOSE = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    # Stand-in for `docker compose`: records its arguments, answers `up --help` and `ps`.
    echo "$*" >> "$FAKE_LOG"
    if [[ "$1" == up && "$2" == --help ]]; then
      [[ -n "$FAKE_HAS_WAIT" ]] && printf "      --wait   Wait for services to be running|healthy\n      --wait-timeout int\n"
      exit 0
    fi
    if [[ "$1" == ps ]]; then cat "$FAKE_PS"; exit 0; fi
    exit "${FAKE_UP_STATUS:-0}"
    """
)


@pytest.fixture()
def run_up(repo_root, tmp_path, require_tool):
    require_tool("bash")
    fake = tmp_path / "compose"
    fake.write_text(FAKE_COMPOSE, encoding="utf-8")
    fake.chmod(0o755)
    log, ps = tmp_path / "calls.log", tmp_path / "ps.txt"

    def run(*, has_wait: bool, ps_lines: str = "", wait_timeout: int = 5, up_status: int = 0):
        ps.write_text(ps_lines, encoding="utf-8")
        env = dict(
            os.environ,
            COMPOSE=str(fake),
            FAKE_LOG=str(log),
            FAKE_PS=str(ps),
            FAKE_HAS_WAIT="1" if has_wait else "",
            FAKE_UP_STATUS=str(up_status),
            WAIT_TIMEOUT=str(wait_timeout),
        )
        done = subprocess.run(
            ["bash", str(repo_root / "scripts" / "up.sh")], env=env, capture_output=True, text=True, timeout=30
        )
        calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return done, calls

    return run


HEALTHY = "\n".join(
    [f"{name} running healthy" for name in ("prometheus", "loki", "tempo", "grafana", "app", "traffic")]
    + ["tempo-init exited "]
)


def test_uses_compose_wait_and_prints_urls_and_dashboards(run_up, env_values):
    done, calls = run_up(has_wait=True)
    assert done.returncode == 0, done.stderr
    assert "up -d --build --wait --wait-timeout 5" in calls, calls
    assert f"http://127.0.0.1:{env_values['GRAFANA_PORT']}" in done.stdout
    for port in ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "APP_PORT", "LLM_SIM_PORT", "ALERT_SINK_PORT"):
        assert f"127.0.0.1:{env_values[port]}" in done.stdout, port
    for uid in ("llm-overview", "llm-cost", "llm-rag-quality", "llm-agents", "llm-slo", "llm-stack-health"):
        assert f"/d/{uid}" in done.stdout


def test_reports_failure_when_services_do_not_become_healthy(run_up):
    done, _ = run_up(has_wait=True, up_status=1)
    assert done.returncode != 0
    assert "did not become healthy" in done.stderr


def test_falls_back_to_polling_health_without_wait_support(run_up):
    done, calls = run_up(has_wait=False, ps_lines=HEALTHY)
    assert done.returncode == 0, done.stderr
    assert "up -d --build" in calls and any(call.startswith("ps --all") for call in calls)


def test_polling_fallback_times_out_on_an_unhealthy_service(run_up):
    done, _ = run_up(has_wait=False, ps_lines=HEALTHY + "\napp running unhealthy\n", wait_timeout=1)
    assert done.returncode != 0
    assert "Timed out" in done.stderr and "app running unhealthy" in done.stderr
