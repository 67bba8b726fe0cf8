"""Unit tests of the fault registry and of how faults combine (demo_app/llm_sim/faults.py)."""

from __future__ import annotations

import random

import pytest

from demo_app.llm_sim.faults import DEFAULT_VALUES, FAULT_KINDS, FaultRegistry, check_value, decide


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> FaultRegistry:
    return FaultRegistry(clock=clock)


class TestRegistry:
    """Faults are listed while live and disappear by themselves after their TTL."""

    def test_add_fills_defaults(self, registry: FaultRegistry, clock: FakeClock) -> None:
        fault = registry.add("latency")
        assert (fault.value, fault.rate, fault.ttl_s, fault.model) == (3.0, 1.0, 300.0, None)
        assert fault.expires_at == clock.now + 300
        assert fault.id.startswith("flt_")
        body = fault.to_dict()
        assert body["expires_at"].endswith("Z") and body["kind"] == "latency"

    def test_expires_after_ttl(self, registry: FaultRegistry, clock: FakeClock) -> None:
        short = registry.add("error", ttl_s=1)
        long = registry.add("latency", ttl_s=10)
        clock.now += 0.999
        assert [f.id for f in registry.active()] == [short.id, long.id]
        clock.now += 0.002
        assert [f.id for f in registry.active()] == [long.id]
        assert registry.count("error") == 0 and registry.count("latency") == 1
        clock.now += 10
        assert registry.active() == []

    def test_expired_fault_cannot_be_removed(self, registry: FaultRegistry, clock: FakeClock) -> None:
        fault = registry.add("error", ttl_s=1)
        clock.now += 2
        assert registry.remove(fault.id) is False

    def test_remove_and_clear(self, registry: FaultRegistry) -> None:
        a = registry.add("error")
        registry.add("latency")
        registry.add("timeout")
        assert registry.remove(a.id) is True
        assert registry.remove(a.id) is False
        assert registry.clear() == 2
        assert registry.active() == []

    def test_model_filter(self, registry: FaultRegistry) -> None:
        everyone = registry.add("latency")
        large = registry.add("error", model="sim-large")
        assert registry.matching("sim-large") == [everyone, large]
        assert registry.matching("sim-small") == [everyone]

    @pytest.mark.parametrize("kwargs", [{"rate": 1.5}, {"rate": -0.1}, {"ttl_s": 0.5}, {"ttl_s": 3601}])
    def test_refuses_out_of_range(self, registry: FaultRegistry, kwargs: dict) -> None:
        with pytest.raises(ValueError):
            registry.add("error", **kwargs)


class TestValues:
    """`value` means something different per kind and is checked against it."""

    def test_every_kind_has_a_default(self) -> None:
        assert set(DEFAULT_VALUES) == set(FAULT_KINDS)
        assert check_value("token_blowup", None) == 8.0
        assert check_value("timeout", None) == 30.0
        assert check_value("rate_limit", None) == 1.0
        assert check_value("error", None) == 500

    @pytest.mark.parametrize(
        ("kind", "value"),
        [("error", 404), ("error", 501), ("latency", -1), ("latency", 601), ("token_blowup", 0.5),
         ("quality_drop", 1), ("timeout", float("inf")), ("bogus", None)],
    )
    def test_invalid(self, kind: str, value: float | None) -> None:
        with pytest.raises(ValueError):
            check_value(kind, value)

    def test_error_value_is_the_status(self) -> None:
        assert check_value("error", 503.0) == 503


def _draws(*values: float):
    it = iter(values)
    return lambda: next(it)


class TestDecide:
    """Each fault fires with its own draw; kinds combine as the module docstring says."""

    def test_rate_decides_with_the_draw(self, registry: FaultRegistry) -> None:
        fault = registry.add("error", rate=0.3)
        assert decide([fault], _draws(0.29)).terminal == "error"
        assert decide([fault], _draws(0.30)).terminal is None

    def test_rate_is_honoured_statistically(self, registry: FaultRegistry) -> None:
        fault = registry.add("error", rate=0.25)
        rng = random.Random(7)
        fired = sum(decide([fault], rng.random).terminal == "error" for _ in range(4000))
        assert 850 < fired < 1150

    def test_no_faults_is_ok(self) -> None:
        effects = decide([], _draws())
        assert (effects.status, effects.extra_latency_s, effects.blowup, effects.quality_drop) == ("ok", 0.0, 1.0, False)

    def test_terminal_precedence(self, registry: FaultRegistry) -> None:
        timeout = registry.add("timeout", value=5)
        error = registry.add("error", value=503)
        limit = registry.add("rate_limit", value=2)
        assert decide([timeout, error, limit], _draws(0, 0, 0)).status == "rate_limited"
        assert decide([timeout, error], _draws(0, 0)).status == "error"
        assert decide([timeout], _draws(0)).hang_s == 5.0

    def test_rate_limit_skips_latency(self, registry: FaultRegistry) -> None:
        faults = [registry.add("latency", value=2), registry.add("rate_limit", value=2.5)]
        effects = decide(faults, _draws(0, 0))
        assert (effects.extra_latency_s, effects.retry_after_s, effects.kinds) == (0.0, 2.5, ("rate_limit", "latency"))

    def test_error_keeps_latency(self, registry: FaultRegistry) -> None:
        faults = [registry.add("latency", value=2), registry.add("error", value=502)]
        effects = decide(faults, _draws(0, 0))
        assert (effects.extra_latency_s, effects.error_status) == (2.0, 502)

    def test_same_kind_largest_value_wins(self, registry: FaultRegistry) -> None:
        faults = [registry.add(kind, value=v) for kind, v in (("latency", 1), ("latency", 4), ("token_blowup", 3), ("token_blowup", 5))]
        effects = decide(faults, _draws(0, 0, 0, 0))
        assert (effects.extra_latency_s, effects.blowup) == (4.0, 5.0)

    def test_only_fired_faults_count(self, registry: FaultRegistry) -> None:
        faults = [registry.add("latency", value=1, rate=0.5), registry.add("latency", value=4, rate=0.5)]
        effects = decide(faults, _draws(0.1, 0.9))
        assert effects.extra_latency_s == 1.0 and len(effects.fired) == 1

    def test_shaping_kinds_combine(self, registry: FaultRegistry) -> None:
        faults = [registry.add("quality_drop"), registry.add("token_blowup", value=4), registry.add("latency", value=0.5)]
        effects = decide(faults, _draws(0, 0, 0))
        assert effects.terminal is None and effects.status == "ok"
        assert (effects.quality_drop, effects.blowup, effects.extra_latency_s) == (True, 4.0, 0.5)
        assert effects.kinds == ("latency", "token_blowup", "quality_drop")
