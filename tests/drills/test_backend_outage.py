"""Backend outage: the OTLP receiver dies under load and comes back; the app's users never notice.

Traffic flows through app -> simulator (zero latency) the whole time. Phases: normal (receiver
up), outage (receiver stopped), recovery (receiver restarted on the same port). Asserted:
  - no request lost: every request of every phase answers 200;
  - p99 latency during the outage <= 1.2 x the normal phase's p99 + 50 ms (both phases last
    8 s in this run; the 50 ms absolute slack absorbs scheduler noise on a shared 2-core
    machine, while an exporter that blocked requests would add its whole timeout, seconds);
  - memory bounded: app RSS growth from the end of the normal phase to the peak of the
    outage < 64 MiB (the span and log queues are bounded at 2048 items each);
  - llmapp_telemetry_dropped_total grew during the outage;
  - export resumes: spans of requests sent after recovery reach the restarted receiver.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import psutil

from demo_app.procs import poll_until

PHASE_SECONDS = 8.0  # each phase; longer than the export timeout (3 s) plus a batch delay: drops must happen
PHASE_MIN_REQUESTS = 200
CONCURRENCY = 4
RSS_GROWTH_LIMIT_MIB = 64
BODY = {"question": "How do I rotate an API key?", "user_tier": "pro", "feature": "qa"}


class Traffic:
    """Closed-loop load in a background thread; each result is tagged with the phase it started in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "warmup"
        self.results: list[tuple[str, int | str, float, float]] = []  # (phase, status, latency s, start time)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:

            async def worker() -> None:
                while not self._stop.is_set():
                    phase, started = self.phase, time.perf_counter()
                    try:
                        status: int | str = (await client.post("/v1/ask", json=BODY)).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    self.results.append((phase, status, time.perf_counter() - started, time.monotonic()))

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def count(self, phase: str) -> int:
        return sum(1 for r in self.results if r[0] == phase)

    def p99(self, phase: str) -> float:
        latencies = sorted(r[2] for r in self.results if r[0] == phase)
        return latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]


def _dropped(app_url: str, metric_value) -> float:
    return metric_value(httpx.get(f"{app_url}/metrics", timeout=10).text, "llmapp_telemetry_dropped_total")


def test_otlp_receiver_outage_does_not_hurt_requests(start, drill):
    sim = start("llm_sim", env=drill.sim_env("0"))
    otlp_port = drill.free_port()
    sink = start("native.otlp_sink", port=otlp_port)
    app = start("app", env=drill.app_env(sim, sink.url, TELEMETRY_STRICT_LABELS="false"))
    rss = psutil.Process(app.popen.pid)

    traffic = Traffic(app.url).start()
    try:
        poll_until(lambda: traffic.count("warmup") >= 100, "warm-up traffic", 60)
        traffic.phase = "normal"
        normal_started = time.monotonic()
        poll_until(
            lambda: time.monotonic() - normal_started >= PHASE_SECONDS and traffic.count("normal") >= PHASE_MIN_REQUESTS,
            "normal-phase traffic", 120,
        )
        assert drill.spans_at(sink.url), "no spans reached the receiver before the outage"
        dropped_before = _dropped(app.url, drill.metric_value)
        rss_before = rss.memory_info().rss

        sink.stop()
        traffic.phase = "outage"
        outage_started = time.monotonic()
        rss_peak = rss_before
        while time.monotonic() - outage_started < PHASE_SECONDS or traffic.count("outage") < PHASE_MIN_REQUESTS:
            rss_peak = max(rss_peak, rss.memory_info().rss)
            time.sleep(0.25)
            assert time.monotonic() - outage_started < 120, "outage phase did not get enough traffic"
        poll_until(lambda: _dropped(app.url, drill.metric_value) > dropped_before, "dropped telemetry to be counted", 30)
        dropped_after = _dropped(app.url, drill.metric_value)

        restarted_at = time.time_ns()
        sink = start("native.otlp_sink", port=otlp_port)
        traffic.phase = "recovery"
        fresh = poll_until(
            lambda: [s for s in drill.spans_at(sink.url) if s["start_ns"] > restarted_at and s["name"] == "POST /v1/ask"],
            "spans of post-recovery requests at the restarted receiver",
            30,
        )
        poll_until(lambda: traffic.count("recovery") >= 50, "recovery-phase traffic", 60)
    finally:
        traffic.stop()

    statuses = {}
    for phase, status, _, _ in traffic.results:
        statuses.setdefault(phase, {}).setdefault(status, 0)
        statuses[phase][status] += 1
    p99_normal, p99_outage = traffic.p99("normal"), traffic.p99("outage")
    growth_mib = (rss_peak - rss_before) / 2**20
    print(
        f"\nrequests by phase and status: {statuses}"
        f"\np99 normal {p99_normal * 1000:.1f} ms, outage {p99_outage * 1000:.1f} ms (ratio {p99_outage / p99_normal:.2f})"
        f"\napp RSS {rss_before / 2**20:.1f} MiB before the outage, peak {rss_peak / 2**20:.1f} MiB (+{growth_mib:.1f} MiB)"
        f"\nllmapp_telemetry_dropped_total {dropped_before:.0f} -> {dropped_after:.0f}; {len(fresh)} fresh spans after recovery"
    )
    assert all(set(by_status) == {200} for by_status in statuses.values()), statuses
    assert p99_outage <= 1.2 * p99_normal + 0.050
    assert growth_mib < RSS_GROWTH_LIMIT_MIB
    assert dropped_after > dropped_before
    assert app.alive()
