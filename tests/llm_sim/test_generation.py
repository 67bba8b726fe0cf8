"""Unit tests of the simulated model's answers and latency plan (demo_app/llm_sim/generation.py)."""

from __future__ import annotations

import random

import pytest

from demo_app.llm_sim.generation import (
    DONT_KNOW_PREFIX,
    content_words,
    generate,
    make_rng,
    parse_context,
    plan_timing,
    ramble,
    request_key,
)
from demo_app.llm_sim.models import MODELS
from demo_app.llm_sim.tokens import count_tokens

LARGE = MODELS["sim-large"]
CONTEXT = (
    "Answer from the context below.\n"
    "[prom-1] Prometheus scrapes metrics from targets every 15 seconds. It evaluates alert rules on a schedule.\n"
    "[loki-2] Loki stores log lines in compressed chunks. Loki indexes only the labels of each stream.\n"
    "[tempo-3] Tempo stores distributed traces received over OTLP.\n"
)


def _ask(question: str, context: str = CONTEXT) -> list[dict]:
    return [{"role": "system", "content": context}, {"role": "user", "content": question}]


def _overlap(a: str, b: str) -> float:
    wa, wb = content_words(a), content_words(b)
    return len(wa & wb) / max(1, len(wa))


class TestAnswers:
    """Answers are composed from the context sentences that best match the question."""

    def test_answer_uses_best_context_and_cites_it(self) -> None:
        c = generate(_ask("How does Loki store log lines?"), LARGE, random.Random(1))
        assert c.finish_reason == "stop" and c.tool_call is None
        assert "Loki stores log lines in compressed chunks." in c.text
        assert "[loki-2]" in c.text
        assert "Tempo" not in c.text

    @pytest.mark.parametrize("seed", range(10))
    def test_between_one_and_max_sentences(self, seed: int) -> None:
        for model in MODELS.values():
            text = generate(_ask("What does Loki store and index for each stream of log lines?"), model, random.Random(seed)).text
            assert 1 <= text.count("[loki-2]") + text.count("[prom-1]") + text.count("[tempo-3]") <= model.max_sentences

    def test_no_useful_context_says_it_does_not_know(self) -> None:
        for messages in (_ask("What is the capital of France?"), [{"role": "user", "content": "How does Loki store logs?"}]):
            c = generate(messages, LARGE, random.Random(2))
            assert c.text.startswith(DONT_KNOW_PREFIX)
            assert c.completion_tokens < 25

    def test_usage_matches_text(self) -> None:
        c = generate(_ask("Which labels does Loki index?"), LARGE, random.Random(3))
        assert c.completion_tokens == count_tokens(c.text)
        assert c.prompt_tokens > count_tokens(CONTEXT)

    def test_same_rng_same_answer(self) -> None:
        messages = _ask("What does Prometheus scrape and how often?")
        answers = {generate(messages, model, make_rng(42, request_key({"m": messages}))).text for model in [LARGE] * 5}
        assert len(answers) == 1

    def test_seed_changes_some_answers(self) -> None:
        questions = [f"What does Loki store, index or scrape {i}?" for i in range(20)]
        by_seed = [[generate(_ask(q), LARGE, make_rng(seed, request_key({"q": q}))).text for q in questions] for seed in (1, 2)]
        assert by_seed[0] != by_seed[1]

    def test_doc_lines_in_user_message_are_context(self) -> None:
        messages = [{"role": "user", "content": "[d1] Grafana draws dashboards from Prometheus data.\nWhat draws dashboards?"}]
        assert "Grafana draws dashboards" in generate(messages, LARGE, random.Random(0)).text


class TestLimits:
    """max_tokens cuts the answer with finish_reason "length"."""

    def test_max_tokens(self) -> None:
        c = generate(_ask("How does Loki store log lines and index labels?"), LARGE, random.Random(1), max_tokens=4)
        assert c.finish_reason == "length"
        assert c.completion_tokens <= 4 and c.completion_tokens == count_tokens(c.text)

    def test_model_output_cap_even_when_blowing_up(self) -> None:
        small = MODELS["sim-small"]
        c = generate(_ask("How does Loki store log lines?"), small, random.Random(1), blowup=100)
        assert c.completion_tokens <= small.max_output_tokens


class TestFaultShapes:
    """token_blowup rambles to about `factor` times the length; quality_drop ignores the context."""

    @pytest.mark.parametrize("factor", [2, 8, 20])
    def test_blowup_multiplies_length(self, factor: float) -> None:
        messages = _ask("How does Loki store log lines?")
        base = generate(messages, LARGE, random.Random(5))
        blown = generate(messages, LARGE, random.Random(5), blowup=factor)
        assert factor * base.completion_tokens * 0.9 <= blown.completion_tokens <= factor * base.completion_tokens + 1
        assert blown.text.startswith(base.text)

    def test_ramble_factor_one_is_identity(self) -> None:
        assert ramble("Loki stores logs. [loki-2]", 1, random.Random(0)) == "Loki stores logs. [loki-2]"

    @pytest.mark.parametrize("seed", range(5))
    def test_quality_drop_shares_few_words(self, seed: int) -> None:
        messages = _ask("How does Loki store log lines in compressed chunks?")
        good = generate(messages, LARGE, random.Random(seed)).text
        bad = generate(messages, LARGE, random.Random(seed), quality_drop=True).text
        assert _overlap(good, CONTEXT) > 0.9
        assert _overlap(bad, CONTEXT) < 0.2
        assert _overlap(bad, messages[1]["content"]) < 0.2


class TestContext:
    """Context comes from `[doc_id] text` lines and tool results."""

    def test_parse_docs_and_tool_results(self) -> None:
        call = {"id": "call_a", "type": "function", "function": {"name": "calculator", "arguments": "{}"}}
        messages = [
            *_ask("q"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_a", "content": "84"},
        ]
        sentences, results = parse_context(messages)
        assert [s.doc_id for s in sentences] == ["prom-1", "prom-1", "loki-2", "loki-2", "tempo-3"]
        assert results == [("calculator", "84")]


class TestTiming:
    """Latency follows the profile table, scaled, plus absolute fault latency."""

    def test_profile_order(self) -> None:
        rng = random.Random(0)
        medians = {}
        for name, profile in MODELS.items():
            samples = sorted(plan_timing(profile, 500, rng).total_s(100) for _ in range(101))
            medians[name] = samples[50]
        assert medians["sim-large"] > medians["sim-medium"] > medians["sim-small"]
        assert medians["sim-large"] * 1.2 > 0.45 + 100 * 0.03

    def test_scale_and_extra(self) -> None:
        full = plan_timing(LARGE, 100, random.Random(9))
        scaled = plan_timing(LARGE, 100, random.Random(9), scale=0.02, extra_ttft_s=3)
        assert scaled.ttft_s == pytest.approx(full.ttft_s * 0.02 + 3)
        assert scaled.per_token_s == pytest.approx(full.per_token_s * 0.02)
        assert plan_timing(LARGE, 100, random.Random(9), scale=0).total_s(500) == 0

    def test_longer_prompt_slower_first_token(self) -> None:
        assert plan_timing(LARGE, 20_000, random.Random(1)).ttft_s > plan_timing(LARGE, 10, random.Random(1)).ttft_s


class TestRequestKey:
    """Streaming or not, the same request maps to the same answer."""

    def test_stream_flags_ignored(self) -> None:
        body = {"model": "sim-large", "messages": [{"role": "user", "content": "x"}]}
        assert request_key(body) == request_key({**body, "stream": True, "stream_options": {"include_usage": True}})
        assert request_key(body) != request_key({**body, "model": "sim-small"})


class TestGeneralKnowledge:
    """A system prompt asking for general knowledge gets a generic answer on the question's topic, not the context."""

    @pytest.mark.parametrize("seed", range(3))
    def test_names_the_topic_and_ignores_the_context(self, seed: int) -> None:
        messages = _ask("How does Loki store log lines in compressed chunks?", "Answer from your general knowledge.\n" + CONTEXT)
        answer = generate(messages, LARGE, random.Random(seed)).text
        assert answer is not None and "loki" in answer.lower()
        assert _overlap(answer, CONTEXT) < 0.3
        assert "[loki-2]" not in answer

    def test_without_the_instruction_the_context_is_used(self) -> None:
        answer = generate(_ask("How does Loki store log lines in compressed chunks?"), LARGE, random.Random(0)).text
        assert answer is not None and "[loki-2]" in answer
