"""A seeded traffic generator produces the promised proportions, reproducibly."""

from __future__ import annotations

from collections import Counter
from statistics import mean

import pytest

from demo_app.config import FEATURES, MODELS, TIERS
from demo_app.loadgen.mix import DEFAULT_MIX, Mix, TrafficGenerator

N = 20_000


@pytest.fixture(scope="module")
def sample(docs):
    gen = TrafficGenerator(docs, DEFAULT_MIX, seed=7)
    return [gen.next() for _ in range(N)]


def share(items, pred) -> float:
    items = list(items)
    return sum(1 for r in items if pred(r)) / len(items)


def test_request_kinds_follow_the_mix(sample):
    assert share(sample, lambda r: r.kind == "invalid") == pytest.approx(0.03, abs=0.006)
    assert share(sample, lambda r: r.kind == "agent") == pytest.approx(0.15, abs=0.015)
    asks = [r for r in sample if r.kind == "ask"]
    assert share(asks, lambda r: r.stream) == pytest.approx(0.20, abs=0.015)
    assert share(asks, lambda r: r.off_topic) == pytest.approx(0.05, abs=0.01)


def test_tiers_and_features_follow_the_mix(sample):
    tiers = Counter(r.tier for r in sample)
    for tier, expected in DEFAULT_MIX.tiers.items():
        assert tiers[tier] / N == pytest.approx(expected, abs=0.02), tier
    features = Counter(r.feature for r in sample if r.kind == "ask")
    asks = sum(features.values())
    for feature, expected in DEFAULT_MIX.features.items():
        assert features[feature] / asks == pytest.approx(expected, abs=0.02), feature


def test_valid_requests_use_only_values_the_app_accepts(sample):
    for r in sample:
        if r.kind == "ask":
            assert r.body["user_tier"] in TIERS and r.body["feature"] in FEATURES and r.body["question"].strip()
            assert set(r.body) <= {"question", "user_tier", "feature", "stream", "model"}
        elif r.kind == "agent":
            assert r.path == "/v1/agent" and 1 <= r.body["max_steps"] <= 10 and r.body["task"].strip()


def test_invalid_requests_each_break_one_rule(sample):
    invalid = [r for r in sample if r.kind == "invalid"]
    assert len({str(sorted(r.body.items())) for r in invalid}) > 5
    for r in invalid:
        b = r.body
        broken = (
            b.get("user_tier") not in TIERS
            or b.get("question") == ""
            or "temperature" in b
            or b.get("feature", "qa") not in FEATURES
            or b.get("model", "sim-small") not in MODELS
            or not 1 <= b.get("max_steps", 1) <= 10
        )
        assert broken, b


def test_questions_are_paraphrased_not_replayed(sample, docs):
    originals = {q for d in docs for q in d.questions}
    asked = [r.body["question"] for r in sample if r.kind == "ask" and not r.off_topic]
    assert 0.3 < share(asked, lambda q: q not in originals) < 0.9


def test_same_seed_same_traffic(docs):
    a, b = TrafficGenerator(docs, seed=3), TrafficGenerator(docs, seed=3)
    assert [a.next() for _ in range(200)] == [b.next() for _ in range(200)]
    assert [a.interarrival(2.0) for _ in range(50)] == [b.interarrival(2.0) for _ in range(50)]


def test_interarrivals_are_exponential_with_the_given_rate(docs):
    gen = TrafficGenerator(docs, seed=11)
    gaps = [gen.interarrival(4.0) for _ in range(N)]
    assert mean(gaps) == pytest.approx(0.25, rel=0.03)
    assert share(gaps, lambda g: g > 0.25) == pytest.approx(0.3679, abs=0.015)  # P(X > mean) = 1/e


def test_overrides_pin_models_and_tiers(docs):
    gen = TrafficGenerator(docs, DEFAULT_MIX.replace(models={"sim-large": 1.0}, tiers={"free": 1.0}, invalid_share=0.0), seed=1)
    reqs = [gen.next() for _ in range(500)]
    assert all(r.tier == "free" for r in reqs)
    assert all(r.body.get("model") == "sim-large" for r in reqs if r.kind == "ask")


@pytest.mark.parametrize("bad", [{"agent_share": 1.5}, {"tiers": {}}, {"features": {"qa": 0.0}}, {"agent_share": 0.9, "invalid_share": 0.2}])
def test_nonsense_mixes_are_refused(bad):
    with pytest.raises(ValueError):
        Mix(**bad)
