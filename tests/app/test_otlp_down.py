"""With the OTLP backend down, the app keeps answering and its memory stays bounded."""

from __future__ import annotations

import statistics
import time

import httpx
import psutil

from demo_app.procs import free_port, poll_until

REQUESTS = 100
RSS_GROWTH_LIMIT_MB = 60  # generous: the export queues are bounded at 2048 items per signal


def test_requests_succeed_and_memory_is_bounded(start_app) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = start_app("otlp-down", {"OTEL_EXPORTER_OTLP_ENDPOINT": dead})
    process = psutil.Process(app.popen.pid)
    body = {"question": "How do I invite a guest?", "user_tier": "enterprise"}
    with httpx.Client(base_url=app.url, timeout=30) as client:
        for _ in range(10):  # warm-up: imports, caches, connection pools
            assert client.post("/v1/ask", json=body).status_code == 200
        rss_before = process.memory_info().rss
        latencies = []
        for i in range(REQUESTS):
            started = time.perf_counter()
            response = client.post("/v1/ask", json={**body, "stream": i % 2 == 1})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        rss_after = process.memory_info().rss
    # Proof that the backend really was down: the exporters counted what they could not send.
    poll_until(lambda: _dropped(app.url) > 0, "the app to count dropped telemetry", 20)
    growth_mb = (rss_after - rss_before) / 2**20
    print(
        f"\nOTLP down: {REQUESTS} requests ok, RSS {rss_before / 2**20:.1f} -> {rss_after / 2**20:.1f} MiB "
        f"(+{growth_mb:.1f} MiB), latency median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms, dropped items {_dropped(app.url):.0f}"
    )
    assert growth_mb < RSS_GROWTH_LIMIT_MB


def _dropped(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("llmapp_telemetry_dropped_total{"))
