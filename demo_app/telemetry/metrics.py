"""Prometheus instruments built from the telemetry contract, with label checks and exemplars.

Each contract metric becomes a prometheus_client Counter, Gauge or Histogram in a registry of
its own (not the global one, so tests can build several and nothing else sneaks in), wrapped
in a `ContractMetric` that, through prometheus_client's public API only:
  - checks every label value against the contract when a child is asked for (`.labels(...)`);
    a value outside the contract is a bug that would otherwise mint unbounded series;
  - attaches the current trace as an exemplar to histogram observations when the contract
    says `exemplars: true` and a sampled span is current (OpenMetrics carries exemplars,
    Prometheus stores them with `--enable-feature=exemplar-storage`, Grafana links them to
    Tempo).
Both run on every observation, so both are cached: a label set that passed the check maps
straight to its child, and the exemplar of the current span is formatted once.
With TELEMETRY_METRICS_ENABLED=false every instrument is a no-op and the registry stays empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, cast

import prometheus_client
from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from demo_app.contract import Contract, Label, Metric

__all__ = [
    "ContractMetric",
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


# (trace_id, span_id, exemplar) of the last span an exemplar was made for: a request records
# several observations inside one span. Replaced whole, so threads never see half an entry.
_last_exemplar: tuple[int, int, dict[str, str]] = (0, 0, {})


def current_exemplar() -> dict[str, str] | None:
    """{"trace_id", "span_id"} of the current span when it is sampled, else None.

    Unsampled traces never reach Tempo, so an exemplar pointing at one would be a dead link.
    The dict is shared by every observation in the same span: treat it as read-only.
    """
    global _last_exemplar
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid or not ctx.trace_flags.sampled:
        return None
    trace_id, span_id, exemplar = _last_exemplar
    if ctx.span_id != span_id or ctx.trace_id != trace_id:
        exemplar = {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
        _last_exemplar = (ctx.trace_id, ctx.span_id, exemplar)
    return exemplar


class _NoopChild:
    """A metric that records nothing: a dropped (invalid) label set, or metrics switched off."""

    def labels(self, *values: object, **kwvalues: object) -> _NoopChild:
        return self

    def inc(self, amount: float = 1, exemplar: Any = None) -> None: ...
    def dec(self, amount: float = 1) -> None: ...
    def set(self, value: float) -> None: ...
    def set_function(self, f: Callable[[], float]) -> None: ...
    def observe(self, amount: float, exemplar: Any = None) -> None: ...

    def track_inprogress(self) -> nullcontext[None]:
        return nullcontext()

    def time(self) -> nullcontext[None]:
        return nullcontext()


_NOOP = _NoopChild()


class _ExemplarChild:
    """A histogram child whose observations carry the current span as their exemplar."""

    __slots__ = ("_child",)

    def __init__(self, child: Histogram) -> None:
        self._child = child

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        self._child.observe(amount, exemplar=exemplar if exemplar is not None else current_exemplar())


class ContractMetric:
    """A prometheus_client metric whose label values are checked against the contract.

    It wraps the metric rather than subclassing it: `labels()` checks the values, then asks
    the metric for its child through prometheus_client's public `labels()` (a metric without
    labels answers `labels()` with itself); for a histogram
    marked `exemplars: true` the child comes wrapped so that `observe()` attaches the current
    span. Everything else a child does is prometheus_client's own.
    """

    def __init__(self, metric: Counter | Gauge | Histogram, name: str, labels: dict[str, Label], *, strict: bool, exemplars: bool) -> None:
        self.metric = metric
        self._name = name
        self._labels = labels
        self._strict = strict
        self._exemplars = exemplars
        # Label values as the caller passed them -> child, for label sets that passed the
        # check. Only valid sets of plain strings are kept (True == 1 == 1.0 as dict keys, but
        # not as label values), so its size is bounded by the contract.
        self._checked: dict[tuple[Any, ...], Any] = {}
        # Label values -> exemplar-attaching wrapper, so that one series has one wrapper
        # however its values were passed (by name or by position).
        self._wrapped: dict[tuple[str, ...], _ExemplarChild] = {}

    def labels(self, *values: object, **kwvalues: object) -> Any:
        """The child for these label values (positional or by name), checked against the contract."""
        if values and kwvalues:
            return self.metric.labels(*values, **kwvalues)  # prometheus_client's own error
        key = tuple(kwvalues.items()) if kwvalues else values
        try:
            return self._checked[key]
        except (KeyError, TypeError):  # TypeError: an unhashable value, checked below
            pass
        child, valid = self._check_labels(values, kwvalues)
        if valid and all(type(v) is str for v in (kwvalues.values() if kwvalues else values)):
            self._checked[key] = child
        return child

    def remove(self, *values: Any) -> None:
        self._forget()
        self.metric.remove(*values)

    def remove_by_labels(self, labels: dict[str, str]) -> None:
        self._forget()
        self.metric.remove_by_labels(labels)

    def clear(self) -> None:
        self._forget()
        self.metric.clear()

    def _forget(self) -> None:
        self._checked.clear()
        self._wrapped.clear()

    def _child(self, fixed: dict[str, str]) -> Any:
        # A metric without labels is its own (only) child: prometheus_client refuses
        # `labels()` on it, but callers keep one calling convention for every metric.
        child = self.metric.labels(**fixed) if self._labels else self.metric
        if not self._exemplars:
            return child
        key = tuple(fixed[name] for name in self._labels)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            # Only histograms are built with exemplars=True (see build_instruments).
            wrapped = self._wrapped[key] = _ExemplarChild(cast(Histogram, child))
        return wrapped

    def _check_labels(self, values: tuple[object, ...], kwvalues: dict[str, object]) -> tuple[Any, bool]:
        """(child, whether every value was allowed as given)."""
        names = list(self._labels)
        if values and len(values) != len(names):
            return self.metric.labels(*values), False  # its own error
        given = dict(zip(names, values, strict=True)) if values else dict(kwvalues)
        fixed: dict[str, str] = {}
        valid = True
        for name, raw in given.items():
            value = str(raw)
            label = self._labels.get(name)
            if label is None or label.allows(value):
                fixed[name] = value
                continue
            valid = False
            problem = f"{self._name}: label {name}={value[:40]!r} is not allowed by the contract"
            if self._strict:
                raise LabelValueError(problem)
            if label.allows(OTHER):
                _log.warning("%s; recorded as %s", problem, OTHER)
                fixed[name] = OTHER
            else:
                # No bucket for "other": dropping one observation is better than minting a
                # series nobody's query expects (or an unbounded one).
                _log.error("%s; observation dropped", problem)
                return _NOOP, False
        if set(fixed) != set(names):
            return self.metric.labels(**fixed), False  # a wrong label name: its own error
        return self._child(fixed), valid


_CLASSES: dict[str, type[Counter] | type[Gauge] | type[Histogram]] = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}


def _family_name(metric: Metric) -> str:
    # prometheus_client appends _total to counters itself; give it the bare name.
    return metric.name.removesuffix("_total") if metric.type == "counter" else metric.name


def build_instruments(
    contract: Contract, component: str, registry: CollectorRegistry, *, strict: bool, enabled: bool = True
) -> dict[str, Any]:
    """One prometheus_client instrument per contract metric of `component`, keyed by name.

    With `enabled=False` every instrument is a no-op and nothing is registered: /metrics
    still answers, with an empty exposition.
    """
    if not enabled:
        return {metric.name: _NOOP for metric in contract.metrics_for(component)}
    instruments: dict[str, Any] = {}
    for metric in contract.metrics_for(component):
        kwargs: dict[str, Any] = {"registry": registry}
        if metric.type == "histogram":
            kwargs["buckets"] = metric.buckets
        if metric.type == "gauge":
            # Several coroutines move it up and down; "livesum" would only matter multi-process.
            kwargs["multiprocess_mode"] = "all"
        family = _CLASSES[metric.type](_family_name(metric), metric.help, list(metric.labels), **kwargs)
        instruments[metric.name] = ContractMetric(
            family,
            metric.name,
            {name: contract.labels[name] for name in metric.labels},
            strict=strict,
            exemplars=metric.exemplars and metric.type == "histogram",
        )
    return instruments


def render_metrics(registry: CollectorRegistry, accept_header: str | None) -> tuple[bytes, str]:
    """Exposition bytes and content type: OpenMetrics (with exemplars) when asked, else text 0.0.4."""
    encoder: Callable[[CollectorRegistry], bytes]
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
