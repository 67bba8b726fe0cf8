"""One telemetry change measured side by side: the app from two source trees (or settings), interleaved.

Each arm is an app process started from its own source tree (PYTHONPATH; the tree of the
previous commit comes from `git archive`, so the working tree is never touched) with its own
environment, all against one zero-latency simulator and one discard-only OTLP receiver (as
in bench/overhead.py). Rounds rotate the arm order; each round sends a fixed number of
requests from 8 workers plus sequential ones, and reads the app's CPU time (all threads).
Reported per arm: median CPU per request with its range over rounds, median throughput, and
ratios to the first arm of the same round (paired), which is what a commit message quotes.

    python -m bench.overhead_ab --arm 'base|@HEAD~1|' --arm 'new|.|' [--rounds 8]
    python -m bench.overhead_ab --arm 'b256|.|' --arm 'b1024|.|OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1024'

An arm is `name|tree|K=V,K=V`: tree `.` is the working tree, `@REV` a git revision
(exported to a temporary directory), anything else a directory (several joined with `:`
become the PYTHONPATH, e.g. a shim directory in front of the tree). Every arm runs always-on
sampling unless its environment says otherwise (`OTEL_TRACES_SAMPLER=...`, or
`OTEL_SDK_DISABLED=true,TELEMETRY_METRICS_ENABLED=false` for "off").
With `--profile DIR`, py-spy (when installed in the venv) samples every arm for
`--profile-seconds` during the first round and writes DIR/<arm>.txt (collapsed stacks).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench._common import RAW_DIR, ROOT, machine_info, percentile, run_fixed, start_module, unlimited_rate_env
from bench.overhead import _bodies, _cpu_s
from demo_app.procs import Proc, free_port, start_process

__all__ = ["main", "parse_arm"]

_ALWAYS_ON = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "parentbased_always_on"}


def parse_arm(spec: str, tmp: Path) -> tuple[str, str, dict[str, str]]:
    """(name, PYTHONPATH, environment) of an arm spec `name|tree|K=V,K=V`."""
    name, tree, env_text = [*spec.split("|"), "", ""][:3]
    paths = []
    for part in tree.split(":"):
        if part in ("", "."):
            paths.append(str(ROOT))
        elif part.startswith("@"):
            rev = part[1:]
            out = tmp / rev.replace("/", "_").replace("~", "-")
            if not out.exists():
                out.mkdir(parents=True)
                archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "demo_app"], check=True, capture_output=True).stdout
                subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
            paths.append(str(out))
        else:
            paths.append(str(Path(part).resolve()))
    env = dict(_ALWAYS_ON)
    for item in filter(None, env_text.split(",")):
        key, _, value = item.partition("=")
        env[key.strip()] = value.strip()
    return name, ":".join(paths), env


def _start_app(name: str, pythonpath: str, env: dict[str, str], log_dir: Path) -> Proc:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # -P: the current directory (the working tree) must not shadow the arm's own tree.
    return start_process(
        f"app-{name}",
        [sys.executable, "-P", "-m", "demo_app.app"],
        log_dir,
        env={"HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath, **env},
        ready_url=url + "/healthz",
        url=url,
        port=port,
    )


def measure(
    specs: list[str],
    rounds: int,
    requests: int,
    sequential: int,
    concurrency: int = 8,
    warmup: int = 150,
    profile: Path | None = None,
    profile_seconds: int = 15,
) -> dict[str, Any]:
    log_dir = RAW_DIR / "overhead_ab"
    bodies = _bodies()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="overhead-ab-") as tmp:
        arms = [parse_arm(s, Path(tmp)) for s in specs]
        sim = stack.enter_context(
            start_module("demo_app.llm_sim", log_dir, {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "7", "OTEL_SDK_DISABLED": "true", "LOG_LEVEL": "warning"})
        )
        otlp = stack.enter_context(start_module("bench.null_otlp", log_dir))
        common = {"LLM_BASE_URL": f"{sim.url}/v1", "LOG_LEVEL": "info", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, **unlimited_rate_env()}
        apps = {name: stack.enter_context(_start_app(name, path, {**common, **env}, log_dir)) for name, path, env in arms}
        for name, app in apps.items():
            warm = run_fixed(app.url, "/v1/ask", bodies, warmup, concurrency)
            if warm.ok != warmup:
                raise RuntimeError(f"warm-up of {name} failed: {warm.statuses}\n{app.log()[-3000:]}")
        names = list(apps)
        cpu: dict[str, list[float]] = {n: [] for n in names}
        rps: dict[str, list[float]] = {n: [] for n in names}
        seq: dict[str, list[float]] = {n: [] for n in names}
        failed = {n: 0 for n in names}
        pyspy = Path(sys.executable).with_name("py-spy")
        for r in range(rounds):
            spies = []
            if profile is not None and r == 0 and pyspy.exists():
                profile.mkdir(parents=True, exist_ok=True)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                pid = apps[name].popen.pid
                if profile is not None and r == 0 and pyspy.exists():
                    spies.append(
                        subprocess.Popen(
                            [
                                str(pyspy),
                                "record",
                                "--pid",
                                str(pid),
                                "--duration",
                                str(profile_seconds),
                                "--rate",
                                "250",
                                "--format",
                                "raw",
                                "--full-filenames",
                                "--output",
                                str(profile / f"{name}.txt"),
                                "--nonblocking",
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                    )
                    while spies[-1].poll() is None:  # load for the whole sampling window; round 1 is not counted
                        run_fixed(apps[name].url, "/v1/ask", bodies, requests, concurrency)
                    continue
                before = _cpu_s(pid)
                res = run_fixed(apps[name].url, "/v1/ask", bodies, requests, concurrency)
                lat = run_fixed(apps[name].url, "/v1/ask", bodies, sequential, 1)
                cpu[name].append((_cpu_s(pid) - before) * 1000 / (requests + sequential))
                rps[name].append(res.throughput)
                seq[name].append(percentile(lat.latencies_s, 50) * 1000)
                failed[name] += (res.requests - res.ok) + (lat.requests - lat.ok)
        exported = json.loads(__import__("httpx").get(f"{otlp.url}/stats").text)
    first = names[0]
    out: dict[str, Any] = {
        "machine": machine_info(),
        "rounds": len(cpu[first]),
        "requests": requests,
        "sequential": sequential,
        "arms": {},
        "otlp_export": exported,
    }
    for name, path, env in arms:
        ratio_tp = [a / b for a, b in zip(rps[name], rps[first], strict=True)]
        ratio_cpu = [b / a for a, b in zip(cpu[name], cpu[first], strict=True)]
        out["arms"][name] = {
            "pythonpath": path.replace(str(ROOT), "."),
            "environment": env,
            "cpu_ms_per_request": round(statistics.median(cpu[name]), 3),
            "cpu_ms_range": [round(min(cpu[name]), 3), round(max(cpu[name]), 3)],
            "throughput_rps": round(statistics.median(rps[name]), 1),
            "throughput_ratio_to_first": round(statistics.median(ratio_tp), 3),
            "capacity_ratio_to_first": round(statistics.median(ratio_cpu), 3),
            "sequential_p50_ms": round(statistics.median(seq[name]), 3),
            "failed_requests": failed[name],
        }
    return out


def to_markdown(result: dict[str, Any]) -> str:
    first = next(iter(result["arms"]))
    lines = [
        f"{result['rounds']} interleaved rounds of {result['requests']}+{result['sequential']} requests; "
        f"load average {result['machine']['load_avg_1m']}; ratios paired per round against `{first}`.",
        "",
        "| arm | CPU ms/request (range) | req/s | throughput vs first | CPU first / arm | sequential p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, a in result["arms"].items():
        lines.append(
            f"| {name} | {a['cpu_ms_per_request']:.3f} ({a['cpu_ms_range'][0]:.2f}-{a['cpu_ms_range'][1]:.2f}) | "
            f"{a['throughput_rps']:.1f} | {a['throughput_ratio_to_first']:.3f} | {a['capacity_ratio_to_first']:.3f} | "
            f"{a['sequential_p50_ms']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Two or more app variants, interleaved rounds, CPU per request.")
    parser.add_argument("--arm", action="append", required=True, help="name|tree|K=V,K=V (see the module docstring)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--profile", type=Path, default=None, help="directory for py-spy profiles of round 1")
    parser.add_argument("--profile-seconds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    result = measure(args.arm, args.rounds, args.requests, args.sequential, profile=args.profile, profile_seconds=args.profile_seconds)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
