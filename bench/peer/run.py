"""Peer benchmark: the same minimal FastAPI + `openai` app under each instrumentation library.

    python -m bench.peer [--rounds 6] [--requests 400] [--concurrency 8] [--budget 300] [--arms none,otel,...]

Arms (bench/peer/app.py): none; official OpenTelemetry (FastAPI + openai-v2, OTLP traces);
OpenLLMetry (traceloop-sdk); OpenLIT; ours-docs (docs/examples/minimal_openai_app.py's code);
ours (demo_app.telemetry with the demo app's LLM client) and ours-5pct (the same, 5 % sampled;
it shares ours' baseline).
Each arm runs in its own venv from its lock (bench/peer/locks/<arm>.txt, built once and cached
by bench/peer/venvs.py; "ours" uses the project's .venv and lock) and has its own baseline: the
same app and packages with PEER_TELEMETRY=off, since package versions alone move throughput.

Everything runs on 127.0.0.1: the zero-latency simulator (demo_app.llm_sim), one counting
OTLP receiver (bench/peer/receiver.py, a path per arm) and every app at once (outbound proxies
point at a closed local port, so a library that tries the internet fails instead of reaching it).
Each round sends `--requests` POST /ask with `--concurrency` workers to every app in turn, the
order rotating by round; per round and app: req/s, the app process's CPU time (all threads,
/proc) per request, p50/p99 and RSS. Figures are medians over rounds with their ranges; ratios
and added CPU are paired per round against the arm's own baseline. Then a census: after the
queues drained, `--census` sequential requests per arm and a clean stop (exporters flush), and
the receiver's counts give spans and log records per request; metric series are the distinct
OTLP points (or, for ours, the points on its /metrics). Results: bench/results/peer.json and
bench/results/peer.md; process logs in bench/results/raw/peer/. It stops after `--budget`
seconds at the latest (rounds not started by then are dropped and the report says so).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._common import RAW_DIR, RESULTS_DIR, ROOT, machine_info, percentile, run_fixed, start_module
from bench.peer.stats import emits_text, paired_difference, paired_ratio, per_request, prom_series, spread
from bench.peer.venvs import VenvError, ensure_venv
from demo_app.procs import Proc, free_port, start_process

__all__ = ["ARMS", "main", "measure", "round_order", "to_markdown"]

LOCKS = Path(__file__).resolve().parent / "locks"
APP = Path(__file__).resolve().parent / "app.py"
OUT_JSON = RESULTS_DIR / "peer.json"
OUT_MD = RESULTS_DIR / "peer.md"


@dataclass(frozen=True)
class Arm:
    name: str
    title: str
    lock: Path | None  # None: the project's own .venv (requirements/app.txt)
    metrics: str  # how it ships metrics: "OTLP", "/metrics" or ""
    app_arm: str = ""  # PEER_ARM of app.py when it differs from the name
    env: tuple[tuple[str, str], ...] = ()  # extra settings of the instrumented app
    baseline: str = ""  # another arm whose baseline this one shares (same venv and code)


_SAMPLED = (("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.05"))
ARMS = {
    "none": Arm("none", "no telemetry", LOCKS / "none.txt", ""),
    "otel": Arm("otel", "official OpenTelemetry (FastAPI + openai-v2 instrumentation, OTLP traces)", LOCKS / "otel.txt", "OTLP"),
    "openllmetry": Arm("openllmetry", "OpenLLMetry (`traceloop-sdk`)", LOCKS / "openllmetry.txt", "OTLP"),
    "openlit": Arm("openlit", "OpenLIT", LOCKS / "openlit.txt", "OTLP"),
    "ours-docs": Arm("ours-docs", "this project, as `docs/examples/minimal_openai_app.py` shows (sync client)", None, "/metrics"),
    "ours": Arm("ours", "this project's telemetry package (`demo_app.telemetry` + the demo app's LLM client)", None, "/metrics"),
    "ours-5pct": Arm("ours-5pct", "the same at 5 % trace sampling (`parentbased_traceidratio` 0.05)", None, "/metrics",
                     app_arm="ours", env=_SAMPLED, baseline="ours"),
}
BODIES = [{"question": q} for q in (
    "How do I rotate an API key?",
    "What does the enterprise plan include?",
    "How are refunds handled?",
    "What is the rate limit of the free tier?",
)]
# Any HTTP(S) request that is not to 127.0.0.1 goes to this closed port and fails.
_NO_INTERNET = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def _say(message: str) -> None:
    print(f"peer: {message}", flush=True)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (utime + stime from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start_app(arm: Arm, python: Path, telemetry: bool, sim_url: str, otlp_url: str, log_dir: Path) -> Proc:
    port = free_port()
    name = f"{arm.name}-{'on' if telemetry else 'off'}"
    env = {
        **_NO_INTERNET,
        "PEER_ARM": arm.app_arm or arm.name,
        "PEER_TELEMETRY": "on" if telemetry else "off",
        "PEER_OTLP_ENDPOINT": f"{otlp_url}/{arm.name}",
        "OTEL_SERVICE_NAME": f"peer-{arm.name}",
        "OPENAI_BASE_URL": f"{sim_url}/v1",
        "OPENAI_API_KEY": "sim-key",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "info",
        # Only ours imports the project (demo_app); the other venvs hold just their lock.
        "PYTHONPATH": str(ROOT) if arm.lock is None else "",
        **(dict(arm.env) if telemetry else {}),
    }
    return start_process(name, [str(python), str(APP)], log_dir, env=env, ready_url=f"http://127.0.0.1:{port}/healthz",
                         url=f"http://127.0.0.1:{port}", port=port, timeout=60)


def round_order(groups: list[list[str]], r: int) -> list[str]:
    """The apps of round `r`: groups rotated so each goes first in turn, and within a group the
    baseline first in even rounds, last in odd ones (neither always gets the warmer machine)."""
    shift = r % len(groups) if groups else 0
    order: list[str] = []
    for group in groups[shift:] + groups[:shift]:
        order += group if r % 2 == 0 else group[::-1]
    return order


def _stats(otlp: Proc) -> dict[str, Any]:
    return httpx.get(f"{otlp.url}/stats", timeout=10).json()


def _drained(otlp: Proc, arms: list[str], quiet_s: float = 7.0, timeout: float = 60.0) -> dict[str, Any]:
    """Receiver counts once no arm has sent anything for `quiet_s` (batch processors export
    every 5 s by default), so a census starts with empty queues."""
    last, since = _stats(otlp), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _stats(otlp)
        if any(now.get(a, {}).get("exports") != last.get(a, {}).get("exports") for a in arms):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return last


def measure(arms: list[str], rounds: int, requests: int, concurrency: int, warmup: int, census: int,
            budget_s: float) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + budget_s
    log_dir = RAW_DIR / "peer"
    failed: dict[str, str] = {}
    pythons: dict[str, Path] = {}
    def build(name: str) -> None:
        arm = ARMS[name]
        if arm.lock is None:
            pythons[name] = Path(sys.executable)
            return
        try:
            pythons[name] = ensure_venv(f"peer-{name}", arm.lock, say=lambda m: _say(f"[{name}] {m.strip()}"))
        except (VenvError, subprocess.SubprocessError, OSError) as exc:
            failed[name] = f"its venv could not be built from {arm.lock.relative_to(ROOT)}: {exc}"
            _say(f"arm {name} left out: {failed[name]}")

    # In parallel: a cold build is mostly waiting on downloads (20-50 s per lock here).
    with ThreadPoolExecutor(max_workers=len(arms)) as pool:
        list(pool.map(build, arms))
    arms = [a for a in arms if a in pythons]
    with ExitStack() as stack:
        sim = stack.enter_context(start_module(
            "demo_app.llm_sim", log_dir,
            {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "7", "OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning",
             "TELEMETRY_METRICS_ENABLED": "false"}))
        otlp = stack.enter_context(start_module("bench.peer.receiver", log_dir, name="receiver"))
        apps: dict[str, Proc] = {}  # "<arm>-off" / "<arm>-on"
        for name in arms:
            variants = (False,) if name == "none" else (True,) if ARMS[name].baseline else (False, True)
            for telemetry in variants:
                key = f"{name}-{'on' if telemetry else 'off'}"
                try:
                    apps[key] = stack.enter_context(_start_app(ARMS[name], pythons[name], telemetry, sim.url, otlp.url, log_dir))
                except RuntimeError as exc:
                    failed[name] = f"{key} did not start: {exc}"
                    _say(f"arm {name} left out: {str(exc)[:3000]}")
                    break
        for name in failed:
            for key in (f"{name}-off", f"{name}-on"):
                if key in apps:
                    apps.pop(key).stop()
        arms = [a for a in arms if a not in failed]
        sent = dict.fromkeys(apps, 0)
        for key, app in list(apps.items()):
            warm = run_fixed(app.url, "/ask", BODIES, warmup, concurrency)
            sent[key] += warmup
            if warm.ok != warmup:
                name = key.rsplit("-", 1)[0]
                failed[name] = f"warm-up of {key} failed: {warm.statuses}"
                _say(f"arm {name} left out: {failed[name]}\n{app.log()[-2000:]}")
        for name in [a for a in arms if a in failed]:
            for key in (f"{name}-off", f"{name}-on"):
                if key in apps:
                    apps.pop(key).stop()
        for name in arms:  # without its baseline an arm has nothing to be compared with
            if ARMS[name].baseline in failed and name not in failed:
                failed[name] = f"its baseline ({ARMS[name].baseline}-off) is left out"
                apps.pop(f"{name}-on").stop()
        arms = [a for a in arms if a not in failed]
        keys = list(apps)
        if "none-off" not in apps:
            raise RuntimeError("the no-telemetry arm did not run: " + failed.get("none", "?"))
        _say(f"{len(keys)} apps ready ({', '.join(keys)}); {rounds} rounds of {requests} requests, {concurrency} workers")

        # An arm's apps (baseline first) form a group measured back to back, so each paired ratio
        # compares minutes-apart rounds of the same machine load, not rounds far apart.
        groups: list[list[str]] = []
        for name in arms:
            home = ARMS[name].baseline or name
            group = next((g for g in groups if g[0] == f"{home}-off"), None)
            if group is None:
                groups.append(group := [])
            group += [k for k in (f"{name}-off", f"{name}-on") if k in apps]
        per_round: dict[str, dict[str, list[float]]] = {k: {"rps": [], "cpu_ms": [], "rss_mb": []} for k in keys}
        latencies: dict[str, list[float]] = {k: [] for k in keys}
        done = 0
        round_s = 0.0
        for r in range(rounds):
            # Leave time for the census (drain + requests + stops) after the last round.
            if time.monotonic() + round_s + 40 > deadline:
                _say(f"out of time: {r} of {rounds} rounds done")
                break
            t0 = time.monotonic()
            for key in round_order(groups, r):
                pid = apps[key].popen.pid
                before = _cpu_s(pid)
                res = run_fixed(apps[key].url, "/ask", BODIES, requests, concurrency)
                cpu = _cpu_s(pid) - before
                sent[key] += requests
                if res.ok != requests:
                    raise RuntimeError(f"{key}: {res.statuses} in round {r + 1}\n{apps[key].log()[-2000:]}")
                per_round[key]["rps"].append(res.throughput)
                per_round[key]["cpu_ms"].append(cpu * 1000 / requests)
                per_round[key]["rss_mb"].append(_rss_mb(pid))
                latencies[key] += res.latencies_s
            done += 1
            round_s = time.monotonic() - t0
            line = ", ".join(f"{k} {per_round[k]['rps'][-1]:.0f}/s" for k in keys)
            _say(f"round {r + 1}/{rounds} in {round_s:.0f} s: {line}")
        if done == 0:
            raise RuntimeError("no round finished within the budget")

        # Census: what each instrumented app emits per request, queues drained first.
        instrumented = [a for a in arms if f"{a}-on" in apps]
        # /metrics first (every series exists after the rounds), so its own spans, if an arm
        # traces the scrape, are exported before the census starts counting.
        exposition = {
            name: httpx.get(f"{apps[f'{name}-on'].url}/metrics", timeout=10, follow_redirects=True).text
            for name in instrumented if ARMS[name].metrics == "/metrics"
        }
        _say("census: waiting for the exporters to go quiet ...")
        before = _drained(otlp, instrumented)
        for name in instrumented:
            run_fixed(apps[f"{name}-on"].url, "/ask", BODIES, census, 1)
        for name in instrumented:
            apps[f"{name}-on"].stop(timeout=30)  # SIGTERM: the SDKs flush at exit
        after = _drained(otlp, instrumented, quiet_s=3.0, timeout=30.0)
        unexpected = {k: v for k, v in after.items() if k not in instrumented and (v.get("spans") or v.get("logs"))}

    return _figures(arms, keys, per_round, latencies, before, after, exposition, census, done, rounds, requests,
                    concurrency, failed, unexpected, time.monotonic() - started)


def _figures(arms: list[str], keys: list[str], per_round: dict[str, dict[str, list[float]]],
             latencies: dict[str, list[float]], before: dict[str, Any], after: dict[str, Any],
             exposition: dict[str, str], census: int, done: int, rounds: int, requests: int, concurrency: int,
             failed: dict[str, str], unexpected: dict[str, Any], seconds: float) -> dict[str, Any]:
    none_rps = per_round["none-off"]["rps"] if "none-off" in per_round else None
    rows = []
    for name in arms:
        arm = ARMS[name]
        base_key = f"{arm.baseline or name}-off"
        base = per_round[base_key]
        key = f"{name}-on" if f"{name}-on" in per_round else f"{name}-off"
        cur = per_round[key]
        row: dict[str, Any] = {
            "arm": name,
            "title": arm.title,
            "venv": str(arm.lock.relative_to(ROOT)) if arm.lock else "requirements/app.txt (the project's .venv)",
            "rps": spread(cur["rps"], 1),
            "baseline_rps": spread(base["rps"], 1),
            "ratio_to_own_baseline": paired_ratio(cur["rps"], base["rps"]),
            "ratio_to_none": paired_ratio(cur["rps"], none_rps) if none_rps else None,
            "cpu_ms_per_request": spread(cur["cpu_ms"]),
            "baseline_cpu_ms_per_request": spread(base["cpu_ms"]),
            "added_cpu_ms_per_request": paired_difference(cur["cpu_ms"], base["cpu_ms"]),
            "p50_ms": round(percentile(latencies[key], 50) * 1000, 2),
            "p99_ms": round(percentile(latencies[key], 99) * 1000, 2),
            "baseline": base_key,
            "baseline_p50_ms": round(percentile(latencies[base_key], 50) * 1000, 2),
            "baseline_p99_ms": round(percentile(latencies[base_key], 99) * 1000, 2),
            "rss_mb": round(max(cur["rss_mb"]), 1),
            "baseline_rss_mb": round(max(base["rss_mb"]), 1),
        }
        if name == "none":
            row["emits"] = {"spans": 0, "logs": 0, "metric_series": 0, "text": "nothing"}
        else:
            got = per_request(before.get(name, {}), after.get(name, {}), census)
            series = after.get(name, {}).get("metric_series", 0)
            names = after.get(name, {}).get("metric_names", [])
            if name in exposition:
                series, names = prom_series(exposition[name])
            row["emits"] = {**got, "metric_series": series, "metric_names": names,
                            "span_names": after.get(name, {}).get("span_names", {}),
                            "text": emits_text(got, series, arm.metrics)}
        rows.append(row)
    return {
        "machine": machine_info(),
        "settings": {"rounds_planned": rounds, "rounds_done": done, "requests_per_round": requests,
                     "concurrency": concurrency, "census_requests": census, "simulator": "demo_app.llm_sim, LLM_SIM_LATENCY_SCALE=0"},
        "measured_commit": _commit(),
        "seconds": round(seconds, 1),
        "arms": rows,
        "left_out": failed,
        "unattributed_exports": unexpected,
    }


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "demo_app/telemetry", "demo_app/app"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return head + (" + uncommitted changes in demo_app/telemetry or demo_app/app" if dirty else "")
    except (subprocess.SubprocessError, OSError):
        return "unknown"


def _rng(s: dict[str, float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def to_markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    lines = [
        "## Peer benchmark (`python -m bench.peer`)",
        "",
        f"The minimal FastAPI app (`bench/peer/app.py`: POST /ask, one chat completion through the `openai` SDK) "
        f"against the zero-latency simulator, {s['concurrency']} concurrent workers, {s['rounds_done']} rounds "
        f"of {s['requests_per_round']} requests per app, apps interleaved; medians over rounds with (min-max). "
        f"Each arm runs in its own locked venv and is compared with its own baseline: the same app and packages "
        f"without telemetry. CPU is the app process's (all threads) per request. Emits: per request, from "
        f"{s['census_requests']} sequential requests decoded by a counting OTLP receiver; metric series are distinct "
        f"points. Ours measured at commit `{result['measured_commit']}`; {result['machine']['date']}, "
        f"{result['machine']['cpu_count']} CPUs, load {result['machine']['load_avg_1m']} at start.",
        "",
        "| arm | req/s | ratio to its baseline | ratio to no telemetry | added CPU per request | CPU per request (baseline) "
        "| p50 / p99 ms (baseline) | RSS MB (baseline) | emits per request |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["arms"]:
        ratio_none = _rng(row["ratio_to_none"], "{:.3f}") if row["ratio_to_none"] else ""
        lines.append(
            f"| {row['title']} | {_rng(row['rps'], '{:.1f}')} | {_rng(row['ratio_to_own_baseline'], '{:.3f}')} | {ratio_none} "
            f"| {'+' if row['added_cpu_ms_per_request']['median'] >= 0 else ''}{_rng(row['added_cpu_ms_per_request'])} ms "
            f"| {row['cpu_ms_per_request']['median']:.2f} ms ({row['baseline_cpu_ms_per_request']['median']:.2f}) "
            f"| {row['p50_ms']:.1f} / {row['p99_ms']:.1f} ({row['baseline_p50_ms']:.1f} / {row['baseline_p99_ms']:.1f}) "
            f"| {row['rss_mb']:.0f} ({row['baseline_rss_mb']:.0f}) | {row['emits']['text']} |"
        )
    if result["left_out"]:
        lines += ["", "Left out of this run:"] + [f"- {k}: {v.splitlines()[0][:300]}" for k, v in result["left_out"].items()]
    if s["rounds_done"] < s["rounds_planned"]:
        lines += ["", f"Only {s['rounds_done']} of {s['rounds_planned']} rounds fit in the time budget."]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated, of: " + ", ".join(ARMS))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=400, help="requests per app per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--census", type=int, default=100, help="sequential requests per arm counted at the receiver")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds at most, venv builds included")
    args = parser.parse_args()
    # `python -m bench` stops an overrunning benchmark with SIGTERM: unwind, so every app,
    # the simulator and the receiver are stopped too instead of left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if unknown := [a for a in arms if a not in ARMS]:
        parser.error(f"unknown arms {unknown}; known: {', '.join(ARMS)}")
    if "none" not in arms:
        arms.insert(0, "none")  # the reference every ratio to "no telemetry" needs
    for name in list(arms):  # an arm that shares another's baseline needs that arm running
        if ARMS[name].baseline and ARMS[name].baseline not in arms:
            arms.insert(arms.index(name), ARMS[name].baseline)
    result = measure(arms, args.rounds, args.requests, args.concurrency, args.warmup, args.census, args.budget)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(result, indent=2) + "\n")
    markdown = to_markdown(result)
    OUT_MD.write_text(markdown)
    print(markdown)
    if result["left_out"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
