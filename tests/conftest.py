"""Fixtures shared by every test folder: tools that must exist, and local processes.

Component-specific fixtures live in each folder's own conftest.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demo_app.procs import Proc, ToolMissing, find_tool, start_component

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def require_tool():
    """Return a function that finds a program by name(s).

    A missing program fails the test, in CI and elsewhere alike: these checks are the
    only proof our configs work, so they are never skipped. `make test` installs the
    programs on Debian/Ubuntu when run as root.
    """

    def _find(*names: str) -> str:
        try:
            return find_tool(*names)
        except ToolMissing as exc:
            pytest.fail(str(exc), pytrace=False)

    return _find


@pytest.fixture(scope="session")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Proc]]:
    """Start `python -m demo_app.<component>` (see `start_component`); all stop at session end.

    `launch(component, env, log_dir=None)`: the log goes to `log_dir` or a fresh temp folder.
    """
    procs: list[Proc] = []

    def _start(component: str, env: dict[str, str], log_dir: Path | None = None) -> Proc:
        proc = start_component(component, log_dir or tmp_path_factory.mktemp(component), env=env)
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        proc.stop()


@pytest.fixture
def json_log() -> Callable[[Proc], list[dict]]:
    """Every stdout line of a process, parsed as JSON (fails on the first non-JSON line)."""

    def _parse(proc: Proc) -> list[dict]:
        events = []
        for line in proc.log().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"{proc.name} wrote a non-JSON line: {line!r}")
        return events

    return _parse
