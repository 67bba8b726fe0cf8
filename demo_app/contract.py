"""Load the telemetry contract (contract.yaml) into typed objects.

The contract is data, not code: this module only reads and validates it, so the app,
the tests and the doc generator all see exactly the same names. It imports nothing
from the rest of the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

__all__ = ["Contract", "Label", "Metric", "Span", "load_contract", "CONTRACT_PATH"]

CONTRACT_PATH = Path(__file__).with_name("contract.yaml")


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    values: tuple[str, ...] | None = None
    pattern: str | None = None

    def allows(self, value: str) -> bool:
        """True when `value` is one this label may take."""
        if self.values is not None:
            return value in self.values
        return self.pattern is not None and re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Metric:
    name: str
    component: str
    type: str
    unit: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] | None = None
    exemplars: bool = False
    otel_name: str | None = None

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The sample names this family exposes (what a PromQL query may use)."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


@dataclass(frozen=True)
class Span:
    name: str
    component: str
    kind: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def matches(self, span_name: str) -> bool:
        """True when a concrete span name fits this template ("chat {x}" fits "chat sim-large")."""
        regex = re.sub(r"\\\{[^}]*\\\}", r"\\S+", re.escape(self.name))
        return re.fullmatch(regex, span_name) is not None


@dataclass(frozen=True)
class Contract:
    version: int
    semconv_version: str
    metric_prefix: str
    labels: dict[str, Label]
    metrics: tuple[Metric, ...]
    spans: tuple[Span, ...]
    log_fields_always: tuple[str, ...]
    log_fields_in_request: tuple[str, ...]
    log_fields_optional: tuple[str, ...] = field(default=())

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"metric {name!r} is not in the telemetry contract")

    def metrics_for(self, component: str) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.component == component)

    def all_sample_names(self) -> set[str]:
        return {s for m in self.metrics for s in m.sample_names}


def _parse(raw: dict) -> Contract:
    labels = {
        name: Label(
            name=name,
            description=spec["description"],
            values=tuple(str(v) for v in spec["values"]) if "values" in spec else None,
            pattern=spec.get("pattern"),
        )
        for name, spec in raw["labels"].items()
    }
    bucket_sets = raw["buckets"]
    metrics = []
    for spec in raw["metrics"]:
        unknown = [lbl for lbl in spec["labels"] if lbl not in labels]
        if unknown:
            raise ValueError(f"metric {spec['name']}: labels {unknown} are not declared under labels:")
        if spec["type"] not in {"counter", "gauge", "histogram"}:
            raise ValueError(f"metric {spec['name']}: unknown type {spec['type']!r}")
        if spec["type"] == "counter" and not spec["name"].endswith("_total"):
            raise ValueError(f"counter {spec['name']} must end in _total")
        buckets = spec.get("buckets")
        metrics.append(
            Metric(
                name=spec["name"],
                component=spec["component"],
                type=spec["type"],
                unit=str(spec["unit"]),
                help=spec["help"],
                labels=tuple(spec["labels"]),
                buckets=tuple(float(b) for b in bucket_sets[buckets]) if buckets else None,
                exemplars=bool(spec.get("exemplars", False)),
                otel_name=spec.get("otel_name"),
            )
        )
    spans = tuple(
        Span(
            name=s["name"],
            component=s["component"],
            kind=s["kind"],
            description=s["description"],
            required=tuple(s["required"]),
            optional=tuple(s.get("optional", ())),
        )
        for s in raw["spans"]
    )
    logs = raw["log_fields"]
    return Contract(
        version=raw["version"],
        semconv_version=raw["semconv_version"],
        metric_prefix=raw["metric_prefix"],
        labels=labels,
        metrics=tuple(metrics),
        spans=spans,
        log_fields_always=tuple(logs["always"]),
        log_fields_in_request=tuple(logs["in_request"]),
        log_fields_optional=tuple(logs.get("optional", ())),
    )


@cache
def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    """Read and validate the contract; cached, the file does not change at run time."""
    with open(path, encoding="utf-8") as fh:
        return _parse(yaml.safe_load(fh))
