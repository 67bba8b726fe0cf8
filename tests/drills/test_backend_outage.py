"""Backend outage: the OTLP receiver dies under load and comes back; the app's users never notice.

Traffic flows through app -> simulator (zero latency) the whole time. Phases: normal (receiver
up), outage (receiver stopped), recovery (receiver restarted on the same port). Each phase
lasts until what it is for has happened (polled), not for a fixed time. Asserted:
  - no request lost: every request of every phase answers 200;
  - memory bounded: app RSS growth from the end of the normal phase to the peak of the
    outage < 64 MiB (the span and log queues are bounded at 2048 items each);
  - llmapp_telemetry_dropped_total grew during the outage;
  - export resumes: spans of requests sent after recovery reach the restarted receiver.
Nothing here depends on how fast the machine is. The latency comparison (p99 during the
outage against the normal phase) is a measurement, made side by side by `python -m bench.outage`.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import psutil

from demo_app.procs import poll_until

PHASE_SECONDS = 8.0  # at least; longer than the export timeout (3 s) plus a batch delay, so drops can happen
PHASE_MIN_REQUESTS = 20  # enough requests per phase to show they all answer; not a throughput figure
CONCURRENCY = 4
RSS_GROWTH_LIMIT_MIB = 64
BODY = {"question": "How do I rotate an API key?", "user_tier": "pro", "feature": "qa"}


class Traffic:
    """Closed-loop load in a background thread; each result is tagged with the phase it started in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.phase = "warmup"
        self.results: list[tuple[str, int | str]] = []  # (phase, status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:

            async def worker() -> None:
                while not self._stop.is_set():
                    phase = self.phase
                    try:
                        status: int | str = (await client.post("/v1/ask", json=BODY)).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    self.results.append((phase, status))

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def count(self, phase: str) -> int:
        return sum(1 for r in self.results if r[0] == phase)


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
        poll_until(lambda: traffic.count("warmup") >= PHASE_MIN_REQUESTS, "warm-up traffic", 120)
        traffic.phase = "normal"
        normal_started = time.monotonic()
        poll_until(
            lambda: time.monotonic() - normal_started >= PHASE_SECONDS and traffic.count("normal") >= PHASE_MIN_REQUESTS,
            "normal-phase traffic", 300,
        )
        poll_until(lambda: drill.spans_at(sink.url), "spans at the receiver before the outage", 60)
        dropped_before = _dropped(app.url, drill.metric_value)
        rss_before = rss.memory_info().rss

        sink.stop()
        traffic.phase = "outage"
        outage_started = time.monotonic()
        rss_peak = rss_before

        def outage_done() -> bool:
            nonlocal rss_peak
            rss_peak = max(rss_peak, rss.memory_info().rss)
            return (time.monotonic() - outage_started >= PHASE_SECONDS and traffic.count("outage") >= PHASE_MIN_REQUESTS
                    and _dropped(app.url, drill.metric_value) > dropped_before)

        poll_until(outage_done, "outage-phase traffic and dropped telemetry counted", 300)
        dropped_after = _dropped(app.url, drill.metric_value)

        restarted_at = time.time_ns()
        sink = start("native.otlp_sink", port=otlp_port)
        traffic.phase = "recovery"
        fresh = poll_until(
            lambda: [s for s in drill.spans_at(sink.url) if s["start_ns"] > restarted_at and s["name"] == "POST /v1/ask"],
            "spans of post-recovery requests at the restarted receiver",
            120,
        )
        poll_until(lambda: traffic.count("recovery") >= PHASE_MIN_REQUESTS, "recovery-phase traffic", 120)
    finally:
        traffic.stop()

    statuses = {}
    for phase, status in traffic.results:
        statuses.setdefault(phase, {}).setdefault(status, 0)
        statuses[phase][status] += 1
    growth_mib = (rss_peak - rss_before) / 2**20
    print(
        f"\nrequests by phase and status: {statuses}"
        f"\napp RSS {rss_before / 2**20:.1f} MiB before the outage, peak {rss_peak / 2**20:.1f} MiB (+{growth_mib:.1f} MiB)"
        f"\nllmapp_telemetry_dropped_total {dropped_before:.0f} -> {dropped_after:.0f}; {len(fresh)} fresh spans after recovery"
    )
    assert all(set(by_status) == {200} for by_status in statuses.values()), statuses
    assert growth_mib < RSS_GROWTH_LIMIT_MIB
    assert dropped_after > dropped_before
    assert app.alive()
