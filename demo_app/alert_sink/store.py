"""A bounded, thread-safe memory of the most recent notifications."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

from demo_app.alert_sink.models import StoredNotification

__all__ = ["NotificationStore"]


class NotificationStore:
    """Keeps the last `max_items` notifications, oldest first; older ones fall off the end.

    A deque with maxlen bounds memory however long the stack runs (Watchdog alone sends
    one notification a minute, forever).
    """

    def __init__(self, max_items: int) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._items: deque[StoredNotification] = deque(maxlen=max_items)
        self._lock = threading.Lock()

    @property
    def max_items(self) -> int:
        return self._items.maxlen or 0

    def add(self, notification: StoredNotification) -> None:
        with self._lock:
            self._items.append(notification)

    def list(self, alertname: str | None = None, since: datetime | None = None) -> list[StoredNotification]:
        """Notifications oldest first; only those with an alert named `alertname`, received at or after `since`."""
        with self._lock:
            items = list(self._items)
        if alertname is not None:
            items = [n for n in items if n.has_alert(alertname)]
        if since is not None:
            items = [n for n in items if n.received_at >= since]
        return items

    def clear(self) -> int:
        """Forget everything; returns how many notifications were dropped."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
        return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
