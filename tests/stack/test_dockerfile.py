"""demo_app/Dockerfile and .dockerignore: pinned base from .env, pip install of the package, non-root, health check."""

from __future__ import annotations

import fnmatch
import re

import pytest


@pytest.fixture(scope="module")
def dockerfile(repo_root) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (repo_root / "demo_app" / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _all(dockerfile, instruction):
    return [arguments for name, arguments in dockerfile if name == instruction]


def test_base_image_comes_from_env_through_a_build_argument(dockerfile, compose_raw):
    assert _all(dockerfile, "FROM") == ["${PYTHON_BASE_IMAGE}"]
    # No default in the Dockerfile: .env is the one place the version is written.
    assert "PYTHON_BASE_IMAGE" in _all(dockerfile, "ARG")
    for name, service in compose_raw["services"].items():
        if "build" in service:
            assert service["build"]["args"]["PYTHON_BASE_IMAGE"].startswith("${PYTHON_BASE_IMAGE"), name
            assert service["build"]["context"] == "." and service["build"]["dockerfile"] == "demo_app/Dockerfile"


def test_installs_the_package_from_pyproject(dockerfile):
    assert any(re.search(r"\bpip install --no-deps --no-build-isolation \.(\s|$)", run) for run in _all(dockerfile, "RUN"))


def test_runs_as_a_non_root_user(dockerfile):
    users = _all(dockerfile, "USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_has_a_health_check_and_runs_the_app_by_default(dockerfile):
    (healthcheck,) = _all(dockerfile, "HEALTHCHECK")
    assert "/healthz" in healthcheck and "urllib.request" in healthcheck
    assert _all(dockerfile, "CMD")[-1] == '["python", "-m", "demo_app.app"]'


def _dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!pattern` re-includes."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        parts = path.split("/")
        # A pattern matching a parent directory applies to everything below it.
        if any(re.fullmatch(regex, "/".join(parts[: i + 1])) for i in range(len(parts))):
            excluded = not negate
    return excluded


def test_dockerignore_sends_only_the_package(repo_root):
    patterns = [
        line.strip()
        for line in (repo_root / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("pyproject.toml", "README.md", "requirements/app.txt", "demo_app/contract.yaml", "demo_app/data/models/simulator.yaml"):
        assert not _dockerignore_excludes(patterns, needed), f"{needed} must reach the build"
    for unwanted in (".venv/bin/python", ".git/config", "tests/conftest.py", ".env", "grafana/dashboards/x.json", "requirements/test.txt"):
        assert _dockerignore_excludes(patterns, unwanted), f"{unwanted} must not be sent to the daemon"
