"""Shared pieces of the benchmarks: machine description, a fixed-count load client, percentiles."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from demo_app.procs import Proc, free_port, start_process

__all__ = [
    "ROOT",
    "RESULTS_DIR",
    "RAW_DIR",
    "LoadResult",
    "machine_info",
    "percentile",
    "run_fixed",
    "start_module",
    "unlimited_rate_env",
]

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
RAW_DIR = RESULTS_DIR / "raw"  # process logs and profiles (git-ignored)


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: they mean little without it."""
    return {
        "uname": " ".join(platform.uname()),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class LoadResult:
    """One fixed-count round as the client saw it."""

    requests: int
    concurrency: int
    elapsed_s: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_s, q)


async def _fixed(
    base_url: str, path: str, bodies: Sequence[dict[str, Any]], n: int, concurrency: int, timeout: float
) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < n:
                body = bodies[next_index % len(bodies)]
                next_index += 1
                start = time.perf_counter()
                try:
                    resp = await client.post(path, json=body)
                    await resp.aread()
                    status = str(resp.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return LoadResult(n, concurrency, elapsed, latencies, statuses)


def run_fixed(
    base_url: str,
    path: str,
    bodies: Sequence[dict[str, Any]],
    n: int,
    concurrency: int,
    timeout: float = 30.0,
) -> LoadResult:
    """Send exactly `n` POSTs (bodies in rotation) with `concurrency` workers; closed loop."""
    return asyncio.run(_fixed(base_url, path, bodies, n, concurrency, timeout))


def start_module(
    module: str, log_dir: Path, env: dict[str, str] | None = None, health: str = "/healthz", name: str = ""
) -> Proc:
    """`python -m <module>` on 127.0.0.1 and a free port, importable from the repo root."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return start_process(
        name or module.rsplit(".", 1)[-1],
        [sys.executable, "-m", module],
        log_dir,
        env={"HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath, **(env or {})},
        ready_url=url + health,
        url=url,
        port=port,
    )


def unlimited_rate_env() -> dict[str, str]:
    """App settings that take its per-tier token buckets out of the measurement."""
    env = {}
    for tier in ("free", "pro", "enterprise"):
        env[f"RATE_LIMIT_{tier.upper()}_PER_S"] = "1000000"
        env[f"RATE_LIMIT_{tier.upper()}_BURST"] = "1000000"
    return env
