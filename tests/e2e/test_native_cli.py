"""`python -m demo_app.native up|status|down` leaves a working stack behind and takes it away again."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from demo_app.loadgen.observe import READY_PATHS

pytestmark = pytest.mark.e2e


def native(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "demo_app.native", *args], capture_output=True, text=True, timeout=180)


def test_up_status_down(tmp_path, require_tool):
    require_tool("prometheus")
    state = str(tmp_path / "state")
    try:
        up = native("up", "--state-dir", state, "--latency-scale", "0.05")
        assert up.returncode == 0, up.stdout + up.stderr
        urls = json.loads((tmp_path / "state" / "urls.json").read_text())
        for name, path in READY_PATHS.items():
            assert httpx.get(urls[name] + path, timeout=5).is_success, name
        assert native("status", "--state-dir", state).returncode == 0
        again = native("up", "--state-dir", state)
        assert again.returncode == 0 and "already running" in again.stdout
    finally:
        down = native("down", "--state-dir", state)
    assert down.returncode == 0 and "prometheus" in down.stdout
    with pytest.raises(httpx.HTTPError):
        httpx.get(urls["prometheus"] + "/-/ready", timeout=2)
    status = native("status", "--state-dir", state)
    assert status.returncode == 1 and "not running" in status.stdout
