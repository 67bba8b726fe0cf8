"""Fixtures of the third-party instrumentation tests: one virtual environment per example app.

Each example under docs/examples/<name>/ locks its own requirements (their pins conflict with the
project's: OpenLIT needs openai<3, the official instrumentation an older opentelemetry-util-genai).
`example_venv(name)` installs that lock with `pip install --require-hashes` into a cache folder
outside the work tree, keyed by the lock's hash, and reuses it while the lock is unchanged:

    $LLM_OBS_EXAMPLE_VENVS (default ~/.cache/llm-obs-stack/example-venvs)/<name>-<sha256[:12]>/

The install is bounded (INSTALL_TIMEOUT_S) and prints its progress. When it cannot be done (no
registry, no Python 3.11 wheels), the test fails in CI (CI=true) and is skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
VENVS_ENV = "LLM_OBS_EXAMPLE_VENVS"
INSTALL_TIMEOUT_S = 600  # a cold install of the larger lock (OpenLIT, 64 packages) took ~20 s here
_COMPLETE = ".complete"  # written last: a folder without it is a broken install and is redone
# The locks are compiled for this Python (`uv pip compile --python-version 3.11`).
LOCK_PYTHON = (3, 11)


def _cache_root() -> Path:
    return Path(os.environ.get(VENVS_ENV) or Path.home() / ".cache" / "llm-obs-stack" / "example-venvs")


def _cannot(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _install(lock: Path, venv: Path, say: Callable[[str], None]) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # left over from an interrupted install
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    argv = [str(python), "-m", "pip", "install", "--require-hashes", "--no-input", "--progress-bar", "off",
            "--disable-pip-version-check", "--timeout", "60", "-r", str(lock)]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(INSTALL_TIMEOUT_S, proc.kill)  # pip may hang without printing
    watchdog.start()
    tail: deque[str] = deque(maxlen=30)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            if line.startswith(("Collecting", "Successfully installed", "ERROR")):
                say(f"  [{time.monotonic() - started:5.1f} s] {line.split(' (from ')[0][:160]}")
        code = proc.wait()
    finally:
        watchdog.cancel()
    if time.monotonic() - started >= INSTALL_TIMEOUT_S:
        _cannot(f"installing {lock} took over {INSTALL_TIMEOUT_S} s (stopped)")
    if code != 0:
        _cannot(f"pip install --require-hashes -r {lock} failed:\n" + "\n".join(tail))
    (venv / _COMPLETE).write_text(f"installed from {lock} in {time.monotonic() - started:.1f} s\n", encoding="utf-8")


@pytest.fixture(scope="session")
def example_venv(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """example_venv(name) -> the Python of a venv holding docs/examples/<name>/requirements.txt."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        # Past pytest's capture, so a cold install shows its progress without -s.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print(message, flush=True)

    def _venv(name: str) -> Path:
        if sys.version_info[:2] != LOCK_PYTHON:
            _cannot(f"the example locks are for Python {'.'.join(map(str, LOCK_PYTHON))}; this is {sys.version.split()[0]}")
        lock = EXAMPLES / name / "requirements.txt"
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
        venv = _cache_root() / f"{name}-{digest}"
        marker = venv / _COMPLETE
        if marker.exists():
            say(f"\n{name}: reusing {venv} ({marker.read_text(encoding='utf-8').strip()})")
        else:
            say(f"\n{name}: installing {lock.relative_to(ROOT)} into {venv} (bounded to {INSTALL_TIMEOUT_S} s)")
            started = time.monotonic()
            _install(lock, venv, say)
            say(f"{name}: installed in {time.monotonic() - started:.1f} s")
        return venv / "bin" / "python"

    return _venv
