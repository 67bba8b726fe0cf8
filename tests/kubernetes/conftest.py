"""Fixtures for the Kubernetes tests: the llm-obs chart rendered offline, per values profile.

The chart (deploy/kubernetes/llm-obs) is rendered by helm-python-sdk, which binds Helm v4's
Go SDK (libhelm_c) with ctypes: no helm binary, no cluster, no network. Each profile is
rendered once per session with the values a user would pass (`-f values-production.yaml`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import helm_python
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "deploy" / "kubernetes" / "llm-obs"
VALUES_DIR = ROOT / "deploy" / "kubernetes" / "values"
CRDCHECK = Path(__file__).resolve().parent / "crdcheck"
RELEASE = "llm-obs"
NAMESPACE = "llm"
# profile name -> values file passed on top of the chart's values.yaml (None: defaults only)
PROFILES: dict[str, str | None] = {"demo": None, "production": "values-production.yaml"}


@dataclass(frozen=True)
class Rendered:
    """One object of a rendered chart and the template it came from."""

    template: str
    obj: dict

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def profile_values(profile: str) -> dict:
    values_file = PROFILES[profile]
    return yaml.safe_load((CHART_DIR / values_file).read_text()) if values_file else {}


def render_chart(values: dict | None = None) -> list[Rendered]:
    """Every object the chart renders with `values` (as `helm template llm-obs -n llm`)."""
    # Helm logs one INFO line per symlink it follows (files/rules...): expected, not news.
    helm_python.disable_logging()
    with helm_python.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    objects = []
    for template, text in sorted(manifests.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        objects.extend(Rendered(template, doc) for doc in yaml.safe_load_all(text) if doc)
    return objects


@pytest.fixture(scope="session")
def chart_dir() -> Path:
    return CHART_DIR


@pytest.fixture(scope="session")
def values_dir() -> Path:
    return VALUES_DIR


@pytest.fixture(scope="session")
def namespace() -> str:
    return NAMESPACE


@pytest.fixture(scope="session")
def render() -> Callable[[dict | None], list[Rendered]]:
    """Render the chart with any values (test modules cannot import this conftest)."""
    return render_chart


@pytest.fixture(scope="session")
def values_of() -> Callable[[str], dict]:
    """profile -> the values a user passes for it."""
    return profile_values


@pytest.fixture(scope="session", params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


_RENDERS: dict[str, list[Rendered]] = {}


@pytest.fixture(scope="session")
def rendered_profiles() -> Callable[[str], list[Rendered]]:
    """profile -> its rendered objects (rendered once per session)."""

    def get(profile: str) -> list[Rendered]:
        if profile not in _RENDERS:
            _RENDERS[profile] = render_chart(profile_values(profile))
        return _RENDERS[profile]

    return get


@pytest.fixture(scope="session")
def rendered(profile: str, rendered_profiles) -> list[Rendered]:
    return rendered_profiles(profile)


@pytest.fixture(scope="session")
def merged_values(chart_dir: Path, profile: str) -> dict:
    """The merged values of the profile (chart defaults + its values file), as Helm sees them."""
    with helm_python.Chart.load(chart_dir) as chart:
        return chart.merge_values(profile_values(profile))


@pytest.fixture(scope="session")
def of_kind(rendered: list[Rendered]) -> Callable[[str], list[Rendered]]:
    return lambda kind: [r for r in rendered if r.kind == kind]


@pytest.fixture(scope="session")
def crd_check(require_tool) -> Callable[[list[tuple[str, dict]]], dict[str, list[str]]]:
    """Validate operator objects with tests/kubernetes/crdcheck (Node.js): {id: errors}."""
    node = require_tool("node", "nodejs")
    if not (CRDCHECK / "node_modules" / "@kubernetes-models" / "prometheus-operator").is_dir():
        pytest.fail("run `npm ci --prefix tests/kubernetes/crdcheck` (make js does it)", pytrace=False)

    def run(items: list[tuple[str, dict]]) -> dict[str, list[str]]:
        payload = json.dumps([{"id": ident, "object": obj} for ident, obj in items])
        done = subprocess.run([node, str(CRDCHECK / "check.mjs")], input=payload, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"CRD checker failed: {done.stderr}"
        return {r["id"]: r["errors"] for r in json.loads(done.stdout)}

    return run


@pytest.fixture(scope="session")
def promtool(require_tool) -> str:
    return require_tool("promtool")


@pytest.fixture(scope="session")
def amtool(require_tool) -> str:
    return require_tool("amtool")


