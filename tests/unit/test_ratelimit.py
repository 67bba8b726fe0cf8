"""Unit tests for demo_app.app.ratelimit: per-tier token buckets driven by a fake clock."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo_app.app.ratelimit import DEFAULT_TIER_LIMITS, TierLimit, TierRateLimiter


class TestDefaults:
    """Defaults: free 2/s burst 5, pro 10/s burst 20, enterprise 50/s burst 100."""

    def test_default_limits(self):
        assert dict(DEFAULT_TIER_LIMITS) == {
            "free": TierLimit(2.0, 5),
            "pro": TierLimit(10.0, 20),
            "enterprise": TierLimit(50.0, 100),
        }

    def test_default_limiter_uses_them(self):
        assert dict(TierRateLimiter().limits) == dict(DEFAULT_TIER_LIMITS)


class TestBurst:
    """A fresh bucket allows `burst` requests at once, then refuses without taking tokens."""

    def test_burst_then_refuse(self, clock):
        limiter = TierRateLimiter(DEFAULT_TIER_LIMITS, clock=clock)
        assert [limiter.acquire("free")[0] for _ in range(5)] == [True] * 5
        assert limiter.acquire("free") == (False, pytest.approx(0.5))

    def test_refusal_takes_nothing(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(1.0, 2)}, clock=clock)
        limiter.acquire("t", 2)
        for _ in range(10):
            assert limiter.acquire("t")[0] is False
        clock.advance(1.0)
        assert limiter.acquire("t") == (True, 0.0)

    def test_tiers_are_independent(self, clock):
        limiter = TierRateLimiter(DEFAULT_TIER_LIMITS, clock=clock)
        for _ in range(5):
            limiter.acquire("free")
        assert limiter.acquire("free")[0] is False
        assert limiter.acquire("pro") == (True, 0.0)


class TestRefill:
    """Tokens refill at `rate_per_s`, continuously, and never above `burst`."""

    def test_refills_at_rate(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(2.0, 5)}, clock=clock)
        limiter.acquire("t", 5)
        clock.advance(1.25)
        assert limiter.available("t") == pytest.approx(2.5)
        assert [limiter.acquire("t")[0] for _ in range(3)] == [True, True, False]

    def test_refill_caps_at_burst(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(10.0, 20)}, clock=clock)
        limiter.acquire("t", 20)
        clock.advance(3600)
        assert limiter.available("t") == 20
        assert sum(limiter.acquire("t")[0] for _ in range(30)) == 20

    def test_clock_stepping_back_does_not_drain(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(1.0, 3)}, clock=clock)
        limiter.acquire("t")
        clock.advance(-50)
        assert limiter.available("t") == pytest.approx(2.0)


class TestRetryAfter:
    """retry_after is 0 when allowed, else exactly the wait until enough tokens exist."""

    def test_wait_for_missing_tokens(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(4.0, 8)}, clock=clock)
        limiter.acquire("t", 7)  # 1 left
        allowed, wait = limiter.acquire("t", 3)  # 2 missing at 4/s
        assert (allowed, wait) == (False, pytest.approx(0.5))
        clock.advance(0.49)
        assert limiter.acquire("t", 3)[0] is False
        clock.advance(0.02)
        assert limiter.acquire("t", 3) == (True, 0.0)

    @settings(max_examples=100, deadline=None)
    @given(
        rate=st.floats(min_value=0.1, max_value=100),
        burst=st.integers(min_value=1, max_value=50),
        steps=st.lists(
            st.tuples(st.floats(min_value=0, max_value=2), st.integers(min_value=1, max_value=50)),
            max_size=40,
        ),
    )
    def test_waiting_retry_after_always_succeeds(self, rate, burst, steps):
        class Clock:
            now = 0.0

            def __call__(self):
                return self.now

        clock = Clock()
        limiter = TierRateLimiter({"t": TierLimit(rate, burst)}, clock=clock)
        granted = 0
        for gap, want in steps:
            clock.now += gap
            want = min(want, burst)
            allowed, wait = limiter.acquire("t", want)
            if allowed:
                assert wait == 0.0
                granted += want
            else:
                assert wait > 0
                clock.now += wait + 1e-9
                assert limiter.acquire("t", want) == (True, 0.0)
                granted += want
            # Never more than the initial burst plus what the elapsed time refilled.
            assert granted <= burst + rate * clock.now + 1e-6


class TestErrors:
    """Unknown tiers and impossible requests fail loudly."""

    def test_unknown_tier(self, clock):
        limiter = TierRateLimiter(DEFAULT_TIER_LIMITS, clock=clock)
        with pytest.raises(KeyError, match=r"unknown tier 'gold'.*enterprise, free, pro"):
            limiter.acquire("gold")

    @pytest.mark.parametrize("tokens", [0, -1, 6])
    def test_tokens_out_of_range(self, clock, tokens):
        limiter = TierRateLimiter(DEFAULT_TIER_LIMITS, clock=clock)
        with pytest.raises(ValueError, match="between 1 and burst=5"):
            limiter.acquire("free", tokens)

    @pytest.mark.parametrize(
        ("rate", "burst"), [(0, 5), (-1, 5), (float("inf"), 5), (1, 0), (1, 2.5), (1, True)]
    )
    def test_invalid_limits(self, rate, burst):
        with pytest.raises(ValueError):
            TierLimit(rate, burst)

    def test_needs_a_tier(self):
        with pytest.raises(ValueError):
            TierRateLimiter({})


class TestThreadSafety:
    """Concurrent callers never get more than the bucket holds."""

    def test_parallel_acquires_grant_exactly_burst(self, clock):
        limiter = TierRateLimiter({"t": TierLimit(1.0, 100)}, clock=clock)  # clock frozen
        results: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            mine = [limiter.acquire("t")[0] for _ in range(50)]
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert len(results) == 400
        assert sum(results) == 100
