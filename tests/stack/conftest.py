"""Fixtures for the stack checks that need no Docker engine: .env, compose.yaml, configs, dashboards.

compose.yaml only references variables from .env; `interpolate` resolves them the way
Docker Compose does (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `$$` for a literal
dollar), so the tests see what `docker compose config` would produce.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

_VARIABLE = re.compile(
    r"\$\$"  # escaped dollar
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (comments and blank lines ignored, no quoting tricks)."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"{path.name}:{number}: not KEY=value: {line!r}")
        values[key] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Resolve Compose variable references in `text`; a missing required variable raises."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"required variable {name} is not set: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        if value is None:
            raise KeyError(f"variable {name} is not set and has no default")
        return value

    return _VARIABLE.sub(replace, text)


@pytest.fixture(scope="session")
def env_values(repo_root: Path) -> dict[str, str]:
    return parse_env_file(repo_root / ".env")


@pytest.fixture(scope="session")
def compose_raw(repo_root: Path) -> dict[str, Any]:
    """compose.yaml as written (variable references unresolved)."""
    return yaml.safe_load((repo_root / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def compose(repo_root: Path, env_values: dict[str, str]) -> dict[str, Any]:
    """compose.yaml with every variable resolved from .env."""
    text = interpolate((repo_root / "compose.yaml").read_text(encoding="utf-8"), env_values)
    return yaml.safe_load(text)


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="session")
def dashboards(repo_root: Path) -> dict[str, dict[str, Any]]:
    """Committed dashboard JSON by file name."""
    folder = repo_root / "grafana" / "dashboards"
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@pytest.fixture(scope="session")
def all_panels() -> Callable[[dict[str, Any]], Iterator[dict[str, Any]]]:
    return iter_panels


@pytest.fixture(scope="session")
def check_queries(repo_root: Path, require_tool: Callable[..., str]) -> Callable[[list[dict[str, str]]], list[dict]]:
    """Parse LogQL/TraceQL with Grafana's Lezer grammars (tests/stack/querycheck, Node.js).

    Takes [{"id", "lang", "query"}], returns [{"id", "lang", "errors": [...]}].
    """
    node = require_tool("node", "nodejs")
    folder = repo_root / "tests" / "stack" / "querycheck"
    if not (folder / "node_modules" / "@grafana" / "lezer-logql").is_dir():
        pytest.fail(
            "Grafana's query grammars are not installed: run `npm ci --prefix tests/stack/querycheck` "
            "(make js / make test do it)",
            pytrace=False,
        )

    def run(items: list[dict[str, str]]) -> list[dict]:
        done = subprocess.run(
            [node, str(folder / "check.mjs")],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"query checker failed: {done.stderr}"
        return json.loads(done.stdout)

    return run
