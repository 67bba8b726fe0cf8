"""Start, watch and stop local processes: the demo components, Prometheus, Alertmanager.

Shared by the native stack (`python -m demo_app.native`) and the tests, so both start
things the same way: on 127.0.0.1, a free port, stdout/stderr to a log file, a readiness
URL polled until it answers, and a stop that never leaves a child behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

__all__ = ["Proc", "free_port", "poll_until", "start_process", "start_component", "find_tool", "ToolMissing"]

T = TypeVar("T")


class ToolMissing(RuntimeError):
    """A program the caller needs (promtool, amtool, prometheus...) is not installed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_until(fn: Callable[[], T | None], description: str, timeout: float, interval: float = 0.25) -> T:
    """Call `fn` until it returns something truthy; fail with `description` after `timeout` s.

    Exceptions raised by `fn` count as "not yet" (a server still starting refuses
    connections); the last one is reported if time runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = fn()
            if result:
                return result
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {description}{detail}")
        time.sleep(interval)


def find_tool(*names: str) -> str:
    """Path of the first program in `names` found on PATH, or ToolMissing with a how-to."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ToolMissing(
        f"none of {', '.join(names)} is installed; on Debian/Ubuntu run "
        "`sudo apt-get install prometheus prometheus-alertmanager` (make test does it when run as root)"
    )


@dataclass
class Proc:
    """A running child process with its log file and base URL."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    url: str = ""
    port: int = 0
    extra: dict = field(default_factory=dict)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL if it is still there after `timeout`."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_process(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_url: str | None = None,
    url: str = "",
    port: int = 0,
    timeout: float = 30.0,
) -> Proc:
    """Start `argv` in its own process group, logging to `log_dir/<name>.log`.

    If `ready_url` is given, wait until it answers 2xx; if the process dies or time runs
    out, stop it and raise with the tail of its log so the failure explains itself.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    full_env = {**os.environ, **(env or {})}
    popen = subprocess.Popen(
        list(argv), stdout=log_file, stderr=subprocess.STDOUT, env=full_env, start_new_session=True
    )
    log_file.close()
    proc = Proc(name=name, popen=popen, log_path=log_path, url=url, port=port)
    if ready_url:

        def ready() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{name} exited with code {popen.returncode}")
            return httpx.get(ready_url, timeout=2.0).is_success

        try:
            poll_until(ready, f"{name} to answer {ready_url}", timeout)
        except (TimeoutError, RuntimeError) as exc:
            proc.stop()
            tail = "\n".join(proc.log().splitlines()[-40:])
            raise RuntimeError(f"{name} did not become ready: {exc}\n--- last log lines ---\n{tail}") from exc
    return proc


def start_component(
    component: str,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    health_path: str = "/healthz",
    timeout: float = 30.0,
) -> Proc:
    """Start `python -m demo_app.<component>` on 127.0.0.1 and a free port; wait for health."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    return start_process(
        component,
        [sys.executable, "-m", f"demo_app.{component}"],
        log_dir,
        env={"HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", **(env or {})},
        ready_url=url + health_path,
        url=url,
        port=port,
        timeout=timeout,
    )
