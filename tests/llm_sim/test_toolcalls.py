"""Unit tests of tool choice and argument filling (demo_app/llm_sim/toolcalls.py)."""

from __future__ import annotations

import json
import random

import pytest

from demo_app.llm_sim.toolcalls import fill_arguments, find_expression, next_tool_call


def _tool(name: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": properties, "required": required}}}


CALC = _tool("calculator", {"expression": {"type": "string"}}, ["expression"])
SEARCH = _tool("search_documents", {"query": {"type": "string"}, "top_k": {"type": "integer", "default": 3}}, ["query"])
COUNT = _tool("word_count", {"text": {"type": "string"}}, ["text"])
TOOLS = [SEARCH, CALC, COUNT]


def _call(messages: list[dict], tools=TOOLS, choice=None):
    return next_tool_call(messages, tools, choice, random.Random(0))


def _after(messages: list[dict], call, result: str = "ok") -> list[dict]:
    return [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [call.to_dict()]},
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]


class TestExpressions:
    """The first arithmetic expression in the user's text fills `expression`."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("What is 12 * (3 + 4)?", "12 * (3 + 4)"),
            ("compute 2^10 then 3+3", "2^10"),
            ("(7 - 2) / 5.5 please", "(7 - 2) / 5.5"),
            ("Is 3 bigger than 2?", None),
            ("no numbers here", None),
        ],
    )
    def test_find(self, text: str, expected: str | None) -> None:
        assert find_expression(text) == expected


class TestArguments:
    """Arguments come from the schema: enums, strings, defaults; required ones or nothing."""

    def test_enum_mentioned_else_first(self) -> None:
        schema = {"properties": {"unit": {"type": "string", "enum": ["words", "characters"]}}, "required": ["unit"]}
        assert fill_arguments(schema, "count the characters") == {"unit": "characters"}
        assert fill_arguments(schema, "count them") == {"unit": "words"}

    def test_string_is_trimmed_user_text(self) -> None:
        text = "word " * 100
        args = fill_arguments({"properties": {"task": {"type": "string"}}, "required": ["task"]}, text)
        assert len(args["task"]) <= 200 and text.startswith(args["task"])

    def test_defaults_and_numbers(self) -> None:
        schema = {"properties": {"top_k": {"type": "integer", "default": 3}, "limit": {"type": "integer"}, "exact": {"type": "boolean"}}, "required": ["limit"]}
        assert fill_arguments(schema, "show 5 results") == {"top_k": 3, "limit": 5, "exact": False}
        assert fill_arguments(schema, "show results") is None

    def test_unfillable_optional_left_out(self) -> None:
        schema = {"properties": {"expression": {"type": "string"}, "query": {"type": "string"}}, "required": ["query"]}
        assert fill_arguments(schema, "hello") == {"query": "hello"}


class TestToolLoop:
    """Each offered tool is called once, in order, one per turn, then the model answers in text."""

    def test_calls_each_tool_once_in_order(self) -> None:
        messages = [{"role": "user", "content": "Find docs about alerts and compute 6 * 7."}]
        names = []
        while (call := _call(messages)) is not None:
            names.append(call.name)
            assert call.id.startswith("call_")
            messages = _after(messages, call)
            assert len(names) <= 3
        assert names == ["search_documents", "calculator", "word_count"]
        assert json.loads(messages[3]["tool_calls"][0]["function"]["arguments"]) == {"expression": "6 * 7"}

    def test_skips_tool_without_expression(self) -> None:
        messages = [{"role": "user", "content": "Find docs about alerts."}]
        first = _call(messages)
        second = _call(_after(messages, first))
        assert (first.name, second.name) == ("search_documents", "word_count")

    def test_tool_choice_none(self) -> None:
        assert _call([{"role": "user", "content": "1 + 1"}], choice="none") is None

    def test_required_calls_again_when_all_done(self) -> None:
        messages = [{"role": "user", "content": "2 + 2"}]
        call = _call(messages, tools=[CALC])
        assert _call(_after(messages, call), tools=[CALC]) is None
        assert _call(_after(messages, call), tools=[CALC], choice="required").name == "calculator"

    def test_named_choice_forces_that_tool(self) -> None:
        choice = {"type": "function", "function": {"name": "word_count"}}
        assert _call([{"role": "user", "content": "count these words"}], choice=choice).name == "word_count"

    def test_no_tools_no_call(self) -> None:
        assert _call([{"role": "user", "content": "1 + 1"}], tools=None) is None
