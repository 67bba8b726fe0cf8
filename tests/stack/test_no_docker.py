"""`make up/load/down/ps/logs/clean` without a usable Docker: one line saying what is missing, native mode named."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# Stand-in `docker`: logs its arguments; `compose version` and `info` answer as told.
FAKE_DOCKER = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    echo "$*" >> "$FAKE_LOG"
    if [[ "$1" == compose && "$2" == version ]]; then
      [[ -n "$FAKE_COMPOSE_OK" ]] && { echo "Docker Compose version v2.29.0"; exit 0; }
      echo "docker: unknown command: docker compose" >&2; exit 1
    fi
    if [[ "$1" == info ]]; then
      [[ -n "$FAKE_ENGINE_OK" ]] && exit 0
      echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1
    fi
    exit 99  # any other call means a target went past the check
    """
)

TARGETS = [["up"], ["down"], ["ps"], ["logs"], ["clean"], ["load", "SCENARIO=error-spike"], ["load", "VENV=/nonexistent"]]

Make = Callable[..., tuple[subprocess.CompletedProcess[str], list[str]]]


def _path_without_docker() -> list[str]:
    return [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "docker").exists()]


@pytest.fixture()
def make(repo_root: Path, tmp_path: Path, require_tool: Callable[..., str]) -> Make:
    """make(target..., docker=None|"no-compose"|"no-engine") -> (completed process, the stub's calls)."""
    require_tool("make")
    log = tmp_path / "docker-calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def run(*args: str, docker: str | None) -> tuple[subprocess.CompletedProcess[str], list[str]]:
        path = _path_without_docker()
        if docker is not None:
            stub = bin_dir / "docker"
            stub.write_text(FAKE_DOCKER, encoding="utf-8")
            stub.chmod(0o755)
            path = [str(bin_dir), *path]
        env = {k: v for k, v in os.environ.items() if k not in ("COMPOSE", "MAKEFLAGS", "MAKELEVEL")}
        env.update(
            PATH=os.pathsep.join(path),
            FAKE_LOG=str(log),
            FAKE_COMPOSE_OK="1" if docker == "no-engine" else "",
            FAKE_ENGINE_OK="1" if docker == "no-compose" else "",
        )
        done = subprocess.run(
            ["make", "--no-print-directory", "-C", str(repo_root), *args],
            env=env, input="y\n", capture_output=True, text=True, timeout=60,
        )
        calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return done, calls

    return run


def _our_lines(stderr: str) -> list[str]:
    """stderr without make's own `make: *** [...] Error 1` trailer."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("make: ***")]


def _assert_one_line(done: subprocess.CompletedProcess[str], target: str, missing: str) -> None:
    assert done.returncode != 0
    lines = _our_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"make {target}: "), lines[0]
    assert missing in lines[0], lines[0]
    assert "make native-up" in lines[0] and "make load-native SCENARIO=" in lines[0], lines[0]
    assert "unknown flag" not in done.stdout + done.stderr


@pytest.mark.parametrize("args", TARGETS, ids=" ".join)
def test_says_docker_is_not_installed(make: Make, args: list[str]) -> None:
    done, _ = make(*args, docker=None)
    _assert_one_line(done, args[0], "Docker is not installed")


@pytest.mark.parametrize("args", TARGETS, ids=" ".join)
def test_says_compose_v2_is_missing(make: Make, args: list[str]) -> None:
    done, calls = make(*args, docker="no-compose")
    _assert_one_line(done, args[0], "Docker Compose v2")
    assert "Docker engine" not in done.stderr
    assert set(calls) <= {"compose version", "info"}, calls


@pytest.mark.parametrize("args", TARGETS, ids=" ".join)
def test_says_the_engine_is_not_reachable(make: Make, args: list[str]) -> None:
    done, calls = make(*args, docker="no-engine")
    _assert_one_line(done, args[0], "reachable Docker engine")
    assert "Cannot connect to the Docker daemon" in done.stderr
    assert "Compose v2 (" not in done.stderr
    assert set(calls) <= {"compose version", "info"}, calls


def test_load_without_scenario_lists_them_without_docker_when_the_venv_exists(make: Make, repo_root: Path) -> None:
    if not (repo_root / ".venv" / "bin" / "python").exists():
        # `make test` always creates it; only a pytest run from elsewhere lacks it, and never in CI.
        (pytest.fail if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else pytest.skip)("no .venv (make venv creates it)")
    done, calls = make("load", docker=None)
    assert done.returncode == 0, done.stderr
    assert "error-spike" in done.stdout and not calls
