"""The stack without Docker: Prometheus, Alertmanager and the demo components as local processes.

Everything binds 127.0.0.1 on free (or chosen) ports. Prometheus and Alertmanager are
Debian's binaries, run with the configs derived from the compose ones (config.py), so
the same rules and routes apply. Loki, Tempo and Grafana have no native counterpart;
traces and logs go to the in-memory OTLP receiver instead. With `tracker=True` (the CLI's
default) the error tracker, the real Bugsink from the venv (native/tracker.py), starts first
and the app, simulator and receiver get its DSN as SENTRY_DSN.

`NativeStack` is a context manager (the e2e tests use it as a session fixture); the CLI
(`python -m demo_app.native up|down|status`) uses the same class and leaves the processes
running, recording their pids and URLs in the state directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from demo_app.native.config import Rewrite, render_alertmanager, render_prometheus, write_yaml
from demo_app.native.tracker import TrackerInfo, start_tracker
from demo_app.procs import Proc, find_tool, free_port, start_component, start_process
from demo_app.stack_urls import URLS_FILE, StackUrls

__all__ = ["NativeStack", "COMPONENTS", "REPO_ROOT", "PIDS_FILE", "read_state", "stop_from_state", "status_from_state"]

REPO_ROOT = Path(__file__).resolve().parents[2]
PIDS_FILE = "pids.json"
# Start order: what others depend on first; Prometheus last so its first scrape finds every
# target up (no TargetDown at start). Names are the compose service names; the tracker
# first, so every service that reports to it starts with its DSN (it runs only when asked).
COMPONENTS = ("tracker", "otlp", "alert-sink", "alertmanager", "llm-sim", "mcp-tools", "app", "prometheus")
_READY_PATH = {"prometheus": "/-/ready", "alertmanager": "/-/ready", "tracker": "/health/ready"}  # the others answer /healthz
# The services that report to the tracker (sentry-sdk, demo_app/telemetry/errors.py).
_REPORTING = frozenset({"app", "llm-sim", "alert-sink", "mcp-tools"})


class NativeStack:
    """Start and stop the native stack; `urls` tells where each part answers."""

    def __init__(
        self,
        state_dir: Path | str = ".native",
        *,
        latency_scale: float = 1.0,
        seed: int | None = None,
        ports: Mapping[str, int] | None = None,
        env: Mapping[str, Mapping[str, str]] | None = None,
        repo_root: Path = REPO_ROOT,
        start_timeout_s: float = 60.0,
        tracker: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.latency_scale = latency_scale
        self.seed = seed
        self.repo_root = repo_root
        self.start_timeout_s = start_timeout_s
        unknown = set(ports or {}) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown component(s) {sorted(unknown)}; known: {', '.join(COMPONENTS)}")
        self.ports = {name: (ports or {}).get(name) or free_port() for name in COMPONENTS}
        self.extra_env = {k: dict(v) for k, v in (env or {}).items()}
        self.procs: dict[str, Proc] = {}
        self.rewrites: dict[str, Rewrite] = {}
        self.tracker_enabled = tracker
        self.tracker: TrackerInfo | None = None  # set once the tracker is up

    # --- addresses -------------------------------------------------------------------
    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def url(self, name: str) -> str:
        return f"http://{self.address(name)}"

    @property
    def urls(self) -> StackUrls:
        return StackUrls(
            app=self.url("app"),
            sim=self.url("llm-sim"),
            prometheus=self.url("prometheus"),
            alertmanager=self.url("alertmanager"),
            sink=self.url("alert-sink"),
            tools=self.url("mcp-tools"),
        )

    def all_urls(self) -> dict[str, str]:
        """Every URL, for urls.json (the loadgen reads StackUrls' fields)."""
        urls = {**self.urls.as_dict(), "otlp": self.url("otlp"), "logs": str(self.state_dir / "logs")}
        if self.tracker is not None:
            urls["tracker"] = self.tracker.url
        return urls

    # --- configs -----------------------------------------------------------------------
    def write_configs(self) -> tuple[Path, Path]:
        """Generate prometheus.yml and alertmanager.yml for this stack's ports."""
        addresses = {name: self.address(name) for name in COMPONENTS if name != "otlp"}
        prom_src = self.repo_root / "prometheus" / "prometheus.yml"
        am_src = self.repo_root / "alertmanager" / "alertmanager.yml"
        prom_cfg, self.rewrites["prometheus"] = render_prometheus(prom_src, addresses)
        am_cfg, self.rewrites["alertmanager"] = render_alertmanager(am_src, addresses)
        prom_path, am_path = self.state_dir / "prometheus.yml", self.state_dir / "alertmanager.yml"
        write_yaml(prom_path, prom_cfg, prom_src)
        write_yaml(am_path, am_cfg, am_src)
        return prom_path, am_path

    # --- processes -----------------------------------------------------------------------
    def _env(self, name: str, base: Mapping[str, str]) -> dict[str, str]:
        tracking = {"SENTRY_DSN": self.tracker.dsn} if self.tracker is not None and name in _REPORTING else {}
        return {**tracking, **base, **self.extra_env.get(name, {})}

    def _otel_env(self, service: str) -> dict[str, str]:
        # The same variables compose sets, pointed at the local OTLP receiver. Short export
        # intervals keep test runs from waiting on batches.
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.url("otlp"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": service,
            "OTEL_BSP_SCHEDULE_DELAY": "1000",
            "OTEL_BLRP_SCHEDULE_DELAY": "1000",
        }

    def _start(self, name: str) -> Proc | None:
        logs = self.state_dir / "logs"
        timeout = self.start_timeout_s
        port = self.ports[name]
        if name == "tracker":
            if not self.tracker_enabled:
                return None
            proc, self.tracker = start_tracker(self.state_dir, port, logs, timeout=max(timeout, 120.0))
            return proc
        if name == "alert-sink":
            return start_component("alert_sink", logs, port=port, env=self._env(name, self._otel_env("alert-sink")), timeout=timeout)
        if name == "llm-sim":
            env = {"LLM_SIM_LATENCY_SCALE": str(self.latency_scale), **self._otel_env("llm-sim")}
            if self.seed is not None:
                env["LLM_SIM_SEED"] = str(self.seed)
            return start_component("llm_sim", logs, port=port, env=self._env(name, env), timeout=timeout)
        if name == "mcp-tools":
            return start_component("mcp_tools", logs, port=port, env=self._env(name, self._otel_env("mcp-tools")), timeout=timeout)
        if name == "app":
            # service.name as in compose.yaml (demo-app): the dashboards' Loki queries select it.
            env = {"LLM_BASE_URL": f"{self.url('llm-sim')}/v1", "MCP_TOOLS_URL": f"{self.url('mcp-tools')}/mcp", **self._otel_env("demo-app")}
            return start_component("app", logs, port=port, env=self._env(name, env), timeout=timeout)
        if name == "otlp":
            if importlib.util.find_spec("demo_app.native.otlp_sink") is None:
                # No receiver: the port stays closed and exporters count their drops.
                return None
            return start_process(
                "otlp",
                [sys.executable, "-m", "demo_app.native.otlp_sink"],
                logs,
                env={"HOST": "127.0.0.1", "PORT": str(port), **self.extra_env.get(name, {})},
                ready_url=f"{self.url('otlp')}/healthz",
                url=self.url("otlp"),
                port=port,
                timeout=timeout,
            )
        if name == "alertmanager":
            data = self.state_dir / "alertmanager-data"
            data.mkdir(parents=True, exist_ok=True)
            argv = [
                find_tool("prometheus-alertmanager", "alertmanager"),
                f"--config.file={self.state_dir / 'alertmanager.yml'}",
                f"--storage.path={data}",
                f"--web.listen-address={self.address(name)}",
                "--cluster.listen-address=",  # one instance: no gossip port, no peers to wait for
            ]
            return start_process(name, argv, logs, ready_url=f"{self.url(name)}/-/ready", url=self.url(name), port=port, timeout=timeout)
        if name == "prometheus":
            data = self.state_dir / "prometheus-data"
            data.mkdir(parents=True, exist_ok=True)
            argv = [
                find_tool("prometheus"),
                f"--config.file={self.state_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address={self.address(name)}",
                "--enable-feature=exemplar-storage",  # trace ids on histogram samples
                "--web.enable-lifecycle",  # POST /-/reload after a rule change
                "--web.enable-remote-write-receiver",  # what Tempo's metrics generator needs in compose
                # As in compose: re-send firing alerts after 15 s, not 1 min. The first round is
                # evaluated before Alertmanager is discovered, so this bounds the first Watchdog.
                "--rules.alert.resend-delay=15s",
            ]
            return start_process(name, argv, logs, ready_url=f"{self.url(name)}/-/ready", url=self.url(name), port=port, timeout=timeout)
        raise ValueError(name)

    def start(self) -> StackUrls:
        """Start every component (configs first); on any failure stop what was started and raise."""
        find_tool("prometheus")
        find_tool("prometheus-alertmanager", "alertmanager")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.write_configs()
        try:
            for name in COMPONENTS:
                proc = self._start(name)
                if proc is not None:
                    self.procs[name] = proc
                    self._write_state()
        except BaseException:
            self.stop()
            raise
        return self.urls

    def stop(self) -> None:
        """Stop in reverse start order (Prometheus first, so no alert for a component going away)."""
        for name in reversed(list(self.procs)):
            self.procs[name].stop()
        self.procs.clear()
        for path in (self.state_dir / PIDS_FILE, self.state_dir / URLS_FILE):
            path.unlink(missing_ok=True)

    def _write_state(self) -> None:
        pids = {name: {"pid": p.popen.pid, "url": p.url, "argv": p.popen.args} for name, p in self.procs.items()}
        (self.state_dir / PIDS_FILE).write_text(json.dumps(pids, indent=2, default=str) + "\n", encoding="utf-8")
        (self.state_dir / URLS_FILE).write_text(json.dumps(self.all_urls(), indent=2) + "\n", encoding="utf-8")

    def __enter__(self) -> NativeStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the stack as recorded in a state directory (for `down` and `status`) -----------------


def read_state(state_dir: Path) -> dict[str, dict]:
    """{name: {pid, url, argv}} of a stack started by `up`, or {} when there is none."""
    try:
        return json.loads((Path(state_dir) / PIDS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _ours(pid: int, argv: list[str]) -> bool:
    """True if `pid` still runs the program we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].decode(errors="replace") == str(argv[0])


def _ready(name: str, url: str) -> bool:
    try:
        return httpx.get(url + _READY_PATH.get(name, "/healthz"), timeout=2.0).is_success
    except httpx.HTTPError:
        return False


def status_from_state(state_dir: Path) -> dict[str, str]:
    """{name: "up" | "not ready" | "dead"} for each recorded component."""
    result = {}
    for name, info in read_state(state_dir).items():
        if not _ours(info["pid"], info["argv"]):
            result[name] = "dead"
        else:
            result[name] = "up" if _ready(name, info["url"]) else "not ready"
    return result


def stop_from_state(state_dir: Path, timeout_s: float = 10.0) -> list[str]:
    """Stop every recorded component (SIGTERM its process group, SIGKILL after `timeout_s`)."""
    state = read_state(state_dir)
    stopped = []
    for name in reversed(list(state)):
        pid, argv = state[name]["pid"], state[name]["argv"]
        if not _ours(pid, argv):
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _ours(pid, argv) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _ours(pid, argv):
            os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    for path in (Path(state_dir) / PIDS_FILE, Path(state_dir) / URLS_FILE):
        path.unlink(missing_ok=True)
    return stopped
