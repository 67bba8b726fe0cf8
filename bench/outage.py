"""Latency during an OTLP backend outage: the app's p99 with the receiver up, down and back.

The same phases as tests/drills/test_backend_outage.py (which asserts only what does not
depend on the machine's speed: every request answers 200, memory stays bounded, drops are
counted, export resumes). Here the latencies are compared, side by side in one run:
closed-loop load through app -> simulator (zero latency) with the OTLP receiver up
("normal"), stopped ("outage") and restarted on the same port ("recovery"). An exporter that
blocked requests would add its whole export timeout (seconds) to the outage p99; a ratio
near 1 says it does not.

    python -m bench.outage
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import ExitStack
from typing import Any

import httpx

from bench._common import RAW_DIR, RESULTS_DIR, machine_info, percentile, start_module, unlimited_rate_env
from demo_app.procs import Proc, free_port, start_component

__all__ = ["measure", "to_markdown", "main"]

PHASE_SECONDS = 10.0  # longer than the app's export timeout (3 s) plus a batch delay: drops happen
CONCURRENCY = 4
BODY = {"question": "How do I rotate an API key?", "user_tier": "pro", "feature": "qa"}


class _Traffic:
    """Closed-loop load in a background thread; each result is tagged with the phase it started in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "warmup"
        self.results: list[tuple[str, str, float]] = []  # (phase, status, latency s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:

            async def worker() -> None:
                while not self._stop.is_set():
                    phase, started = self.phase, time.perf_counter()
                    try:
                        status = str((await client.post("/v1/ask", json=BODY)).status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    self.results.append((phase, status, time.perf_counter() - started))

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def phase_stats(self, phase: str) -> dict[str, Any]:
        rows = [r for r in self.results if r[0] == phase]
        latencies = [r[2] for r in rows]
        statuses: dict[str, int] = {}
        for _, status, _ in rows:
            statuses[status] = statuses.get(status, 0) + 1
        return {
            "requests": len(rows),
            "statuses": statuses,
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies, default=0.0) * 1000, 1),
        }


def _start_sink(port: int) -> Proc:
    return start_component("native.otlp_sink", RAW_DIR / "outage", port=port)


def _dropped(app_url: str) -> float:
    text = httpx.get(f"{app_url}/metrics", timeout=10).text
    return sum(float(line.split("#")[0].split()[-1]) for line in text.splitlines()
               if line.startswith("llmapp_telemetry_dropped_total"))


def _hold(traffic: _Traffic, phase: str) -> None:
    traffic.phase = phase
    time.sleep(PHASE_SECONDS)


def measure() -> dict[str, Any]:
    """Start simulator, OTLP receiver and app; run the three phases; latency per phase."""
    log_dir = RAW_DIR / "outage"
    sink_port = free_port()
    with ExitStack() as stack:
        sim = stack.enter_context(start_module("demo_app.llm_sim", log_dir, {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "11",
                                                                            "OTEL_SDK_DISABLED": "true"}))
        sink = _start_sink(sink_port)
        app = stack.enter_context(start_module("demo_app.app", log_dir, {
            "LLM_BASE_URL": f"{sim.url}/v1", "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "TELEMETRY_STRICT_LABELS": "false",
            "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BLRP_SCHEDULE_DELAY": "200", **unlimited_rate_env()}))
        try:
            with _Traffic(app.url) as traffic:
                _hold(traffic, "warmup")
                _hold(traffic, "normal")
                dropped_before = _dropped(app.url)
                sink.stop()
                _hold(traffic, "outage")
                dropped_after = _dropped(app.url)
                sink = _start_sink(sink_port)
                _hold(traffic, "recovery")
        finally:
            sink.stop()
        phases = {p: traffic.phase_stats(p) for p in ("normal", "outage", "recovery")}
    normal, outage = phases["normal"]["p99_ms"], phases["outage"]["p99_ms"]
    return {
        "machine": machine_info(),
        "phase_seconds": PHASE_SECONDS,
        "concurrency": CONCURRENCY,
        "phases": phases,
        "p99_outage_over_normal": round(outage / normal, 2) if normal else None,
        "dropped_during_outage": dropped_after - dropped_before,
    }


def to_markdown(result: dict[str, Any]) -> str:
    """The outage section of bench/results/README.md."""
    lines = [
        "## Latency during an OTLP backend outage",
        "",
        f"Closed-loop load ({result['concurrency']} connections, zero-latency simulator), {result['phase_seconds']:.0f} s "
        f"per phase; the OTLP receiver is stopped for the outage phase and restarted for recovery. p99 outage / normal: "
        f"**{result['p99_outage_over_normal']}**; telemetry items dropped during the outage: "
        f"{result['dropped_during_outage']:.0f}.",
        "",
        "| phase | requests | statuses | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, p in result["phases"].items():
        lines.append(f"| {name} | {p['requests']} | {p['statuses']} | {p['p50_ms']} | {p['p99_ms']} | {p['max_ms']} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    t0 = time.monotonic()
    result = measure()
    result["wall_s"] = round(time.monotonic() - t0, 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "outage.json").write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
