"""Unit tests of the token heuristic (demo_app/llm_sim/tokens.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from demo_app.llm_sim.tokens import count_prompt_tokens, count_tokens, message_text, split_pieces, truncate_to_tokens


class TestCountTokens:
    """About four characters make a token, rounded up; nothing is downloaded."""

    def test_grows_with_length(self) -> None:
        assert count_tokens("") == 0
        assert count_tokens("abc") == 1
        assert count_tokens("abcd") == 1
        assert count_tokens("abcde") == 2
        assert count_tokens("x" * 400) == 100

    @given(st.text(max_size=300))
    def test_within_one_of_chars_over_four(self, text: str) -> None:
        assert 0 <= count_tokens(text) - len(text) / 4 < 1


class TestPieces:
    """Streaming pieces are word-sized and join back to the text."""

    @given(st.text(max_size=200))
    def test_pieces_rejoin(self, text: str) -> None:
        assert "".join(split_pieces(text)) == text

    def test_one_word_per_piece(self) -> None:
        assert split_pieces("Loki stores logs.") == ["Loki", " stores", " logs."]


class TestTruncate:
    """Truncation keeps whole words and never exceeds the budget."""

    @given(st.text(max_size=300), st.integers(min_value=1, max_value=80))
    def test_budget_respected(self, text: str, budget: int) -> None:
        cut = truncate_to_tokens(text, budget)
        assert text.startswith(cut)
        assert count_tokens(cut) <= budget

    def test_cuts_at_word_boundary(self) -> None:
        assert truncate_to_tokens("alpha beta gamma delta", 3) == "alpha beta"

    def test_short_text_unchanged(self) -> None:
        assert truncate_to_tokens("short", 10) == "short"


class TestPromptTokens:
    """Prompt tokens cover every message, tool calls and tool schemas."""

    def test_more_messages_more_tokens(self) -> None:
        one = [{"role": "user", "content": "What does Loki store?"}]
        two = [*one, {"role": "assistant", "content": "Logs."}, {"role": "user", "content": "And Tempo?"}]
        assert count_prompt_tokens(two) > count_prompt_tokens(one) > count_tokens("What does Loki store?")

    def test_tools_counted_as_json(self) -> None:
        messages = [{"role": "user", "content": "hi"}]
        tools = [{"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}}]
        extra = count_prompt_tokens(messages, tools) - count_prompt_tokens(messages)
        assert extra == count_tokens(json.dumps(tools, separators=(",", ":"), sort_keys=True))

    def test_tool_call_arguments_counted(self) -> None:
        plain = [{"role": "assistant", "content": None}]
        call = {"id": "call_1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1 + 2"}'}}
        called = [{"role": "assistant", "content": None, "tool_calls": [call]}]
        assert count_prompt_tokens(called) > count_prompt_tokens(plain)

    def test_content_parts_are_text(self) -> None:
        assert message_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "a\nb"
        assert message_text(None) == ""
