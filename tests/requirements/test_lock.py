"""requirements/*.txt are the lock: in step with pyproject.toml, and what the venv really holds.

`make lock` writes them with `uv pip compile --generate-hashes`; `make venv` and the image
install only from them (`--require-hashes`), so every version is decided once, here. These
tests fail when someone edits pyproject.toml and forgets `make lock`, or when a pin is left
behind that nothing needs any more.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT_ROOT_VIA = "llm-obs-stack (pyproject.toml)"
BUILD_IN = "requirements/build.in"


@dataclass
class Pin:
    version: str
    marker: Marker | None
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def _parse_lock(path: Path) -> dict[str, Pin]:
    """name -> Pin, from uv's requirements format (pins, hashes and `# via` annotations)."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if not raw.startswith(" ") and not line.startswith("#"):
            spec = line.rstrip("\\").strip()
            req = Requirement(spec)
            (specifier,) = req.specifier
            assert specifier.operator == "==", f"{path.name}: {spec} is not an exact pin"
            current = pins[canonicalize_name(req.name)] = Pin(specifier.version, req.marker)
            in_via = False
        elif current is None:
            continue  # the header
        elif line.startswith("--hash=sha256:"):
            current.hashes += 1
        elif line.startswith("# via"):
            rest = line.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                current.via.append(rest)
        elif in_via and line.startswith("#   "):
            current.via.append(line.removeprefix("#").strip())
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _build_requirements() -> list[Requirement]:
    lines = (ROOT / BUILD_IN).read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


LOCKS = {
    # lock file -> the requirements it must satisfy
    "app.txt": lambda p: p["project"]["dependencies"],
    "test.txt": lambda p: p["project"]["dependencies"] + p["project"]["optional-dependencies"]["test"],
}


@pytest.fixture(scope="module", params=sorted(LOCKS))
def lock(request) -> tuple[str, dict[str, Pin], list[Requirement]]:
    name = request.param
    wanted = [Requirement(r) for r in LOCKS[name](_pyproject())] + _build_requirements()
    return name, _parse_lock(ROOT / "requirements" / name), wanted


def test_every_pyproject_requirement_is_pinned_within_its_range(lock) -> None:
    name, pins, wanted = lock
    for req in wanted:
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req} is in pyproject.toml but not in requirements/{name}: run `make lock`"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"requirements/{name} pins {req.name}=={pin.version}, outside pyproject's {req}: run `make lock`"
        )


def test_every_pin_has_hashes_and_is_needed(lock) -> None:
    """Each pin is reachable from pyproject.toml or build.in through the `# via` chain."""
    name, pins, _ = lock
    needed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for pkg, pin in pins.items():
            if pkg in needed:
                continue
            roots = {PROJECT_ROOT_VIA, f"-r {BUILD_IN}"} | needed
            if any(canonicalize_name(v) in needed or v in roots for v in pin.via):
                needed.add(pkg)
                changed = True
    for pkg, pin in pins.items():
        assert pin.hashes, f"requirements/{name}: {pkg} has no --hash (pip --require-hashes would refuse it)"
    stale = sorted(set(pins) - needed)
    assert not stale, f"requirements/{name} pins packages nothing needs any more: {stale}; run `make lock`"


def test_the_image_lock_agrees_with_the_test_lock() -> None:
    """The image runs the versions the tests ran: app.txt is resolved under test.txt's pins."""
    app, test = (_parse_lock(ROOT / "requirements" / n) for n in ("app.txt", "test.txt"))
    differing = {pkg: (pin.version, test[pkg].version) for pkg, pin in app.items() if pkg in test and test[pkg].version != pin.version}
    assert not differing, f"app.txt and test.txt pin different versions (app, test): {differing}"
    assert set(app) <= set(test), f"app.txt pins packages test.txt lacks: {sorted(set(app) - set(test))}"


def test_the_venv_was_installed_from_the_lock() -> None:
    """`make venv` installs test.txt: every pin that applies to this interpreter is what is installed."""
    wrong = {}
    for pkg, pin in _parse_lock(ROOT / "requirements" / "test.txt").items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            wrong[pkg] = (pin.version, installed)
    assert not wrong, f"the venv differs from requirements/test.txt (locked, installed): {wrong}; run `make venv`"


def test_the_dockerfile_installs_from_the_lock_only() -> None:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "demo_app" / "Dockerfile").read_text(encoding="utf-8"))
    runs = [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("RUN ")]
    installs = [r for r in runs if "pip install" in r]
    assert any("--require-hashes -r requirements/app.txt" in r for r in installs), installs
    # The package itself adds no dependency of its own: everything came from the lock.
    assert all("--require-hashes" in r or "--no-deps" in r for r in installs), installs
