"""Where the telemetry overhead goes: app CPU per request with one telemetry piece switched off at a time.

A profiler's stacks on a shared machine blur (the export threads mostly wait, the GIL hides
who waits for whom); CPU time per request does not. Each variant is the same app started
with telemetry on (the arms of bench/overhead.py), with one piece switched off - by its
setting where it has one, else patched out at import time:

  always on              the demo's settings (parentbased_always_on, OTLP traces and logs, metrics)
  no OTLP log records    OTEL_LOGS_EXPORTER=none: log lines stay on stdout, none is shipped
  no export masking      spans are exported without the masking check (patch)
  no Prometheus metrics  TELEMETRY_METRICS_ENABLED=false
  no span export         OTEL_TRACES_EXPORTER=none: spans are made, none is exported
  5% sampling            parentbased_traceidratio 0.05, everything else on
  5% + no OTLP logs
  off                    OTEL_SDK_DISABLED=true, TELEMETRY_METRICS_ENABLED=false

The patches name private functions of demo_app.telemetry: this is a diagnostic, and a variant
whose patch no longer applies is reported as failed rather than silently measured wrong.

    python -m bench.attribution
"""

from __future__ import annotations

import json
import statistics
import sys
from contextlib import ExitStack
from typing import Any

import psutil

from bench._common import RAW_DIR, RESULTS_DIR, ROOT, machine_info, run_fixed, start_module
from bench.overhead import _bodies, arm_env
from demo_app.procs import Proc, free_port, start_process

__all__ = ["VARIANTS", "measure", "to_markdown", "main"]

_NO_MASK = "import demo_app.telemetry.tracing as m; assert m._needs_masking; m._needs_masking = lambda s: False"
_NO_LOGS = {"OTEL_LOGS_EXPORTER": "none"}

# name -> (patch code, arm of bench/overhead.py, extra environment)
VARIANTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "always on": ("", "always on", {}),
    "no OTLP log records": ("", "always on", _NO_LOGS),
    "no export masking": (_NO_MASK, "always on", {}),
    "no Prometheus metrics": ("", "always on", {"TELEMETRY_METRICS_ENABLED": "false"}),
    "no span export": ("", "always on", {"OTEL_TRACES_EXPORTER": "none"}),
    "5% sampling": ("", "5% sampled", {}),
    "5% + no OTLP logs": ("", "5% sampled", _NO_LOGS),
    "off": ("", "off", {}),
}


def _start_variant(name: str, patch: str, env: dict[str, str], log_dir) -> Proc:
    port = free_port()
    code = patch + "\nimport runpy; runpy.run_module('demo_app.app', run_name='__main__')"
    slug = "".join(c if c.isalnum() else "-" for c in name)
    return start_process(
        f"app-{slug}",
        [sys.executable, "-c", code],
        log_dir,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        ready_url=f"http://127.0.0.1:{port}/healthz",
        url=f"http://127.0.0.1:{port}",
        port=port,
    )


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measure(rounds: int = 3, requests: int = 300) -> dict[str, Any]:
    """Sequential requests to every variant, interleaved by round; CPU ms per request (median)."""
    log_dir = RAW_DIR / "attribution"
    bodies = _bodies()
    cpu: dict[str, list[float]] = {}
    p50: dict[str, list[float]] = {}
    failed: dict[str, str] = {}
    with ExitStack() as stack:
        sim = stack.enter_context(
            start_module("demo_app.llm_sim", log_dir, {"LLM_SIM_LATENCY_SCALE": "0", "OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning"})
        )
        otlp = stack.enter_context(start_module("bench.null_otlp", log_dir))
        apps: dict[str, Proc] = {}
        for name, (patch, arm, extra) in VARIANTS.items():
            try:
                apps[name] = stack.enter_context(_start_variant(name, patch, arm_env(arm, otlp.url, sim.url) | extra, log_dir))
                run_fixed(apps[name].url, "/v1/ask", bodies, 150, 4)  # warm-up
            except Exception as exc:  # any failure: report the variant, measure the others
                failed[name] = str(exc).splitlines()[0]
        for _ in range(rounds):
            for name, app in apps.items():
                before = _cpu_s(app.popen.pid)
                result = run_fixed(app.url, "/v1/ask", bodies, requests, 1)
                cpu.setdefault(name, []).append((_cpu_s(app.popen.pid) - before) * 1000 / requests)
                p50.setdefault(name, []).append(result.p(50) * 1000)
    off = statistics.median(cpu["off"]) if "off" in cpu else None
    rows = {
        name: {
            "cpu_ms_per_request": round(statistics.median(v), 3),
            "added_cpu_ms": None if off is None else round(statistics.median(v) - off, 3),
            "capacity_ratio": None if off is None else round(off / statistics.median(v), 3),
            "p50_ms": round(statistics.median(p50[name]), 3),
        }
        for name, v in cpu.items()
    }
    return {"machine": machine_info(), "rounds": rounds, "requests_per_round": requests, "variants": rows, "failed": failed}


def to_markdown(result: dict[str, Any]) -> str:
    """The attribution section of bench/results/README.md."""
    lines = [
        "### Where the overhead goes",
        "",
        f"App CPU per `/v1/ask` request (all threads), {result['rounds']} interleaved rounds of "
        f"{result['requests_per_round']} sequential requests per variant (`bench/attribution.py`). "
        "Capacity ratio = CPU off / CPU of the variant.",
        "",
        "| variant | CPU ms/request | added vs off | capacity ratio | p50 ms |",
        "|---|---|---|---|---|",
    ]
    for name, row in result["variants"].items():
        added = "-" if row["added_cpu_ms"] is None else f"{row['added_cpu_ms']:+.2f}"
        ratio = "-" if row["capacity_ratio"] is None else f"{row['capacity_ratio']:.3f}"
        lines.append(f"| {name} | {row['cpu_ms_per_request']:.2f} | {added} | {ratio} | {row['p50_ms']:.2f} |")
    lines += [f"| {name} | failed: {why} | | | |" for name, why in result["failed"].items()]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    result = measure()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "attribution.json").write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
