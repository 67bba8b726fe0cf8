"""Telemetry overhead: the same app with telemetry on (two ways) and off, side by side, as ratios.

Three app processes run at once against one zero-latency simulator (LLM_SIM_LATENCY_SCALE=0),
so the app's own work is all there is to measure:
  - "always on": traces and OTLP logs exported to a discard-only OTLP receiver
                 (bench/null_otlp.py), Prometheus metrics, sampler parentbased_always_on
                 (the demo's setting: the worst case);
  - "5% sampled": the same with parentbased_traceidratio at 0.05, what a production
                 deployment would run (docs/architecture.md: sample 1-10%); logs and
                 metrics are not sampled;
  - "off":       OTEL_SDK_DISABLED=true (no spans, no OTLP logs, no HTTP client
                 instrumentation) and TELEMETRY_METRICS_ENABLED=false (no Prometheus
                 recording). JSON log lines on stdout stay, in every arm.
Rounds are interleaved (the order rotates every round) after a warm-up, each with a fixed
request count, so drift on a shared machine hits every arm alike. Each round has two phases:
  - throughput: N requests from `concurrency` closed-loop workers -> requests/s;
  - latency:    M sequential requests (concurrency 1) -> per-request p50/p99, i.e. the
                time telemetry adds to one request, without queueing in front of it.
An "on" arm's throughput ratio is the median of its per-round ratios to "off" (paired
rounds). The app's CPU time per request (psutil, every thread, exporters included) is
reported too: on a shared machine it is the steadier figure, and CPU off / CPU on is the
capacity ratio a CPU-bound app would see.

    python -m bench.overhead [--rounds 10] [--profile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench._common import RAW_DIR, RESULTS_DIR, LoadResult, machine_info, percentile, run_fixed, start_module, unlimited_rate_env

__all__ = ["measure", "main", "ARMS", "ON_ARMS", "TARGET_THROUGHPUT_RATIO", "TARGET_P50_ADDED_MS"]

TARGET_THROUGHPUT_RATIO = 0.90
TARGET_P50_ADDED_MS = 1.0

_ALWAYS_ON = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "parentbased_always_on"}
_SAMPLED = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.05"}
_OFF = {"OTEL_SDK_DISABLED": "true", "TELEMETRY_METRICS_ENABLED": "false"}
# arm -> (description for the report, environment on top of the common one)
ARMS: dict[str, tuple[str, dict[str, str]]] = {
    "always on": ("OTLP traces+logs to a discard receiver, Prometheus metrics, parentbased_always_on", _ALWAYS_ON),
    "5% sampled": ("the same with parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.05", _SAMPLED),
    "off": ("OTEL_SDK_DISABLED=true, TELEMETRY_METRICS_ENABLED=false (stdout JSON logs stay on)", _OFF),
}
ON_ARMS = ("always on", "5% sampled")

_FALLBACK_QUESTIONS = (
    "How do I rotate an API key?",
    "What does the enterprise plan include?",
    "How are refunds handled?",
    "What is the rate limit of the free tier?",
)


def _bodies() -> list[dict[str, Any]]:
    """Realistic /v1/ask bodies: corpus questions, enterprise tier, non-streaming `qa`."""
    try:
        from demo_app.loadgen.corpus import load_corpus

        questions = [q for d in load_corpus() for q in d.questions][:40] or list(_FALLBACK_QUESTIONS)
    except Exception:
        questions = list(_FALLBACK_QUESTIONS)
    return [{"question": q, "user_tier": "enterprise", "feature": "qa", "stream": False} for q in questions]


def arm_env(arm: str, otlp_url: str, sim_url: str) -> dict[str, str]:
    """The app's environment in one arm (see ARMS)."""
    return {
        "LLM_BASE_URL": f"{sim_url}/v1",
        "LOG_LEVEL": "info",  # same stdout logging in every arm
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
        **unlimited_rate_env(),
        **ARMS[arm][1],
    }


def _summary(results: dict[str, list[LoadResult]], arm: str) -> dict[str, float]:
    """p50/p99 of `arm` and of "off", pooled over rounds, and the difference."""
    on = [x for r in results[arm] for x in r.latencies_s]
    off = [x for r in results["off"] for x in r.latencies_s]
    return {
        "p50_ms": round(percentile(on, 50) * 1000, 3),
        "p99_ms": round(percentile(on, 99) * 1000, 3),
        "p50_added_ms": round((percentile(on, 50) - percentile(off, 50)) * 1000, 3),
        "p99_added_ms": round((percentile(on, 99) - percentile(off, 99)) * 1000, 3),
    }


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all threads (the exporters' included)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _profile(pid: int, seconds: int, out: Path) -> str | None:
    """Sample the instrumented app with py-spy while it is under load (None if py-spy is missing)."""
    pyspy = Path(sys.executable).with_name("py-spy")
    if not pyspy.exists():
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return str(
        subprocess.Popen(
            [str(pyspy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
             "--format", "raw", "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).pid
    )


def measure(
    rounds: int = 10,
    requests: int = 300,
    concurrency: int = 8,
    sequential: int = 120,
    warmup: int = 150,
    profile: bool = False,
) -> dict[str, Any]:
    """Run the interleaved rounds and return the figures (see the module docstring)."""
    log_dir = RAW_DIR / "overhead"
    bodies = _bodies()
    arms = list(ARMS)
    with ExitStack() as stack:
        sim = stack.enter_context(
            start_module(
                "demo_app.llm_sim",
                log_dir,
                # The simulator is the same for every arm; its own telemetry off keeps its CPU use low.
                {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "7", "OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning"},
            )
        )
        otlp = stack.enter_context(start_module("bench.null_otlp", log_dir))
        apps = {
            arm: stack.enter_context(
                start_module("demo_app.app", log_dir / _slug(arm), arm_env(arm, otlp.url, sim.url), name=f"app-{_slug(arm)}")
            )
            for arm in arms
        }
        for arm, app in apps.items():  # warm-up: imports, BM25 index, connection pools, JIT-free caches
            warm = run_fixed(app.url, "/v1/ask", bodies, warmup, concurrency)
            if warm.ok != warmup:
                raise RuntimeError(f"warm-up of app-{arm} failed: {warm.statuses}\n{app.log()[-3000:]}")

        throughput: dict[str, list[LoadResult]] = {arm: [] for arm in arms}
        latency: dict[str, list[LoadResult]] = {arm: [] for arm in arms}
        cpu_ms: dict[str, list[float]] = {arm: [] for arm in arms}  # app CPU (all threads) per request
        profile_note = None
        for r in range(rounds):
            for arm in arms[r % len(arms):] + arms[: r % len(arms)]:  # each arm goes first in turn
                if profile and arm == "always on" and r == 0:
                    profile_note = _profile(apps[arm].popen.pid, 8, RAW_DIR / "overhead-profile.txt")
                before = _cpu_s(apps[arm].popen.pid)
                throughput[arm].append(run_fixed(apps[arm].url, "/v1/ask", bodies, requests, concurrency))
                latency[arm].append(run_fixed(apps[arm].url, "/v1/ask", bodies, sequential, 1))
                cpu_ms[arm].append((_cpu_s(apps[arm].popen.pid) - before) * 1000 / (requests + sequential))
        exported = httpx.get(f"{otlp.url}/stats").json()

    cpu = {arm: statistics.median(v) for arm, v in cpu_ms.items()}
    per_arm: dict[str, Any] = {}
    for arm in arms:
        ratios = [a.throughput / off.throughput for a, off in zip(throughput[arm], throughput["off"], strict=True)]
        per_arm[arm] = {
            "description": ARMS[arm][0],
            "environment": ARMS[arm][1],
            "throughput_rps": [round(x.throughput, 1) for x in throughput[arm]],
            "throughput_ratio": round(statistics.median(ratios), 3),
            "throughput_ratio_min_max": [round(min(ratios), 3), round(max(ratios), 3)],
            "cpu_ms_per_request": round(cpu[arm], 3),
            "cpu_ratio_off_over_arm": round(cpu["off"] / cpu[arm], 3),
            "latency_sequential": _summary(latency, arm),
            "latency_concurrent": _summary(throughput, arm),
            "failed_requests": sum(x.requests - x.ok for x in throughput[arm] + latency[arm]),
        }
        if arm != "off":
            seq = per_arm[arm]["latency_sequential"]
            per_arm[arm]["meets_targets"] = (
                per_arm[arm]["throughput_ratio"] >= TARGET_THROUGHPUT_RATIO and seq["p50_added_ms"] <= TARGET_P50_ADDED_MS
            )
    return {
        "machine": machine_info(),
        "settings": {
            "rounds": rounds, "requests_per_round": requests, "concurrency": concurrency,
            "sequential_per_round": sequential, "warmup": warmup, "endpoint": "POST /v1/ask (qa, enterprise, non-streaming)",
            "simulator": "LLM_SIM_LATENCY_SCALE=0",
        },
        "arms": per_arm,
        "otlp_export": exported,
        "targets": {"throughput_ratio_min": TARGET_THROUGHPUT_RATIO, "p50_added_ms_max": TARGET_P50_ADDED_MS},
        "profile": profile_note and str(RAW_DIR / "overhead-profile.txt"),
    }


def _slug(arm: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in arm).strip("-")


def to_markdown(result: dict[str, Any]) -> str:
    """The overhead section of bench/results/README.md: one column per arm."""
    s, arms = result["settings"], result["arms"]
    on, off = [arms[a] for a in ON_ARMS], arms["off"]

    def row(figure: str, cells: list[str], off_cell: str, target: str = "") -> str:
        return f"| {figure} | {' | '.join(cells)} | {off_cell} | {target} |"

    def latency(kind: str, q: str) -> list[str]:
        return [f"{a[kind][f'{q}_ms']:.2f} ms (**{a[kind][f'{q}_added_ms']:+.2f}**)" for a in on]

    workers = s["concurrency"]
    failed = ", ".join(f"{name} {arm['failed_requests']}" for name, arm in arms.items())
    lines = [
        "## Telemetry overhead",
        "",
        f"`{s['endpoint']}` against the simulator with `{s['simulator']}`; {s['rounds']} interleaved rounds per arm, "
        f"each {s['requests_per_round']} requests from {workers} workers plus {s['sequential_per_round']} "
        f"sequential ones, after {s['warmup']} warm-up requests (`bench/overhead.py`).",
        "",
        *[f"- **{name}**: {arms[name]['description']}." for name in (*ON_ARMS, "off")],
        "",
        f"| figure | {' | '.join(ON_ARMS)} | off | target |",
        "|---|---|---|---|---|",
        row("throughput ratio vs off (median of rounds; range)",
            [f"**{a['throughput_ratio']:.3f}** ({a['throughput_ratio_min_max'][0]:.3f}-{a['throughput_ratio_min_max'][1]:.3f})" for a in on],
            "1", f">= {TARGET_THROUGHPUT_RATIO}"),
        row("throughput, req/s (median of rounds)", [f"{statistics.median(a['throughput_rps']):.1f}" for a in on],
            f"{statistics.median(off['throughput_rps']):.1f}"),
        row("app CPU per request (all threads)", [f"{a['cpu_ms_per_request']:.2f} ms" for a in on], f"{off['cpu_ms_per_request']:.2f} ms"),
        row("capacity ratio (CPU off / CPU on)", [f"{a['cpu_ratio_off_over_arm']:.3f}" for a in on], "1"),
        row("p50 latency, sequential (added)", latency("latency_sequential", "p50"),
            f"{off['latency_sequential']['p50_ms']:.2f} ms", f"<= +{TARGET_P50_ADDED_MS} ms"),
        row("p99 latency, sequential (added)", latency("latency_sequential", "p99"), f"{off['latency_sequential']['p99_ms']:.2f} ms"),
        row(f"p50 latency, {workers} workers (added)", latency("latency_concurrent", "p50"), f"{off['latency_concurrent']['p50_ms']:.2f} ms"),
        row(f"p99 latency, {workers} workers (added)", latency("latency_concurrent", "p99"), f"{off['latency_concurrent']['p99_ms']:.2f} ms"),
        row("targets met", [f"**{'yes' if a['meets_targets'] else 'no'}**" for a in on], ""),
        "",
        f"Failed requests: {failed}. "
        f"OTLP exports received: {result['otlp_export']['requests']} requests, {result['otlp_export']['bytes']} bytes.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Telemetry on (always, 5% sampled) vs off, interleaved rounds.")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=120)
    parser.add_argument("--profile", action="store_true", help="py-spy the always-on app during round 1")
    args = parser.parse_args()
    t0 = time.monotonic()
    result = measure(args.rounds, args.requests, args.concurrency, args.sequential, profile=args.profile)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
