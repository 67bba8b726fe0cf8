"""The MCP tool server's faults: which calls they hit, how they combine, and that they expire."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from demo_app.app.tools import TOOL_SPECS
from demo_app.mcp_tools.faults import ToolFaults, ToolFaultSpec


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fault_hits_its_tool_only_and_expires_by_its_ttl() -> None:
    clock = Clock()
    faults = ToolFaults(clock=clock, rng=random.Random(1))
    faults.add(ToolFaultSpec(kind="error", tool="calculator", ttl_s=30))
    assert faults.draw("calculator") == (0.0, True)
    assert faults.draw("search_documents") == (0.0, False)
    clock.now += 30
    assert faults.draw("calculator") == (0.0, False) and faults.active() == []


def test_latencies_do_not_add_up_and_combine_with_an_error() -> None:
    faults = ToolFaults(clock=Clock(), rng=random.Random(1))
    faults.add(ToolFaultSpec(kind="latency", value=1.5))
    faults.add(ToolFaultSpec(kind="latency", value=3.0, tool="word_count"))
    faults.add(ToolFaultSpec(kind="error", tool="word_count"))
    assert faults.draw("word_count") == (3.0, True)
    assert faults.draw("calculator") == (1.5, False)


def test_rate_is_the_share_of_calls_hit() -> None:
    faults = ToolFaults(clock=Clock(), rng=random.Random(7))
    faults.add(ToolFaultSpec(kind="error", rate=0.25))
    hits = sum(faults.draw("calculator")[1] for _ in range(4000))
    assert 850 < hits < 1150  # 1000 expected; ~6 standard deviations either side


def test_remove_and_clear() -> None:
    faults = ToolFaults(clock=Clock())
    a = faults.add(ToolFaultSpec(kind="error"))
    faults.add(ToolFaultSpec(kind="latency"))
    assert faults.remove(a.id) and not faults.remove(a.id)
    assert faults.clear() == 1 and faults.active() == []


def test_an_expired_fault_is_neither_removed_nor_counted_by_clear() -> None:
    # As the simulator's: DELETE /faults/{id} of an expired fault is a 404, DELETE /faults counts live ones.
    clock = Clock()
    faults = ToolFaults(clock=clock)
    short = faults.add(ToolFaultSpec(kind="error", ttl_s=10))
    faults.add(ToolFaultSpec(kind="latency", ttl_s=60))
    clock.now += 10
    assert not faults.remove(short.id)
    assert faults.clear() == 1


def test_every_defined_tool_can_be_faulted_and_no_other() -> None:
    # The names come from TOOL_SPECS, so a new tool needs no change to the fault API.
    assert all(ToolFaultSpec(kind="error", tool=name).tool == name for name in TOOL_SPECS)
    with pytest.raises(ValidationError) as refused:
        ToolFaultSpec(kind="error", tool="rm_rf")
    (error,) = refused.value.errors()
    assert error["loc"] == ("tool",) and all(name in error["msg"] for name in TOOL_SPECS)
