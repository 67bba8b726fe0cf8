"""Prompt caching: OpenAI-style prefix hits in 128-token steps over a minimum, per model, with a TTL, LRU bound and cache_bust."""

from __future__ import annotations

import httpx
import openai
import pytest

from demo_app.llm_sim.cache import BLOCK_TOKENS, PromptCache, prefix_blocks
from demo_app.llm_sim.faults import FaultRegistry, check_value, decide
from demo_app.llm_sim.tokens import count_prompt_tokens

# About 700 tokens of shared system prompt, then a question that differs per request.
SHARED = "You are the help assistant. Follow the house rules. " * 54


def _messages(question: str, shared: str = SHARED) -> list[dict[str, str]]:
    return [{"role": "system", "content": shared}, {"role": "user", "content": question}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _serve(cache: PromptCache, messages: list[dict[str, str]], model: str = "sim-small", **kw) -> int:
    return cache.serve(model, messages, None, count_prompt_tokens(messages), **kw)


class TestPrefixCache:
    """The pure cache (demo_app/llm_sim/cache.py) with a clock the test moves."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def cache(self, clock) -> PromptCache:
        return PromptCache(min_tokens=256, ttl_s=300, clock=clock)

    def test_first_request_misses_a_repeat_of_the_prefix_hits(self, cache):
        assert _serve(cache, _messages("How do I reset my password?")) == 0
        cached = _serve(cache, _messages("Which plans include SSO?"))
        prompt = count_prompt_tokens(_messages("Which plans include SSO?"))
        # The shared system prompt (~700 tokens) is served from cache, the new question is not.
        assert 512 <= cached < prompt

    def test_hits_come_in_128_token_steps_from_the_minimum(self, cache):
        _serve(cache, _messages("first"))
        for question in ("second", "a much longer third question about exports and imports of pages", "4"):
            cached = _serve(cache, _messages(question))
            assert cached >= 256 and cached % BLOCK_TOKENS == 0, cached

    def test_an_identical_prompt_hits_its_whole_length_in_whole_blocks(self, cache):
        messages = _messages("same question")
        _serve(cache, messages)
        prompt = count_prompt_tokens(messages)
        assert _serve(cache, messages) == len(prefix_blocks(messages)) * BLOCK_TOKENS <= prompt
        assert prompt - _serve(cache, messages) < 2 * BLOCK_TOKENS

    def test_a_prefix_shorter_than_the_minimum_is_never_cached(self, clock):
        cache = PromptCache(min_tokens=1024, clock=clock)
        _serve(cache, _messages("a"))
        assert _serve(cache, _messages("b")) == 0  # ~700 shared tokens < 1024, OpenAI's own minimum

    def test_a_prompt_that_differs_early_misses(self, cache):
        _serve(cache, _messages("q"))
        assert _serve(cache, _messages("q", shared="Changed. " + SHARED)) == 0

    def test_the_cache_is_per_model(self, cache):
        _serve(cache, _messages("q"), model="sim-small")
        assert _serve(cache, _messages("q2"), model="sim-large") == 0
        assert _serve(cache, _messages("q3"), model="sim-small") > 0

    def test_tools_are_part_of_the_prefix(self, cache):
        tools = [{"type": "function", "function": {"name": "t", "description": "x" * 2000, "parameters": {}}}]
        messages = _messages("q")
        prompt = count_prompt_tokens(messages, tools)
        cache.serve("sim-small", messages, tools, prompt)
        assert cache.serve("sim-small", messages, tools, prompt) > 0
        assert cache.serve("sim-small", messages, None, count_prompt_tokens(messages)) == 0

    def test_an_entry_expires_ttl_after_its_last_use(self, cache, clock):
        _serve(cache, _messages("q1"))
        clock.now += 299
        assert _serve(cache, _messages("q2")) > 0  # a hit refreshes the entry ...
        clock.now += 299
        assert _serve(cache, _messages("q3")) > 0
        clock.now += 301  # ... and one use more than the TTL ago is gone
        assert _serve(cache, _messages("q4")) == 0

    def test_memory_is_bounded_least_recently_used_first(self, clock):
        cache = PromptCache(min_tokens=256, max_blocks=10, clock=clock)
        for i in range(20):
            _serve(cache, _messages(f"q{i}", shared=f"{i} " + SHARED))
            assert len(cache) <= 10
        assert _serve(cache, _messages("x", shared="0 " + SHARED)) == 0  # the oldest prefix was evicted

    def test_bust_serves_no_hit_and_stores_nothing(self, cache):
        _serve(cache, _messages("q1"))
        assert _serve(cache, _messages("q2"), bust=True) == 0
        size = len(cache)
        _serve(cache, _messages("q3", shared="new prompt " + SHARED), bust=True)
        assert len(cache) == size

    def test_same_requests_same_hits(self, clock):
        questions = [f"question {i % 7}" for i in range(30)]
        runs = []
        for _ in range(2):
            cache = PromptCache(min_tokens=256, clock=clock)
            runs.append([_serve(cache, _messages(q)) for q in questions])
        assert runs[0] == runs[1] and any(runs[0])

    def test_the_minimum_must_be_whole_blocks(self):
        with pytest.raises(ValueError, match="multiple of 128"):
            PromptCache(min_tokens=200)


class TestCacheBustFault:
    """cache_bust is a fault kind without a value that fires like the others."""

    def test_takes_no_value(self):
        assert check_value("cache_bust", None) is None
        with pytest.raises(ValueError, match="takes no value"):
            check_value("cache_bust", 1.0)

    def test_fires_and_is_not_terminal(self):
        registry = FaultRegistry()
        registry.add("cache_bust")
        effects = decide(registry.active(), lambda: 0.0)
        assert effects.cache_bust and effects.terminal is None and effects.kinds == ("cache_bust",)


class TestOverTheApi:
    """usage.prompt_tokens_details.cached_tokens, plain and streamed, through the official SDK."""

    @pytest.fixture
    def model(self) -> str:
        return "sim-medium"

    def test_plain_and_streamed_usage_report_cached_tokens(self, client: openai.OpenAI, model) -> None:
        first = client.chat.completions.create(model=model, messages=_messages("plain one, unique to this test"))
        assert first.usage.prompt_tokens_details is not None
        second = client.chat.completions.create(model=model, messages=_messages("plain two, unique to this test"))
        assert second.usage.prompt_tokens_details.cached_tokens >= 512
        stream = client.chat.completions.create(
            model=model, messages=_messages("streamed, unique to this test"), stream=True, stream_options={"include_usage": True}
        )
        usage = [c.usage for c in stream if c.usage is not None]
        assert len(usage) == 1 and usage[0].prompt_tokens_details.cached_tokens >= 512
        assert usage[0].prompt_tokens_details.cached_tokens % 128 == 0

    def test_cache_bust_fault_stops_hits_while_active(self, client: openai.OpenAI, sim, add_fault, model) -> None:
        client.chat.completions.create(model=model, messages=_messages("warm up the bust test"))
        fault = add_fault(kind="cache_bust", ttl_s=60)
        busted = client.chat.completions.create(model=model, messages=_messages("during the bust"))
        assert busted.usage.prompt_tokens_details.cached_tokens == 0
        httpx.delete(f"{sim.url}/faults/{fault['id']}", timeout=5).raise_for_status()
        after = client.chat.completions.create(model=model, messages=_messages("after the bust"))
        assert after.usage.prompt_tokens_details.cached_tokens >= 512

    def test_the_active_faults_gauge_has_cache_bust(self, sim, add_fault) -> None:
        add_fault(kind="cache_bust", ttl_s=60)
        metrics = httpx.get(f"{sim.url}/metrics", timeout=5).text
        assert 'llmsim_active_faults{kind="cache_bust"} 1.0' in metrics
