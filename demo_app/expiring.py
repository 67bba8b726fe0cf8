"""A thread-safe registry of items that expire by themselves at their `expires_at`.

Expiry is lazy: expired items are pruned on each access, not by a timer. So no background
thread is needed, and an item nobody removes (a fault left by a killed scenario run) can
never outlive its TTL: the next read no longer sees it. The simulator's faults
(demo_app/llm_sim/faults.py) and the MCP tool server's (demo_app/mcp_tools/faults.py) both
build on it; each keeps its own kinds, matching and effects.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock
from typing import Generic, Protocol, TypeVar

__all__ = ["Expiring", "ExpiringRegistry"]


class Expiring(Protocol):
    """What the registry needs of an item: an id and when it expires (clock seconds)."""

    @property
    def id(self) -> str: ...

    @property
    def expires_at(self) -> float: ...


T = TypeVar("T", bound=Expiring)


class ExpiringRegistry(Generic[T]):
    """Live items by id, oldest first; the clock is injectable so tests need not sleep."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._items: dict[str, T] = {}  # insertion order = oldest first
        self._lock = Lock()

    def now(self) -> float:
        """The registry's clock: what `expires_at` is measured against."""
        return self._clock()

    def put(self, item: T) -> T:
        """Add `item` (its id must be new) and return it."""
        with self._lock:
            self._prune()
            self._items[item.id] = item
        return item

    def active(self) -> list[T]:
        """Live items, oldest first."""
        with self._lock:
            self._prune()
            return list(self._items.values())

    def remove(self, item_id: str) -> bool:
        """Remove one item; False when it is unknown or already expired."""
        with self._lock:
            self._prune()
            return self._items.pop(item_id, None) is not None

    def clear(self) -> int:
        """Remove every item; returns how many live ones there were."""
        with self._lock:
            self._prune()
            count = len(self._items)
            self._items.clear()
            return count

    def _prune(self) -> None:
        # Callers hold the lock.
        now = self._clock()
        for item_id in [i for i, item in self._items.items() if item.expires_at <= now]:
            del self._items[item_id]
