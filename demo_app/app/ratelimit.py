"""Per-tier token-bucket rate limiter: O(1), lock-protected, with an injectable clock.

Pure code: the app calls `acquire(tier)` per request, answers 429 with `Retry-After` when it
is refused, and counts `llmapp_rate_limit_events_total{source="app"}`.

Each tier has one bucket shared by all its callers (a per-tier, not per-user, budget keeps
the label set bounded). A bucket holds at most `burst` tokens, starts full and refills
continuously at `rate_per_s`; a request takes `tokens` from it or is refused without taking
any, together with the wait after which the same request would succeed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DEFAULT_TIER_LIMITS", "TierLimit", "TierRateLimiter"]


@dataclass(frozen=True)
class TierLimit:
    """Sustained rate (tokens per second) and bucket size (the largest instant burst)."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_per_s) and self.rate_per_s > 0):
            raise ValueError(f"rate_per_s must be a finite number > 0, got {self.rate_per_s!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {self.burst!r}")


DEFAULT_TIER_LIMITS: Mapping[str, TierLimit] = MappingProxyType(
    {
        "free": TierLimit(rate_per_s=2.0, burst=5),
        "pro": TierLimit(rate_per_s=10.0, burst=20),
        "enterprise": TierLimit(rate_per_s=50.0, burst=100),
    }
)


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class TierRateLimiter:
    """One token bucket per tier; `acquire` is safe to call from any thread."""

    def __init__(
        self,
        limits: Mapping[str, TierLimit] = DEFAULT_TIER_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not limits:
            raise ValueError("at least one tier limit is required")
        self._limits: Mapping[str, TierLimit] = MappingProxyType(dict(limits))
        self._clock = clock
        # One lock for all buckets: the critical section is a few float operations, far
        # shorter than any contention it could cause.
        self._lock = threading.Lock()
        now = clock()
        self._buckets = {tier: _Bucket(float(lim.burst), now) for tier, lim in limits.items()}

    @property
    def limits(self) -> Mapping[str, TierLimit]:
        return self._limits

    def acquire(self, tier: str, tokens: int = 1) -> tuple[bool, float]:
        """Take `tokens` from the tier's bucket.

        Returns `(True, 0.0)` when allowed, else `(False, seconds until enough tokens)`.
        Raises KeyError for an unknown tier and ValueError for a request that could never
        fit (`tokens` < 1 or > burst).
        """
        limit = self._limit(tier)
        if tokens < 1 or tokens > limit.burst:
            raise ValueError(f"tokens must be between 1 and burst={limit.burst}, got {tokens}")
        with self._lock:
            bucket = self._refill(tier, limit)
            if bucket.tokens >= tokens:
                bucket.tokens -= tokens
                return True, 0.0
            return False, (tokens - bucket.tokens) / limit.rate_per_s

    def available(self, tier: str) -> float:
        """Tokens in the tier's bucket right now (after refill); for tests and debugging."""
        limit = self._limit(tier)
        with self._lock:
            return self._refill(tier, limit).tokens

    def _limit(self, tier: str) -> TierLimit:
        try:
            return self._limits[tier]
        except KeyError:
            raise KeyError(
                f"unknown tier {tier!r}; known tiers: {', '.join(sorted(self._limits))}"
            ) from None

    def _refill(self, tier: str, limit: TierLimit) -> _Bucket:
        # Caller holds the lock.
        bucket = self._buckets[tier]
        now = self._clock()
        # max(): a clock that steps back (only possible with a custom clock) never drains tokens.
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate_per_s)
        bucket.updated = max(now, bucket.updated)
        return bucket
