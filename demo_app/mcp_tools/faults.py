"""Faults of the MCP tool server: a tool that fails or answers slowly, each expiring by itself.

A fault is {kind, tool (None = every tool), rate, value, ttl_s}: `error` makes a call raise
(the SDK answers it as a tool result with isError=true, the model reads "Error executing
tool"), `latency` delays the answer by `value` seconds. Each call draws once per live fault
that names its tool and applies the fault with probability `rate`. Like the simulator's
faults (demo_app/llm_sim/faults.py), every fault expires `ttl_s` seconds after it was added,
checked on each access (demo_app/expiring.py, shared with the simulator), so a fault left by
a killed scenario run never outlives its TTL.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from demo_app.app.tools import TOOL_SPECS
from demo_app.expiring import ExpiringRegistry

__all__ = ["ToolFault", "ToolFaultSpec", "ToolFaults"]

ToolFaultKind = Literal["error", "latency"]


class ToolFaultSpec(BaseModel):
    """Body of POST /faults; out-of-range values are a 422 with the field named."""

    model_config = {"extra": "forbid"}

    kind: ToolFaultKind
    tool: str | None = Field(default=None, description="a tool of demo_app/app/tools.py TOOL_SPECS; None: every tool")
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    value: float = Field(default=2.0, ge=0.0, le=60.0, description="latency: seconds added to each affected call")
    ttl_s: float = Field(default=300.0, gt=0.0, le=3600.0)

    @field_validator("tool")
    @classmethod
    def _known_tool(cls, tool: str | None) -> str | None:
        # The names come from the tool definitions, so a new tool can be faulted at once.
        if tool is not None and tool not in TOOL_SPECS:
            raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOL_SPECS)}")
        return tool


@dataclass(frozen=True)
class ToolFault:
    id: str
    spec: ToolFaultSpec
    expires_at: float

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, **self.spec.model_dump(), "expires_at": self.expires_at}


class ToolFaults(ExpiringRegistry[ToolFault]):
    """The live faults (active, remove and clear from ExpiringRegistry); thread-safe, pruned on every access."""

    def __init__(self, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        super().__init__(clock)
        self._rng = rng or random.Random()

    def add(self, spec: ToolFaultSpec) -> ToolFault:
        return self.put(ToolFault(id=uuid.uuid4().hex[:12], spec=spec, expires_at=self.now() + spec.ttl_s))

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
