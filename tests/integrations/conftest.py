"""Fixtures of the third-party instrumentation tests: one virtual environment per example app.

Each example under docs/examples/<name>/ locks its own requirements (their pins conflict with the
project's: OpenLIT needs openai<3, the official instrumentation an older opentelemetry-util-genai).
`example_venv(name)` installs that lock with `pip install --require-hashes` into a cache folder
outside the work tree, keyed by the lock's hash, and reuses it while the lock is unchanged:

    $LLM_OBS_EXAMPLE_VENVS (default ~/.cache/llm-obs-stack/example-venvs)/<name>-<sha256[:12]>/

bench/peer/venvs.py does the install (bounded, with progress; the peer benchmark builds its arms'
venvs with it too). When it cannot be done (no registry, no Python 3.11 wheels), the test fails
in CI (CI=true) and is skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# bench/ is not an installed package (the project's package is demo_app): import it from the tree.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peer.venvs import VenvError, ensure_venv  # noqa: E402

EXAMPLES = ROOT / "docs" / "examples"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _cannot(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def example_venv(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """example_venv(name) -> the Python of a venv holding docs/examples/<name>/requirements.txt."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        # Past pytest's capture, so a cold install shows its progress without -s.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print(message, flush=True)

    def _venv(name: str) -> Path:
        try:
            return ensure_venv(name, EXAMPLES / name / "requirements.txt", say)
        except VenvError as exc:
            _cannot(str(exc))
            raise  # not reached: _cannot fails or skips

    return _venv
