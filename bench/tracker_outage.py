"""Latency of failing requests with the error tracker up, stopped and hung (every request sends an event).

tests/tracker/test_tracker_down.py asserts what does not depend on the machine: every request
is answered, none waits on the tracker. Here the latencies are compared in one run, on the
native stack with the real Bugsink: the simulator fails every call (so each request ends in a
502 and one tracker event), the app makes one attempt (no retries, no fallback), and requests
run one after another in three phases - Bugsink up ("up"), stopped ("stopped", connections
refused) and replaced by a listener that never answers ("hung"). A request that waited on the
tracker would add the SDK's HTTP timeout to the hung p99; a ratio near 1 says none does.

    python -m bench.tracker_outage [--requests 200]

Writes bench/results/tracker-outage.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import RESULTS_DIR, machine_info, percentile, unlimited_rate_env
from demo_app.native import NativeStack

__all__ = ["measure", "main"]

BODY = {"question": "How do I rotate an API key?", "user_tier": "enterprise", "feature": "qa"}


def _phase(client: httpx.Client, count: int) -> dict[str, Any]:
    latencies, statuses = [], set()
    for _ in range(count):
        started = time.perf_counter()
        statuses.add(client.post("/v1/ask", json=BODY).status_code)
        latencies.append(time.perf_counter() - started)
    return {
        "requests": count,
        "statuses": sorted(statuses),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
    }


def measure(requests: int) -> dict[str, Any]:
    env = {"app": {"LLM_MAX_RETRIES": "0", "LLM_FALLBACK_ENABLED": "false", **unlimited_rate_env()}}
    with tempfile.TemporaryDirectory() as tmp, NativeStack(Path(tmp), latency_scale=0.0, seed=1, tracker=True, env=env) as stack:
        httpx.post(f"{stack.urls.sim}/faults", json={"kind": "error", "rate": 1.0, "ttl_s": 3600}, timeout=5).raise_for_status()
        phases: dict[str, Any] = {}
        with httpx.Client(base_url=stack.urls.app, timeout=60) as client:
            _phase(client, 20)  # warm-up: imports, connections, first events
            phases["up"] = _phase(client, requests)
            assert stack.tracker is not None
            time.sleep(2)  # let the SDK's thread deliver what it queued
            issues = httpx.get(stack.tracker.api("issues/?project=1"), headers={"Authorization": f"Bearer {stack.tracker.api_token}"}, timeout=10).json()
            phases["up"]["events_in_tracker"] = sum(i["digested_event_count"] for i in issues["results"])
            stack.procs["tracker"].stop()
            phases["stopped"] = _phase(client, requests)
            with socket.socket() as hung:
                hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                hung.bind(("127.0.0.1", stack.ports["tracker"]))
                hung.listen(1)
                phases["hung"] = _phase(client, requests)
    up = phases["up"]
    for name in ("stopped", "hung"):
        phases[name]["p50_ratio"] = round(phases[name]["p50_ms"] / up["p50_ms"], 2)
        phases[name]["p99_ratio"] = round(phases[name]["p99_ms"] / up["p99_ms"], 2)
    return {"phases": phases, "machine": machine_info(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per phase")
    result = measure(parser.parse_args().requests)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "tracker-outage.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["phases"], indent=2))


if __name__ == "__main__":
    main()
