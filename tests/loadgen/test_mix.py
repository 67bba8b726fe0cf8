"""A seeded traffic generator produces the promised proportions, reproducibly."""

from __future__ import annotations

import re
from collections import Counter
from statistics import mean

import pytest

from demo_app.app.api import CONVERSATION_ID_MAX_CHARS, CONVERSATION_ID_PATTERN
from demo_app.budgets import TEAM_PATTERN, load_budgets
from demo_app.config import FEATURES, MODELS, TIERS
from demo_app.guardrails import load_guardrails
from demo_app.loadgen.corpus import ATTACK_QUESTIONS, load_corpus
from demo_app.loadgen.mix import DEFAULT_MIX, DEMO_TEAM_KEYS, Mix, TrafficGenerator

N = 20_000
DEFAULT_MIX_OPEN = 4  # TrafficGenerator keeps at most this many conversations open


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
            assert set(r.body) <= {"question", "user_tier", "feature", "stream", "model", "team", "conversation_id"}
            if "conversation_id" in r.body:
                assert re.fullmatch(CONVERSATION_ID_PATTERN, r.body["conversation_id"])
                assert len(r.body["conversation_id"]) <= CONVERSATION_ID_MAX_CHARS
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
            or not re.fullmatch(TEAM_PATTERN, b.get("team", "ok"))
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


def test_teams_follow_the_mix_by_field_or_demo_key(sample):
    valid = [r for r in sample if r.kind != "invalid"]
    for team, expected in DEFAULT_MIX.teams.items():
        assert share(valid, lambda r, t=team: r.team == t) == pytest.approx(expected, abs=0.02), team
    assert "batch" not in DEFAULT_MIX.teams  # batch traffic is the budget-burn scenario's alone
    bot = [r for r in valid if r.team == "support-bot"]
    by_key = [r for r in bot if "Authorization" in r.headers]
    assert share(bot, lambda r: r in by_key) == pytest.approx(DEFAULT_MIX.key_share, abs=0.03)
    assert all("team" not in r.body for r in by_key) and all(r.body.get("team") == "support-bot" for r in bot if r not in by_key)
    # What the app will record: the key's fingerprint is configured, the field names a listed team.
    budgets = load_budgets()
    for r in valid[:2000]:
        key = r.headers.get("Authorization", "").removeprefix("Bearer ") or None
        assert budgets.team_for(r.body.get("team"), key) == (r.team or "_other")
    assert set(DEMO_TEAM_KEYS) <= set(budgets.teams)


def test_a_share_of_questions_are_turns_of_two_to_four_turn_conversations(sample):
    asks = [r for r in sample if r.kind == "ask"]
    turns = [r for r in asks if r.conversation_id]
    assert share(asks, lambda r: bool(r.conversation_id)) == pytest.approx(DEFAULT_MIX.conversation_share, abs=0.015)
    assert all(r.body["conversation_id"] == r.conversation_id and not r.off_topic for r in turns)
    conversations: dict[str, list] = {}
    for r in turns:
        conversations.setdefault(r.conversation_id, []).append(r)
    lo, hi = DEFAULT_MIX.conversation_turns
    lengths = Counter(len(c) for c in list(conversations.values())[:-DEFAULT_MIX_OPEN])  # the last few may still be open
    assert set(lengths) == set(range(lo, hi + 1)), lengths
    for conversation in conversations.values():
        assert [r.turn for r in conversation] == list(range(1, len(conversation) + 1))
        # One user: the same tier, feature, team and model on every turn.
        assert len({(r.tier, r.feature, r.team, r.body.get("model"), tuple(r.headers.items())) for r in conversation}) == 1
    # Turns are interleaved with other traffic, not sent back to back.
    positions = {id(r): i for i, r in enumerate(sample)}
    gaps = [positions[id(c[1])] - positions[id(c[0])] for c in conversations.values() if len(c) > 1]
    assert mean(gaps) > 3


def test_conversation_turns_follow_a_scenario_s_model_pin(docs):
    gen = TrafficGenerator(docs, DEFAULT_MIX.replace(models={"sim-large": 1.0}, invalid_share=0.0), seed=4)
    turns = [r for r in (gen.next() for _ in range(500)) if r.conversation_id]
    assert turns and {r.body["model"] for r in turns} == {"sim-large"}


def test_a_scenario_can_send_only_one_team(docs):
    gen = TrafficGenerator(docs, DEFAULT_MIX.replace(teams={"batch": 1.0}, invalid_share=0.0), seed=3)
    assert {gen.next().body["team"] for _ in range(200)} == {"batch"}


@pytest.mark.parametrize("bad", [
    {"agent_share": 1.5}, {"tiers": {}}, {"teams": {"": 0.0}}, {"key_share": 2.0}, {"features": {"qa": 0.0}},
    {"agent_share": 0.9, "invalid_share": 0.2}, {"conversation_share": 1.2}, {"conversation_turns": (3, 2)},
    {"conversation_turns": (0, 2)}, {"conversation_share": 0.96, "off_topic_share": 0.05},
])
def test_nonsense_mixes_are_refused(bad):
    with pytest.raises(ValueError):
        Mix(**bad)


def test_attack_questions_are_blocked_by_the_shipped_input_guardrails_and_corpus_questions_are_not():
    rails = load_guardrails()
    for question in ATTACK_QUESTIONS:
        _, found = rails.check("input", question)
        assert any(d.action == "block" for d in found), question
    for doc in load_corpus():
        for question in doc.questions:
            _, found = rails.check("input", question)
            assert not any(d.action == "block" for d in found), question


def test_an_attack_mix_sends_only_attacks_and_ordinary_traffic_none():
    docs = load_corpus()
    wave = TrafficGenerator(docs, DEFAULT_MIX.replace(attack_share=1.0, agent_share=0.0, invalid_share=0.0), seed=3)
    sent = [wave.next() for _ in range(50)]
    assert {r.kind for r in sent} == {"attack"}
    assert all(r.path == "/v1/ask" and r.body["question"] in ATTACK_QUESTIONS for r in sent)
    ordinary = TrafficGenerator(docs, DEFAULT_MIX, seed=3)
    assert not any(ordinary.next().kind == "attack" for _ in range(500))
