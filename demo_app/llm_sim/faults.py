"""Fault injection: a registry of faults that expire by themselves, and how they combine.

A fault is {kind, model (None = every model), rate, value, ttl_s}. Every fault expires
`ttl_s` seconds after it was added; expiry is checked lazily on each access
(demo_app/expiring.py), so no background thread is needed and a forgotten fault can never
outlive its TTL.

How faults apply to one chat request:
  1. Each live fault whose model matches draws once from the request's RNG, in the order
     the faults were added, and fires with probability `rate`.
  2. Several fired faults of the same kind do not add up: the largest value wins.
  3. At most one terminal outcome, first fired in this order:
       rate_limit -> 429 at once (a gateway refuses before the model runs; latency skipped),
       error      -> 500/502/503 after any fired latency,
       timeout    -> hangs `value` s (after any fired latency), then 504.
  4. Otherwise the request succeeds, shaped by every other fired kind together:
     latency adds to the time to first token, token_blowup multiplies the text length,
     quality_drop replaces the answer with context-free filler (both: rambling filler),
     cache_bust serves no prompt-cache hit (as if the shared system prompt had changed).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from demo_app.expiring import ExpiringRegistry

__all__ = [
    "FaultKind",
    "FAULT_KINDS",
    "DEFAULT_VALUES",
    "ERROR_STATUSES",
    "Fault",
    "FaultRegistry",
    "Effects",
    "check_value",
    "decide",
]

FaultKind = Literal["error", "latency", "rate_limit", "token_blowup", "quality_drop", "timeout", "cache_bust"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

# What `value` means per kind, and its default when omitted.
DEFAULT_VALUES: dict[str, float | None] = {
    "error": 500,  # HTTP status to answer: 500, 502 or 503
    "latency": 3.0,  # seconds added to the time to first token (not scaled)
    "rate_limit": 1.0,  # Retry-After seconds (rounded up to whole seconds)
    "token_blowup": 8.0,  # factor on the answer length
    "quality_drop": None,  # takes no value
    "timeout": 30.0,  # seconds to hang before answering 504 (not scaled)
    "cache_bust": None,  # takes no value: no prompt-cache hits while it fires
}
ERROR_STATUSES = (500, 502, 503)
_RANGES: dict[str, tuple[float, float]] = {
    "latency": (0.0, 600.0),
    "rate_limit": (0.0, 3600.0),
    "token_blowup": (1.0, 100.0),
    "timeout": (0.0, 600.0),
}
_TERMINAL_ORDER = ("rate_limit", "error", "timeout")


def check_value(kind: str, value: float | None) -> float | None:
    """The effective value of a fault of `kind` (default filled in); ValueError when invalid."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    if value is None:
        return DEFAULT_VALUES[kind]
    if DEFAULT_VALUES[kind] is None:
        raise ValueError(f"{kind} takes no value")
    if not math.isfinite(value):
        raise ValueError("value must be a finite number")
    if kind == "error":
        if value not in ERROR_STATUSES:
            raise ValueError(f"error value is the HTTP status to answer: one of {ERROR_STATUSES}")
        return int(value)
    low, high = _RANGES[kind]
    if not low <= value <= high:
        raise ValueError(f"{kind} value must be between {low:g} and {high:g}")
    return float(value)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Fault:
    """One injected fault; `value` is already the effective value (defaults filled in)."""

    id: str
    kind: str
    model: str | None
    rate: float
    value: float | None
    ttl_s: float
    created_at: float  # epoch seconds
    expires_at: float

    def applies_to(self, model: str) -> bool:
        return self.model is None or self.model == model

    def to_dict(self) -> dict:
        """JSON shape returned by the /faults endpoints (times as RFC 3339 UTC)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "model": self.model,
            "rate": self.rate,
            "value": self.value,
            "ttl_s": self.ttl_s,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
        }


class FaultRegistry(ExpiringRegistry[Fault]):
    """Thread-safe set of live faults; the clock is injectable so tests need not sleep.

    active, remove and clear come from ExpiringRegistry (demo_app/expiring.py): live faults
    oldest first, which is the order faults apply in.
    """

    def add(self, kind: str, *, model: str | None = None, rate: float = 1.0, value: float | None = None, ttl_s: float = 300.0) -> Fault:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not 1.0 <= ttl_s <= 3600.0:
            raise ValueError("ttl_s must be between 1 and 3600")
        effective = check_value(kind, value)
        now = self.now()
        return self.put(Fault(f"flt_{uuid.uuid4().hex[:12]}", kind, model, rate, effective, ttl_s, now, now + ttl_s))

    def matching(self, model: str) -> list[Fault]:
        """Live faults that apply to requests for `model`, oldest first."""
        return [f for f in self.active() if f.applies_to(model)]

    def count(self, kind: str) -> int:
        """Live faults of one kind (read by the llmsim_active_faults gauge at scrape time)."""
        return sum(1 for f in self.active() if f.kind == kind)


@dataclass(frozen=True)
class Effects:
    """What the faults that fired do to one request."""

    fired: tuple[Fault, ...] = ()
    terminal: str | None = None  # rate_limit | error | timeout | None (the request succeeds)
    error_status: int = 500
    retry_after_s: float = 1.0
    hang_s: float = 0.0  # timeout: how long to hang before the 504
    extra_latency_s: float = 0.0
    blowup: float = 1.0
    quality_drop: bool = False
    cache_bust: bool = False
    kinds: tuple[str, ...] = field(default=())  # kinds that fired, terminal first

    @property
    def status(self) -> str:
        """Outcome for the llmsim_requests_total `status` label."""
        return {"rate_limit": "rate_limited", "error": "error", "timeout": "timeout"}.get(self.terminal or "", "ok")


def decide(faults: Sequence[Fault], draw: Callable[[], float]) -> Effects:
    """Decide which `faults` fire for one request and combine them (see the module docstring).

    `draw` returns uniform numbers in [0, 1); pass the request RNG's `random` so the
    decision is reproducible for a given seed and request.
    """
    fired = tuple(f for f in faults if draw() < f.rate)
    strongest: dict[str, Fault] = {}
    for fault in fired:
        best = strongest.get(fault.kind)
        if best is None or (fault.value or 0) > (best.value or 0):
            strongest[fault.kind] = fault
    terminal = next((k for k in _TERMINAL_ORDER if k in strongest), None)
    kinds = ((terminal,) if terminal else ()) + tuple(k for k in FAULT_KINDS if k in strongest and k != terminal)

    def value(kind: str, default: float) -> float:
        fault = strongest.get(kind)  # every kind read here carries a value (check_value fills defaults)
        return default if fault is None or fault.value is None else float(fault.value)

    return Effects(
        fired=fired,
        terminal=terminal,
        error_status=int(value("error", 500)),
        retry_after_s=value("rate_limit", 1.0),
        hang_s=value("timeout", 0.0),
        extra_latency_s=0.0 if terminal == "rate_limit" else value("latency", 0.0),
        blowup=value("token_blowup", 1.0),
        quality_drop="quality_drop" in strongest,
        cache_bust="cache_bust" in strongest,
        kinds=kinds,
    )
