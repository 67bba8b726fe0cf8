"""The shared registry of expiring items (demo_app/expiring.py), with a clock moved by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from demo_app.expiring import ExpiringRegistry
from tests.unit.conftest import FakeClock


@dataclass(frozen=True)
class Item:
    id: str
    expires_at: float


@pytest.fixture
def registry(clock: FakeClock) -> ExpiringRegistry[Item]:
    return ExpiringRegistry(clock=clock)


class TestExpiry:
    """An item is live until its expires_at, then gone from every access without anyone removing it."""

    def test_live_until_expires_at(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        item = registry.put(Item("a", clock.now + 10))
        clock.advance(9.999)
        assert registry.active() == [item]
        clock.advance(0.001)
        assert registry.active() == []

    def test_an_expired_item_cannot_be_removed(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        registry.put(Item("a", clock.now + 1))
        clock.advance(2)
        assert registry.remove("a") is False

    def test_clear_counts_live_items_only(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        registry.put(Item("short", clock.now + 1))
        registry.put(Item("long", clock.now + 60))
        registry.put(Item("longer", clock.now + 120))
        clock.advance(5)
        assert registry.clear() == 2
        assert registry.active() == [] and registry.clear() == 0

    def test_now_is_the_injected_clock(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        clock.advance(42)
        assert registry.now() == clock.now


class TestOrderAndRemoval:
    """Items are listed oldest first; remove says whether there was a live item to remove."""

    def test_active_is_oldest_first(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        # Added order, not expiry order: the simulator applies its faults in the order they were added.
        items = [registry.put(Item(name, clock.now + ttl)) for name, ttl in [("c", 30), ("a", 10), ("b", 20)]]
        assert [i.id for i in registry.active()] == ["c", "a", "b"]
        clock.advance(15)
        assert registry.active() == [items[0], items[2]]

    def test_remove(self, registry: ExpiringRegistry[Item], clock: FakeClock) -> None:
        registry.put(Item("a", clock.now + 10))
        registry.put(Item("b", clock.now + 10))
        assert registry.remove("a") is True
        assert registry.remove("a") is False and registry.remove("unknown") is False
        assert [i.id for i in registry.active()] == ["b"]

