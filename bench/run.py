"""Run every benchmark within a time budget and write bench/results/README.md and results.json.

Each benchmark runs as its own process with a hard timeout (a stuck one is killed and
reported, the others still run); the whole run stays under `--budget` seconds (15 minutes by
default). Benchmarks report ratios and counts measured side by side in one run - never a
pass/fail on absolute timings, which depend on the machine written at the top of the report.

    python -m bench [--budget 900] [--only overhead,attribution,floor,cardinality,outage,peer,alerts] [--scenarios error-spike,latency-spike]

`alerts` first stages the `--scenarios` on a fresh native stack (each appends its record to
bench/results/time-to-alert.json), then tabulates every record there. The e2e tests record
their runs only when asked (`E2E_RESULTS=<file>`), never into this committed file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from bench import alerts, attribution, cardinality, outage, overhead, sdk_floor
from bench._common import RAW_DIR, RESULTS_DIR, ROOT, machine_info
from bench.peer import run as peer

__all__ = ["main", "render_readme"]

# name -> (module, JSON it writes, share of the budget it may use)
_BENCHMARKS: dict[str, tuple[str, Path, float]] = {
    "overhead": ("bench.overhead", RESULTS_DIR / "overhead.json", 0.35),
    "attribution": ("bench.attribution", RESULTS_DIR / "attribution.json", 0.25),
    # What the SDK and prometheus-client alone charge for the same items: the floor of the targets.
    "floor": ("bench.sdk_floor", RESULTS_DIR / "sdk_floor.json", 0.3),
    "cardinality": ("bench.cardinality", RESULTS_DIR / "cardinality.json", 0.25),
    "outage": ("bench.outage", RESULTS_DIR / "outage.json", 0.15),
    # bench/peer: the minimal app under each instrumentation library, in locked venvs.
    "peer": ("bench.peer", RESULTS_DIR / "peer.json", 0.4),  # its own --budget is 300 s
}


def _run(name: str, module: str, timeout_s: float) -> dict[str, Any]:
    """`python -m module` with its output shown as it comes (indented), stopped at `timeout_s`:
    SIGTERM first, so a benchmark can stop the processes it started, SIGKILL 20 s later."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

    watchdog = threading.Timer(timeout_s, stop)
    watchdog.start()
    tail: deque[str] = deque(maxlen=40)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            tail.append(line)
            print(f"    {line}", end="", flush=True)
        code = proc.wait()
    finally:
        watchdog.cancel()
    if timed_out.is_set():
        status, tail_text = f"killed after {timeout_s:.0f} s", ""
    else:
        status = "ok" if code == 0 else f"failed (exit {code})"
        tail_text = "".join(tail)[-2000:] if code else ""
    return {"name": name, "status": status, "seconds": round(time.monotonic() - started, 1), "error_tail": tail_text}


def _run_scenarios(names: list[str], deadline: float) -> list[dict[str, Any]]:
    """Stage scenarios on a fresh native stack; the runner appends to time-to-alert.json."""
    from demo_app.loadgen.catalogue import get_scenario

    runs: list[dict[str, Any]] = []
    state = RAW_DIR / "native"
    native = [sys.executable, "-m", "demo_app.native"]
    up = subprocess.run([*native, "up", "--state-dir", str(state), "--latency-scale", "1.0"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120, check=False)
    if up.returncode != 0:
        return [{"name": "native stack", "status": f"failed (exit {up.returncode})", "seconds": 0, "error_tail": up.stderr[-2000:]}]
    try:
        for name in names:
            budget = get_scenario(name).budget_s
            if deadline - time.monotonic() < budget + 30:
                runs.append({"name": f"scenario {name}", "status": "skipped: out of time", "seconds": 0, "error_tail": ""})
                continue
            started = time.monotonic()
            try:
                proc = subprocess.run(
                    [sys.executable, "-m", "demo_app.loadgen", "run", name, "--stack", str(state),
                     "--results", str(alerts.TIME_TO_ALERT)],
                    cwd=ROOT, capture_output=True, text=True, timeout=budget + 60, check=False,
                )
                status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
                tail = "" if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:]
            except subprocess.TimeoutExpired:
                status, tail = "killed: over its budget", ""
            runs.append({"name": f"scenario {name}", "status": status, "seconds": round(time.monotonic() - started, 1), "error_tail": tail})
    finally:
        subprocess.run([*native, "down", "--state-dir", str(state)], cwd=ROOT, capture_output=True, timeout=120, check=False)
    return runs


def render_readme(machine: dict[str, Any], runs: list[dict[str, Any]], results: dict[str, Any]) -> str:
    """bench/results/README.md from the benchmark results."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Figures are measured side by side in one run "
        "on the machine below and reported as ratios and counts; absolute numbers move with the machine and its load.",
        "",
        "| machine | |",
        "|---|---|",
        f"| `uname -a` | `{machine['uname']}` |",
        f"| CPUs | {machine['cpu_count']} (1-min load average at start: {machine['load_avg_1m']}) |",
        f"| Python | {machine['python']} |",
        f"| date (UTC) | {machine['date']} |",
        "",
        "| benchmark | status | seconds |",
        "|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['status']} | {r['seconds']} |" for r in runs]
    lines.append("")
    if "overhead" in results:
        lines.append(overhead.to_markdown(results["overhead"]))
    if "attribution" in results:
        lines.append(attribution.to_markdown(results["attribution"]))
    if "floor" in results:
        lines.append(sdk_floor.to_markdown(results["floor"], results.get("overhead")))
    if "cardinality" in results:
        lines.append(cardinality.to_markdown(results["cardinality"]))
    if "outage" in results:
        lines.append(outage.to_markdown(results["outage"]))
    if "peer" in results:
        lines.append(peer.to_markdown(results["peer"]))
    lines.append(alerts.to_markdown(results.get("alerts", [])))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--only", default=",".join([*_BENCHMARKS, "alerts"]), help="comma-separated benchmarks")
    parser.add_argument("--scenarios", default="error-spike,latency-spike",
                        help="alert scenarios to stage on a native stack for the time-to-alert table ('' for none)")
    args = parser.parse_args()
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    machine = machine_info()
    deadline = time.monotonic() + args.budget - 10  # keep a little for writing the report
    runs: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    for name, (module, out, share) in _BENCHMARKS.items():
        if name not in wanted:
            # Not rerun (--only): its last committed figures stay in the report, said to be so.
            if out.exists():
                results[name] = json.loads(out.read_text())
                runs.append({"name": name, "status": "not rerun: figures from its last run", "seconds": 0, "error_tail": ""})
            continue
        out.unlink(missing_ok=True)  # never report a stale result as this run's
        timeout = min(args.budget * share, deadline - time.monotonic())
        if timeout <= 30:
            runs.append({"name": name, "status": "skipped: out of time", "seconds": 0, "error_tail": ""})
            continue
        print(f"bench: {name} (at most {timeout:.0f} s) ...", flush=True)
        run = _run(name, module, timeout)
        runs.append(run)
        print(f"bench: {name} {run['status']} in {run['seconds']} s", flush=True)
        if run["error_tail"]:
            print(run["error_tail"], file=sys.stderr)
        if out.exists():
            results[name] = json.loads(out.read_text())
    if "alerts" in wanted:
        scenarios = [n.strip() for n in args.scenarios.split(",") if n.strip()]
        if scenarios:
            print(f"bench: scenarios {', '.join(scenarios)} on a native stack ...", flush=True)
            for run in _run_scenarios(scenarios, deadline):
                runs.append(run)
                print(f"bench: {run['name']} {run['status']} in {run['seconds']} s", flush=True)
                if run["error_tail"]:
                    print(run["error_tail"], file=sys.stderr)
    # The time-to-alert table is read from the committed records either way (staged only when wanted).
    records = json.loads(alerts.TIME_TO_ALERT.read_text()) if alerts.TIME_TO_ALERT.exists() else []
    results["alerts"] = alerts.summarise(records)
    runs.append({"name": "alerts", "status": f"read {len(records)} run records", "seconds": 0, "error_tail": ""})

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    summary = {"machine": machine, "runs": runs, "results": results}
    (RESULTS_DIR / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    readme = render_readme(machine, runs, results)
    (RESULTS_DIR / "README.md").write_text(readme)
    print(readme)
    if any(r["status"] != "ok" and not r["status"].startswith(("read", "skipped", "not rerun")) for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
