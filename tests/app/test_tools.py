"""Tools and LLM-client helpers in isolation: safe arithmetic, word counts, fallback chain, error types."""

from __future__ import annotations

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo_app.app.llm import error_type_of, fallback_chain
from demo_app.app.tools import Tool, ToolError, calculate, word_count
from demo_app.catalogue import BUNDLED_CATALOGUES, DEFAULT_MODELS_FILE, Catalogue, load_catalogue
from demo_app.contract import load_contract

ALLOWED_ERROR_TYPE = load_contract().labels["error_type"].allows


class TestCalculator:
    """Arithmetic only: numbers, + - * / // % ** and parentheses; everything else is refused."""

    @pytest.mark.parametrize(
        ("expression", "result"),
        [
            ("15 * 12", "180"), ("(18 - 15) * 12", "36"), ("7 / 2", "3.5"), ("2 ** 10", "1024"), ("-3 + 1", "-2"), ("10 % 4", "2"), ("0.1 + 0.2", "0.3"),
            ("3 × 4", "12"),  # noqa: RUF001 - the typographic multiplication sign is accepted on purpose
        ],
    )
    def test_evaluates(self, expression: str, result: str) -> None:
        assert calculate(expression) == result

    @pytest.mark.parametrize(
        "expression",
        [
            "__import__('os').system('true')", "open('/etc/passwd')", "x + 1", "9 ** 9 ** 9", "1 / 0", "[1, 2]", "'a' * 3", "True + 1", "", "1" * 300,
            "lambda: 1",
        ],
    )
    def test_refuses(self, expression: str) -> None:
        with pytest.raises(ToolError):
            calculate(expression)

    @given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6))
    def test_matches_python_on_integers(self, a: int, b: int) -> None:
        assert calculate(f"{a} + {b} * 2") == str(a + b * 2)


def test_word_count() -> None:
    assert word_count("The Business plan costs $15 per member, don't forget.") == "9"
    assert word_count("   ") == "0"


def test_tool_arguments_must_be_json_with_the_parameter() -> None:
    tool = Tool("word_count", "text", word_count)
    assert tool.call('{"text": "a b c"}') == "3"
    for bad in ("not json", "[]", '{"other": "x"}', '{"text": 3}'):
        with pytest.raises(ToolError):
            tool.call(bad)


def test_fallback_chain_follows_the_catalogue() -> None:
    sim = load_catalogue(DEFAULT_MODELS_FILE)
    assert fallback_chain(sim, "sim-large") == ["sim-large", "sim-medium", "sim-small"]
    assert fallback_chain(sim, "sim-medium") == ["sim-medium", "sim-small"]
    assert fallback_chain(sim, "sim-small") == ["sim-small"]
    assert fallback_chain(sim, "sim-large", enabled=False) == ["sim-large"]


def test_fallback_chain_with_tools_skips_models_that_take_none() -> None:
    ollama = load_catalogue(BUNDLED_CATALOGUES["ollama"])
    assert ollama.models["mistral"].tools is False
    chained = Catalogue.model_validate(
        {"models": {"a": {"provider": "ollama", "fallback": "b"}, "b": {"provider": "ollama", "fallback": "c", "tools": False},
                    "c": {"provider": "ollama"}}}
    )
    assert fallback_chain(chained, "a") == ["a", "b", "c"]
    assert fallback_chain(chained, "a", tools=True) == ["a", "c"]


def test_error_types_stay_inside_the_contract() -> None:
    request = httpx.Request("POST", "http://sim/v1/chat/completions")

    def status_error(cls, code: int) -> Exception:
        return cls("x", response=httpx.Response(code, request=request), body=None)

    cases = {
        "RateLimitError": status_error(openai.RateLimitError, 429),
        "InternalServerError": status_error(openai.InternalServerError, 503),
        "BadRequestError": status_error(openai.BadRequestError, 400),
        "NotFoundError": status_error(openai.NotFoundError, 404),
        "APIStatusError": status_error(openai.ConflictError, 409),  # not listed: its parent class
        "APITimeoutError": openai.APITimeoutError(request=request),
        "APIConnectionError": openai.APIConnectionError(request=request),
        "_OTHER": ValueError("x"),
    }
    for expected, exc in cases.items():
        assert error_type_of(exc, ALLOWED_ERROR_TYPE) == expected
