"""Prometheus instruments built from the telemetry contract, with label checks and exemplars.

Each contract metric becomes a prometheus_client Counter, Gauge or Histogram in a registry of
its own (not the global one, so tests can build several and nothing else sneaks in). The
instruments are thin subclasses that:
  - check every label value against the contract when a child is created (`.labels(...)`);
    a value outside the contract is a bug that would otherwise mint unbounded series;
  - attach the current trace as an exemplar to histogram observations when the contract
    says `exemplars: true` and a sampled span is current (OpenMetrics carries exemplars,
    Prometheus stores them with `--enable-feature=exemplar-storage`, Grafana links them to
    Tempo).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import prometheus_client
from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from demo_app.contract import Contract, Label, Metric

__all__ = [
    "LabelValueError",
    "build_instruments",
    "current_exemplar",
    "render_metrics",
    "OTHER",
]

OTHER = "_OTHER"
_log = logging.getLogger(__name__)

# The `_created` series double the number of series for no dashboard we have: switch them off
# once for the process, before the first instrument is built.
prometheus_client.disable_created_metrics()


class LabelValueError(ValueError):
    """A label value that the telemetry contract does not allow."""


def current_exemplar() -> dict[str, str] | None:
    """{"trace_id", "span_id"} of the current span when it is sampled, else None.

    Unsampled traces never reach Tempo, so an exemplar pointing at one would be a dead link.
    """
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid or not ctx.trace_flags.sampled:
        return None
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


class _NoopChild:
    """What `.labels()` returns for a dropped (invalid) label set in non-strict mode."""

    def inc(self, amount: float = 1, exemplar: Any = None) -> None: ...
    def dec(self, amount: float = 1) -> None: ...
    def set(self, value: float) -> None: ...
    def observe(self, amount: float, exemplar: Any = None) -> None: ...


class _ContractMixin:
    """Label validation shared by the three instrument classes.

    Class attributes are set per metric by `_make_class` (prometheus_client re-creates the
    child with `self.__class__(...)`, so per-instance attributes would be lost).
    """

    _contract_labels: dict[str, Label] = {}
    _strict: bool = False
    _exemplars: bool = False
    _metric_name: str = ""

    def labels(self, *values: object, **kwvalues: object):  # type: ignore[override]
        names = list(self._contract_labels)
        if (values and len(values) != len(names)) or (values and kwvalues):
            return super().labels(*values, **kwvalues)  # type: ignore[misc]  # its own error
        given = dict(zip(names, values)) if values else dict(kwvalues)
        fixed: dict[str, str] = {}
        for name, raw in given.items():
            value = str(raw)
            label = self._contract_labels.get(name)
            if label is None or label.allows(value):
                fixed[name] = value
                continue
            problem = f"{self._metric_name}: label {name}={value[:40]!r} is not allowed by the contract"
            if self._strict:
                raise LabelValueError(problem)
            if label.allows(OTHER):
                _log.warning("%s; recorded as %s", problem, OTHER)
                fixed[name] = OTHER
            else:
                # No bucket for "other": dropping one observation is better than minting a
                # series nobody's query expects (or an unbounded one).
                _log.error("%s; observation dropped", problem)
                return _NoopChild()
        if values:
            return super().labels(*(fixed[n] for n in names))  # type: ignore[misc]
        return super().labels(**fixed)  # type: ignore[misc]


class ContractCounter(_ContractMixin, Counter):
    """A Counter whose label values are checked against the contract."""


class ContractGauge(_ContractMixin, Gauge):
    """A Gauge whose label values are checked against the contract."""


class ContractHistogram(_ContractMixin, Histogram):
    """A Histogram whose label values are checked and whose observations carry exemplars."""

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if exemplar is None and self._exemplars:
            exemplar = current_exemplar()
        super().observe(amount, exemplar=exemplar)


_BASES: dict[str, type] = {"counter": ContractCounter, "gauge": ContractGauge, "histogram": ContractHistogram}


def _make_class(metric: Metric, contract: Contract, strict: bool) -> type:
    base = _BASES[metric.type]
    return type(
        base.__name__,
        (base,),
        {
            "_contract_labels": {name: contract.labels[name] for name in metric.labels},
            "_strict": strict,
            "_exemplars": metric.exemplars,
            "_metric_name": metric.name,
        },
    )


def _family_name(metric: Metric) -> str:
    # prometheus_client appends _total to counters itself; give it the bare name.
    return metric.name.removesuffix("_total") if metric.type == "counter" else metric.name


def build_instruments(
    contract: Contract, component: str, registry: CollectorRegistry, *, strict: bool
) -> dict[str, Any]:
    """One prometheus_client instrument per contract metric of `component`, keyed by name."""
    instruments: dict[str, Any] = {}
    for metric in contract.metrics_for(component):
        cls = _make_class(metric, contract, strict)
        kwargs: dict[str, Any] = {"registry": registry}
        if metric.type == "histogram":
            kwargs["buckets"] = metric.buckets
        if metric.type == "gauge":
            # Several coroutines move it up and down; "livesum" would only matter multi-process.
            kwargs["multiprocess_mode"] = "all"
        instruments[metric.name] = cls(_family_name(metric), metric.help, list(metric.labels), **kwargs)
    return instruments


def render_metrics(registry: CollectorRegistry, accept_header: str | None) -> tuple[bytes, str]:
    """Exposition bytes and content type: OpenMetrics (with exemplars) when asked, else text 0.0.4."""
    encoder: Callable[[CollectorRegistry], bytes]
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
