"""Telemetry overhead: the same app with telemetry on and off, side by side, as ratios.

Two app processes run at once against one zero-latency simulator (LLM_SIM_LATENCY_SCALE=0),
so the app's own work is all there is to measure:
  - "on":  traces and OTLP logs exported to a discard-only OTLP receiver (bench/null_otlp.py),
           sampler parentbased_always_on (the demo's setting: the worst case);
  - "off": OTEL_SDK_DISABLED=true (no spans, no OTLP logs, no HTTP client instrumentation).
Rounds are interleaved (on, off, off, on, ...) after a warm-up, each with a fixed request
count, so drift on a shared machine hits both arms alike. Each round has two phases:
  - throughput: N requests from `concurrency` closed-loop workers -> requests/s;
  - latency:    M sequential requests (concurrency 1) -> per-request p50/p99, i.e. the
                time telemetry adds to one request, without queueing in front of it.
The throughput ratio is the median of the per-round ratios on/off (paired rounds). The app's
CPU time per request (psutil, every thread, exporters included) is reported too: on a shared
machine it is the steadier figure, and CPU off / CPU on is the capacity ratio a CPU-bound
app would see.

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

__all__ = ["measure", "main", "TARGET_THROUGHPUT_RATIO", "TARGET_P50_ADDED_MS"]

TARGET_THROUGHPUT_RATIO = 0.90
TARGET_P50_ADDED_MS = 1.0

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
    except Exception:  # noqa: BLE001 - the corpus is a nicety here, not a requirement
        questions = list(_FALLBACK_QUESTIONS)
    return [{"question": q, "user_tier": "enterprise", "feature": "qa", "stream": False} for q in questions]


def _arm_env(on: bool, otlp_url: str, sim_url: str) -> dict[str, str]:
    env = {
        "LLM_BASE_URL": f"{sim_url}/v1",
        "LOG_LEVEL": "info",  # same stdout logging in both arms: only export and spans differ
        **unlimited_rate_env(),
    }
    if on:
        env |= {
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
            "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            "OTEL_SDK_DISABLED": "false",
        }
    else:
        env |= {"OTEL_SDK_DISABLED": "true"}
    return env


def _summary(results: dict[str, list[LoadResult]], phase: str) -> dict[str, float]:
    pooled = {arm: [x for r in rs for x in r.latencies_s] for arm, rs in results.items()}
    return {
        f"{arm}_{name}_ms": round(percentile(pooled[arm], q) * 1000, 3)
        for arm in ("on", "off")
        for name, q in (("p50", 50), ("p99", 99))
    } | {
        "p50_added_ms": round((percentile(pooled["on"], 50) - percentile(pooled["off"], 50)) * 1000, 3),
        "p99_added_ms": round((percentile(pooled["on"], 99) - percentile(pooled["off"], 99)) * 1000, 3),
        "phase": phase,  # type: ignore[dict-item]
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
    with ExitStack() as stack:
        sim = stack.enter_context(
            start_module(
                "demo_app.llm_sim",
                log_dir,
                # The simulator is the same for both arms; its own telemetry off keeps its CPU use low.
                {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "7", "OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning"},
            )
        )
        otlp = stack.enter_context(start_module("bench.null_otlp", log_dir))
        apps = {
            arm: stack.enter_context(
                start_module("demo_app.app", log_dir / arm, _arm_env(arm == "on", otlp.url, sim.url), name=f"app-{arm}")
            )
            for arm in ("on", "off")
        }
        for arm, app in apps.items():  # warm-up: imports, BM25 index, connection pools, JIT-free caches
            warm = run_fixed(app.url, "/v1/ask", bodies, warmup, concurrency)
            if warm.ok != warmup:
                raise RuntimeError(f"warm-up of app-{arm} failed: {warm.statuses}\n{app.log()[-3000:]}")

        throughput: dict[str, list[LoadResult]] = {"on": [], "off": []}
        latency: dict[str, list[LoadResult]] = {"on": [], "off": []}
        cpu_ms: dict[str, list[float]] = {"on": [], "off": []}  # app CPU (all threads) per request
        profile_note = None
        for r in range(rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            for arm in order:
                if profile and arm == "on" and r == 0:
                    profile_note = _profile(apps["on"].popen.pid, 8, RAW_DIR / "overhead-profile.txt")
                before = _cpu_s(apps[arm].popen.pid)
                throughput[arm].append(run_fixed(apps[arm].url, "/v1/ask", bodies, requests, concurrency))
                latency[arm].append(run_fixed(apps[arm].url, "/v1/ask", bodies, sequential, 1))
                cpu_ms[arm].append((_cpu_s(apps[arm].popen.pid) - before) * 1000 / (requests + sequential))
        exported = httpx.get(f"{otlp.url}/stats").json()

    failures = {
        arm: sum(r.requests - r.ok for r in throughput[arm] + latency[arm]) for arm in ("on", "off")
    }
    ratios = [on.throughput / off.throughput for on, off in zip(throughput["on"], throughput["off"])]
    seq = _summary(latency, "sequential (concurrency 1)")
    conc = _summary(throughput, f"concurrent ({concurrency} workers)")
    result = {
        "machine": machine_info(),
        "settings": {
            "rounds": rounds, "requests_per_round": requests, "concurrency": concurrency,
            "sequential_per_round": sequential, "warmup": warmup, "endpoint": "POST /v1/ask (qa, enterprise, non-streaming)",
            "simulator": "LLM_SIM_LATENCY_SCALE=0", "on": "OTLP traces+logs to a discard receiver, parentbased_always_on",
            "off": "OTEL_SDK_DISABLED=true (Prometheus metrics and stdout logs stay on: the app has no switch for them)",
        },
        "throughput_rps": {arm: [round(r.throughput, 1) for r in throughput[arm]] for arm in ("on", "off")},
        "throughput_ratio": round(statistics.median(ratios), 3),
        "cpu_ms_per_request": {arm: round(statistics.median(v), 3) for arm, v in cpu_ms.items()},
        "cpu_ratio_off_over_on": round(statistics.median(cpu_ms["off"]) / statistics.median(cpu_ms["on"]), 3),
        "throughput_ratio_min_max": [round(min(ratios), 3), round(max(ratios), 3)],
        "latency_sequential": seq,
        "latency_concurrent": conc,
        "failed_requests": failures,
        "otlp_export": exported,
        "targets": {"throughput_ratio_min": TARGET_THROUGHPUT_RATIO, "p50_added_ms_max": TARGET_P50_ADDED_MS},
        "meets_targets": statistics.median(ratios) >= TARGET_THROUGHPUT_RATIO and seq["p50_added_ms"] <= TARGET_P50_ADDED_MS,
        "profile": profile_note and str(RAW_DIR / "overhead-profile.txt"),
    }
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """The overhead section of bench/results/README.md."""
    seq, conc = result["latency_sequential"], result["latency_concurrent"]
    s = result["settings"]
    lines = [
        "## Telemetry overhead",
        "",
        f"`{s['endpoint']}` against the simulator with `{s['simulator']}`; {s['rounds']} interleaved rounds per arm, "
        f"each {s['requests_per_round']} requests from {s['concurrency']} workers plus {s['sequential_per_round']} "
        f"sequential ones, after {s['warmup']} warm-up requests. On: {s['on']}. Off: {s['off']}.",
        "",
        "| figure | telemetry on | telemetry off | on vs off | target |",
        "|---|---|---|---|---|",
        f"| throughput, req/s (median of rounds) | {statistics.median(result['throughput_rps']['on']):.1f} "
        f"| {statistics.median(result['throughput_rps']['off']):.1f} | ratio **{result['throughput_ratio']:.3f}** "
        f"(rounds {result['throughput_ratio_min_max'][0]:.3f}-{result['throughput_ratio_min_max'][1]:.3f}) | >= {TARGET_THROUGHPUT_RATIO} |",
        f"| app CPU per request (all threads) | {result['cpu_ms_per_request']['on']:.2f} ms | "
        f"{result['cpu_ms_per_request']['off']:.2f} ms | capacity ratio off/on **{result['cpu_ratio_off_over_on']:.3f}** | |",
        f"| p50 latency, sequential | {seq['on_p50_ms']:.2f} ms | {seq['off_p50_ms']:.2f} ms | **{seq['p50_added_ms']:+.2f} ms** | <= +{TARGET_P50_ADDED_MS} ms |",
        f"| p99 latency, sequential | {seq['on_p99_ms']:.2f} ms | {seq['off_p99_ms']:.2f} ms | {seq['p99_added_ms']:+.2f} ms | |",
        f"| p50 latency, {s['concurrency']} workers | {conc['on_p50_ms']:.2f} ms | {conc['off_p50_ms']:.2f} ms | {conc['p50_added_ms']:+.2f} ms | |",
        f"| p99 latency, {s['concurrency']} workers | {conc['on_p99_ms']:.2f} ms | {conc['off_p99_ms']:.2f} ms | {conc['p99_added_ms']:+.2f} ms | |",
        "",
        f"Failed requests: on {result['failed_requests']['on']}, off {result['failed_requests']['off']}. "
        f"OTLP exports received: {result['otlp_export']['requests']} requests, {result['otlp_export']['bytes']} bytes. "
        f"Targets met: **{'yes' if result['meets_targets'] else 'no'}**.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Telemetry on vs off, interleaved rounds.")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=120)
    parser.add_argument("--profile", action="store_true", help="py-spy the instrumented app during round 1")
    args = parser.parse_args()
    t0 = time.monotonic()
    result = measure(args.rounds, args.requests, args.concurrency, args.sequential, profile=args.profile)
    result["wall_s"] = round(time.monotonic() - t0, 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
