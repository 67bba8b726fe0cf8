"""The peer benchmark's arithmetic: medians with ranges over rounds, per-round ratios and differences.

Pure functions on plain numbers, so tests/bench can check them without running anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Spread", "spread", "paired_ratio", "paired_difference", "per_request", "prom_series", "emits_text"]

Spread = dict[str, float]  # {"median", "min", "max"}


def spread(values: Sequence[float], digits: int = 3) -> Spread:
    """Median and range of `values` (one per round)."""
    if not values:
        raise ValueError("no values")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def paired_ratio(arm: Sequence[float], baseline: Sequence[float], digits: int = 3) -> Spread:
    """arm[r] / baseline[r] for each round r (measured back to back), as a median with its range."""
    if len(arm) != len(baseline):
        raise ValueError(f"{len(arm)} rounds against {len(baseline)}")
    return spread([a / b for a, b in zip(arm, baseline, strict=True)], digits)


def paired_difference(arm: Sequence[float], baseline: Sequence[float], digits: int = 3) -> Spread:
    """arm[r] - baseline[r] for each round r, as a median with its range."""
    if len(arm) != len(baseline):
        raise ValueError(f"{len(arm)} rounds against {len(baseline)}")
    return spread([a - b for a, b in zip(arm, baseline, strict=True)], digits)


def per_request(before: Mapping[str, Any], after: Mapping[str, Any], requests: int) -> dict[str, float]:
    """Spans and log records per request between two receiver snapshots of one arm."""
    if requests <= 0:
        raise ValueError("requests must be positive")
    return {
        "spans": round((after.get("spans", 0) - before.get("spans", 0)) / requests, 2),
        "logs": round((after.get("logs", 0) - before.get("logs", 0)) / requests, 2),
    }


def prom_series(exposition: str) -> tuple[int, list[str]]:
    """Distinct metric points of a Prometheus text exposition, counted as OTLP counts them: a
    histogram's buckets, _sum and _count are one point, `_created` none; prometheus-client's
    process_*/python_* runtime families are left out. Returns (points, metric family names)."""
    from prometheus_client.parser import text_string_to_metric_families

    points: set[str] = set()
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if family.name.startswith(("process_", "python_")):
                continue  # prometheus-client's runtime collectors: not telemetry of the requests
            if sample.name.endswith("_created"):
                continue  # a start timestamp beside the point, not a point (OTLP carries it inside)
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k not in {"le", "quantile"})
            points.add(f"{family.name}{{{labels}}}")
            names.add(family.name)
    return len(points), sorted(names)


def emits_text(per_req: Mapping[str, float], metric_series: int, metrics_how: str) -> str:
    """'5 spans, 2 logs, 12 metric series (OTLP)' for the table."""
    def n(x: float) -> str:
        return f"{x:g}"

    parts = [f"{n(per_req['spans'])} spans"]
    if per_req.get("logs"):
        parts.append(f"{n(per_req['logs'])} logs")
    if metric_series:
        parts.append(f"{metric_series} metric series ({metrics_how})")
    return ", ".join(parts) if per_req.get("spans") or per_req.get("logs") or metric_series else "nothing"
