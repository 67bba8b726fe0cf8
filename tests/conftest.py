"""Fixtures shared by every test folder: tools that must exist, and local processes.

Component-specific fixtures live in each folder's own conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from demo_app.procs import ToolMissing, find_tool

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
