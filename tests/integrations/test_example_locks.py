"""Each third-party example carries a lock that installs with `pip --require-hashes` and matches its inputs.

No network: the files alone. The e2e test next to this one installs and runs them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
NAMES = ("otel_genai_app", "openlit_app")
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", re.M)


def _inputs(folder: Path) -> dict[str, str]:
    """{package: specifier} of requirements.in (comments stripped)."""
    found = {}
    for line in (folder / "requirements.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
            found[name.lower()] = spec
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_lock_pins_every_input_with_hashes(name):
    folder = EXAMPLES / name
    lock = (folder / "requirements.txt").read_text(encoding="utf-8")
    pins = {n.lower(): v for n, v in _PIN.findall(lock)}
    for package, spec in _inputs(folder).items():
        assert package in pins, f"{name}: {package} is in requirements.in but not locked"
        if spec.startswith("=="):
            assert pins[package] == spec[2:], f"{name}: {package} locked at {pins[package]}, requirements.in says {spec}"
    # Every requirement line of the lock carries hashes (what --require-hashes insists on).
    blocks = [b for b in re.split(r"\n(?=\S)", lock) if _PIN.match(b)]
    assert len(blocks) == len(pins) and all("--hash=sha256:" in b for b in blocks)


@pytest.mark.parametrize("name", NAMES)
def test_the_readme_gives_the_lock_command_the_lock_was_made_with(name):
    folder = EXAMPLES / name
    command = f"uv pip compile docs/examples/{name}/requirements.in --generate-hashes --python-version 3.11"
    lock_header = (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()[1]
    assert command in lock_header
    readme = (folder / "README.md").read_text(encoding="utf-8").replace("\\\n  ", "")
    assert command in readme
    assert (folder / "app.py").exists()
