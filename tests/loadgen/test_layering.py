"""Who may import whom: the product never depends on the load generator or on native-mode tooling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DEMO_APP = Path(__file__).resolve().parents[2] / "demo_app"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _importers_of(package: str, *, outside: str) -> list[str]:
    found = []
    for path in sorted(DEMO_APP.rglob("*.py")):
        rel = path.relative_to(DEMO_APP.parent)
        if rel.parts[1] == outside:
            continue
        if any(name == f"demo_app.{package}" or name.startswith(f"demo_app.{package}.") for name in _imports(path)):
            found.append(str(rel))
    return found


def test_nothing_in_demo_app_imports_the_load_generator() -> None:
    assert _importers_of("loadgen", outside="loadgen") == []


@pytest.mark.parametrize("component", ["app", "llm_sim", "alert_sink", "telemetry"])
def test_the_product_does_not_import_native_mode_tooling(component: str) -> None:
    offenders = [p for p in _importers_of("native", outside="native") if Path(p).parts[1] == component]
    assert offenders == []


def test_the_otlp_test_receiver_is_not_in_the_telemetry_package() -> None:
    assert not (DEMO_APP / "telemetry" / "otlp_sink.py").exists()
    assert (DEMO_APP / "native" / "otlp_sink.py").exists()
