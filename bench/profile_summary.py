"""Summarise a py-spy profile (collapsed stacks, `--format raw --full-filenames`) of the app under load.

Two views, as shares of all samples (py-spy samples running threads only, so a share is a
share of the process's CPU):
  - by part: each sample goes to the innermost frame that belongs to a known library, so a
    socket write made by uvicorn is the server's and a protobuf encode made by the OTLP
    exporter is the exporter's; stdlib frames (asyncio, json, threading) are skipped over;
  - the top frames by self time and the top telemetry frames by inclusive time.

    python -m bench.profile_summary bench/results/raw/overhead_ab/profiles/<arm>.txt [--top 25]

`python -m bench.overhead_ab --profile DIR` writes such profiles, one per arm.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

__all__ = ["PARTS", "part_of", "summarise"]

# (part, substrings of a frame's file path); the first part that matches the innermost
# library frame wins, so the order goes from the most specific to the most general.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logs: structlog chain, JSON, stdout", ("structlog/", "demo_app/telemetry/logs.py", "orjson")),
    ("logs: OTel SDK emit and batch queue", ("opentelemetry/sdk/_logs",)),
    ("export: OTLP protobuf encoding", ("opentelemetry/exporter/", "google/protobuf")),
    ("export: HTTP to the collector", ("requests/", "urllib3/")),
    ("metrics: prometheus_client and the contract wrapper", ("prometheus_client/", "demo_app/telemetry/metrics.py")),
    ("masking", ("demo_app/telemetry/masking.py",)),
    ("traces: masking span exporter", ("demo_app/telemetry/tracing.py",)),
    ("traces: httpx client instrumentation", ("opentelemetry/instrumentation/httpx",)),
    ("traces: ASGI/FastAPI server instrumentation", ("opentelemetry/instrumentation/asgi", "opentelemetry/instrumentation/fastapi", "fastapi/telemetry/")),
    ("traces: SDK spans, context, batch processor", ("opentelemetry/",)),
    ("telemetry: request middleware and the rest", ("demo_app/telemetry/",)),
    (
        "app, framework, HTTP client and server (not telemetry)",
        (
            "demo_app/",
            "starlette/",
            "fastapi/",
            "openai/",
            "httpx2/",
            "httpx/",
            "uvicorn/",
            "uvloop",
            "httptools",
            "anyio/",
            "pydantic",
            "bm25s/",
            "numpy/",
            "h11/",
            "httpcore",
            "sniffio",
            "jiter",
            "yaml/",
            "sentry_sdk/",
        ),
    ),
)
_OTHER = "stdlib only (event loop, threads)"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>.*?)(?::\d+)?\)$")
_SITE = re.compile(r"^.*/site-packages/")


def _split(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame)
    return (m.group("func"), m.group("path")) if m else (frame, "")


def part_of(frames: list[str]) -> str:
    """The part a sample's CPU goes to (see the module docstring)."""
    for frame in reversed(frames):
        path = _split(frame)[1]
        for part, patterns in PARTS:
            if any(p in path for p in patterns):
                return part
    return _OTHER


def _short(frame: str) -> str:
    func, path = _split(frame)
    return f"{func} ({_SITE.sub('', path)})"


def summarise(path: Path, top: int = 25) -> str:
    """The text report of one profile."""
    total = 0
    parts: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        parts[part_of(frames)] += n
        self_time[_short(frames[-1])] += n
        for frame in {_short(f) for f in frames if any(k in f for k in ("opentelemetry", "demo_app/telemetry", "prometheus_client", "structlog"))}:
            inclusive[frame] += n
    if not total:
        return f"{path}: no samples\n"
    lines = [f"{path.name}: {total} samples", "", "by part:"]
    lines += [f"  {n / total * 100:5.1f}%  {part}" for part, n in parts.most_common()]
    lines += ["", f"top {top} frames, self time:"]
    lines += [f"  {n / total * 100:5.1f}%  {frame}" for frame, n in self_time.most_common(top)]
    lines += ["", f"top {top} telemetry frames, inclusive time:"]
    lines += [f"  {n / total * 100:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Summarise py-spy raw profiles by telemetry part and top frames.")
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print("\n".join(summarise(p, args.top) for p in args.profiles))


if __name__ == "__main__":
    main()
