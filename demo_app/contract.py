"""Load the telemetry contract (contract.yaml) into typed objects.

The contract is data, not code: this module only reads and validates it, so the app,
the tests and the doc generator all see exactly the same names. It imports nothing
from the rest of the app but the model catalogue and the budgets file (both pure): labels
whose values are models or providers say `values_from: catalogue.<models|fallbacks|providers>`
and are resolved from the catalogue in use ($LLM_MODELS_FILE, else the bundled simulator one);
the `team` label says `values_from: budgets.teams`, resolved from the budgets file in use
($LLM_BUDGETS_FILE, else demo_app/data/budgets.yaml); `prompt_version` says
`values_from: prompts.versions`, every version the prompt files (demo_app/data/prompts) define.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from demo_app.budgets import Budgets, active_budgets_file, load_budgets
from demo_app.catalogue import Catalogue, active_models_file, load_catalogue
from demo_app.prompts import load_prompts

__all__ = [
    "Contract", "Event", "Label", "LogLevel", "Metric", "Span", "load_contract", "declared_values", "CONTRACT_PATH",
    "CATALOGUE_SOURCES", "BUDGETS_SOURCES", "PROMPTS_SOURCES",
]

CONTRACT_PATH = Path(__file__).with_name("contract.yaml")
# What `values_from:` may name: catalogue model names, models that are some model's fallback,
# provider names.
CATALOGUE_SOURCES = {
    "catalogue.models": lambda c: c.names,
    "catalogue.fallbacks": lambda c: c.fallback_targets,
    "catalogue.providers": lambda c: c.providers,
}
# ... and from the budgets file: its team names.
BUDGETS_SOURCES = {
    "budgets.teams": lambda b: b.teams,
}
# ... and from the prompt files: every version they define (the files are the app's, not a setting).
PROMPTS_SOURCES = {
    "prompts.versions": lambda: load_prompts().all_versions(),
}


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    values_from: str | None = None  # e.g. "catalogue.models": values = the catalogue's (or budgets file's), then `values`

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
class Event:
    """An OpenTelemetry event: a span event on `span` and a log record with this event name."""

    name: str
    component: str
    span: str  # the span name (template) it is an event of
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogLevel:
    """The level a kind of event is logged at (the contract's `log_levels`)."""

    level: str  # debug | info | warning | error
    when: str


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
    log_levels: dict[str, LogLevel] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"metric {name!r} is not in the telemetry contract")

    def metrics_for(self, component: str) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.component == component)

    def all_sample_names(self) -> set[str]:
        return {s for m in self.metrics for s in m.sample_names}


def _label(name: str, spec: dict, catalogue: Catalogue | None, budgets: Budgets | None = None) -> Label:
    values = tuple(str(v) for v in spec["values"]) if "values" in spec else None
    source = spec.get("values_from")
    if source is not None:
        if source in CATALOGUE_SOURCES:
            if catalogue is None:
                catalogue = load_catalogue(active_models_file())
            derived = CATALOGUE_SOURCES[source](catalogue)
        elif source in BUDGETS_SOURCES:
            if budgets is None:
                budgets = load_budgets(active_budgets_file())
            derived = BUDGETS_SOURCES[source](budgets)
        elif source in PROMPTS_SOURCES:
            derived = PROMPTS_SOURCES[source]()
        else:
            known = sorted({**CATALOGUE_SOURCES, **BUDGETS_SOURCES, **PROMPTS_SOURCES})
            raise ValueError(f"label {name}: values_from must be one of {known}, got {source!r}")
        values = tuple(dict.fromkeys((*derived, *(values or ()))))
    return Label(name=name, description=spec["description"], values=values, pattern=spec.get("pattern"), values_from=source)


def _parse(raw: dict, catalogue: Catalogue | None = None, budgets: Budgets | None = None) -> Contract:
    labels = {name: _label(name, spec, catalogue, budgets) for name, spec in raw["labels"].items()}
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
    events = tuple(
        Event(
            name=e["name"],
            component=e["component"],
            span=e["span"],
            description=e["description"],
            required=tuple(e["required"]),
            optional=tuple(e.get("optional", ())),
        )
        for e in raw.get("events", ())
    )
    unknown_spans = [e.name for e in events if e.span not in {s.name for s in spans}]
    if unknown_spans:
        raise ValueError(f"events {unknown_spans}: their span is not declared under spans:")
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
        log_levels=_log_levels(raw.get("log_levels", {})),
        events=events,
    )


def _log_levels(raw: dict) -> dict[str, LogLevel]:
    levels = {name: LogLevel(level=str(spec["level"]), when=str(spec["when"])) for name, spec in raw.items()}
    bad = {name: lv.level for name, lv in levels.items() if lv.level not in {"debug", "info", "warning", "error"}}
    if bad:
        raise ValueError(f"log_levels: unknown levels {bad}")
    return levels


def load_contract(path: Path = CONTRACT_PATH, *, models_file: Path | str | None = None, budgets_file: Path | str | None = None) -> Contract:
    """Read and validate the contract, with catalogue-derived values from `models_file`
    (default: the active catalogue, $LLM_MODELS_FILE) and team names from `budgets_file`
    (default: the active budgets file, $LLM_BUDGETS_FILE). Cached per (contract, catalogue, budgets)."""
    return _load(Path(path), Path(models_file or active_models_file()).resolve(), Path(budgets_file or active_budgets_file()).resolve())


@cache
def _load(path: Path, models_file: Path, budgets_file: Path) -> Contract:
    return _parse(_raw(path), load_catalogue(models_file), load_budgets(budgets_file))


@cache
def _raw(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def declared_values(label: str, path: Path = CONTRACT_PATH) -> tuple[str, ...]:
    """The fixed values contract.yaml lists for `label`, without reading any catalogue
    (for closed sets such as tiers and features, which the settings derive from here)."""
    return tuple(str(v) for v in _raw(Path(path))["labels"][label].get("values", ()))
