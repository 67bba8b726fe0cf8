"""Faults of the MCP tool server: a tool that fails or answers slowly, each expiring by itself.

A fault is {kind, tool (None = every tool), rate, value, ttl_s}: `error` makes a call raise
(the SDK answers it as a tool result with isError=true, the model reads "Error executing
tool"), `latency` delays the answer by `value` seconds. Each call draws once per live fault
that names its tool and applies the fault with probability `rate`. Like the simulator's
faults (demo_app/llm_sim/faults.py), every fault expires `ttl_s` seconds after it was added,
checked on each access, so a fault left by a killed scenario run never outlives its TTL.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["ToolFault", "ToolFaultSpec", "ToolFaults"]

ToolFaultKind = Literal["error", "latency"]


class ToolFaultSpec(BaseModel):
    """Body of POST /faults; out-of-range values are a 422 with the field named."""

    model_config = {"extra": "forbid"}

    kind: ToolFaultKind
    tool: Literal["search_documents", "calculator", "word_count"] | None = None
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    value: float = Field(default=2.0, ge=0.0, le=60.0, description="latency: seconds added to each affected call")
    ttl_s: float = Field(default=300.0, gt=0.0, le=3600.0)


@dataclass(frozen=True)
class ToolFault:
    id: str
    spec: ToolFaultSpec
    expires_at: float

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, **self.spec.model_dump(), "expires_at": self.expires_at}


class ToolFaults:
    """The live faults; thread-safe, pruned on every access."""

    def __init__(self, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = Lock()
        self._faults: dict[str, ToolFault] = {}

    def add(self, spec: ToolFaultSpec) -> ToolFault:
        fault = ToolFault(id=uuid.uuid4().hex[:12], spec=spec, expires_at=self._clock() + spec.ttl_s)
        with self._lock:
            self._faults[fault.id] = fault
        return fault

    def active(self) -> list[ToolFault]:
        now = self._clock()
        with self._lock:
            for fault_id in [f.id for f in self._faults.values() if f.expires_at <= now]:
                del self._faults[fault_id]
            return list(self._faults.values())

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> int:
        with self._lock:
            count, self._faults = len(self._faults), {}
        return count

    def draw(self, tool: str) -> tuple[float, bool]:
        """(seconds to delay, whether to fail) for one call of `tool`."""
        delay, fail = 0.0, False
        for fault in self.active():
            if fault.spec.tool not in (None, tool) or self._rng.random() >= fault.spec.rate:
                continue
            if fault.spec.kind == "latency":
                delay = max(delay, fault.spec.value)
            else:
                fail = True
        return delay, fail
