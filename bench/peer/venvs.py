"""Locked virtual environments outside the work tree, built once per lock and reused.

`ensure_venv(name, lock)` installs `lock` (a `uv pip compile --generate-hashes` file) with
`pip install --require-hashes` into

    $LLM_OBS_EXAMPLE_VENVS (default ~/.cache/llm-obs-stack/example-venvs)/<name>-<sha256(lock)[:12]>/

and returns its Python. A folder is reused while its lock is unchanged (the digest is in the
name) and only when its install completed (a marker written last); anything else is redone.
The install is bounded (INSTALL_TIMEOUT_S) and reports its progress through `say`. When it
cannot be done (no registry, no Python 3.11 wheels, a hung pip) it raises VenvError with pip's
last lines. Used by the peer benchmark (bench/peer) and by the third-party example tests
(tests/integrations/conftest.py), which turn VenvError into a failure in CI and a skip elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

__all__ = ["INSTALL_TIMEOUT_S", "LOCK_PYTHON", "VENVS_ENV", "VenvError", "cache_root", "ensure_venv"]

VENVS_ENV = "LLM_OBS_EXAMPLE_VENVS"
INSTALL_TIMEOUT_S = 600  # a cold install of the largest lock (traceloop-sdk, ~140 packages) is well under a minute here
_COMPLETE = ".complete"  # written last: a folder without it is a broken install and is redone
# The locks are compiled for this Python (`uv pip compile --python-version 3.11`).
LOCK_PYTHON = (3, 11)


class VenvError(RuntimeError):
    """The venv could not be built; the message says why (pip's last lines included)."""


def cache_root() -> Path:
    return Path(os.environ.get(VENVS_ENV) or Path.home() / ".cache" / "llm-obs-stack" / "example-venvs")


def _install(lock: Path, venv: Path, say: Callable[[str], None]) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # left over from an interrupted install
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    argv = [str(python), "-m", "pip", "install", "--require-hashes", "--no-input", "--progress-bar", "off",
            "--disable-pip-version-check", "--timeout", "60", "-r", str(lock)]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(INSTALL_TIMEOUT_S, proc.kill)  # pip may hang without printing
    watchdog.start()
    tail: deque[str] = deque(maxlen=30)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            if line.startswith(("Collecting", "Successfully installed", "ERROR")):
                say(f"  [{time.monotonic() - started:5.1f} s] {line.split(' (from ')[0][:160]}")
        code = proc.wait()
    finally:
        watchdog.cancel()
    if time.monotonic() - started >= INSTALL_TIMEOUT_S:
        raise VenvError(f"installing {lock} took over {INSTALL_TIMEOUT_S} s (stopped)")
    if code != 0:
        raise VenvError(f"pip install --require-hashes -r {lock} failed:\n" + "\n".join(tail))
    (venv / _COMPLETE).write_text(f"installed from {lock} in {time.monotonic() - started:.1f} s\n", encoding="utf-8")


def ensure_venv(name: str, lock: Path, say: Callable[[str], None] = print) -> Path:
    """The Python of a venv holding `lock`, installed now unless a complete one is cached."""
    if sys.version_info[:2] != LOCK_PYTHON:
        raise VenvError(f"the locks are for Python {'.'.join(map(str, LOCK_PYTHON))}; this is {sys.version.split()[0]}")
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    venv = cache_root() / f"{name}-{digest}"
    marker = venv / _COMPLETE
    if marker.exists():
        say(f"{name}: reusing {venv} ({marker.read_text(encoding='utf-8').strip()})")
    else:
        say(f"{name}: installing {lock} into {venv} (bounded to {INSTALL_TIMEOUT_S} s)")
        started = time.monotonic()
        _install(lock, venv, say)
        say(f"{name}: installed in {time.monotonic() - started:.1f} s")
    return venv / "bin" / "python"
