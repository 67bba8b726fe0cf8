"""Tool calling: which offered tool to call next, and its arguments from the JSON schema.

The simulated model calls every offered function tool once per conversation, in the
order given, one call per turn, then answers in text. A tool counts as called once an
assistant message in the conversation carries a tool call with its name. A tool whose
required parameters cannot be filled from the user's text is skipped.

Argument filling, per property of the tool's `parameters` schema:
  `expression`       -> the first arithmetic expression in the user text (none: unfillable)
  enum               -> the first enum value mentioned in the text, else the first value
  string             -> the latest user message, trimmed to about 200 characters
  integer / number   -> the schema default, else the first number in the text
  boolean            -> the schema default, else false
  anything else      -> the schema default, else unfillable
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from demo_app.llm_sim.tokens import message_text

__all__ = ["ToolCall", "next_tool_call", "fill_arguments", "find_expression", "latest_user_text", "called_tools"]

_MAX_STRING_CHARS = 200
_MISSING = object()
_EXPR_RUN = re.compile(r"[0-9.()+\-*/%^\s]+")
_HAS_OPERATION = re.compile(r"\d\s*\)*\s*(\*\*|[-+*/%^])\s*\(*\s*-?\d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the OpenAI API carries it

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


def latest_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Content of the last user message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content")).strip()
    return ""


def called_tools(messages: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of the tools some assistant message of the conversation has called."""
    names: set[str] = set()
    for message in messages:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                name = (call.get("function") or {}).get("name")
                if name:
                    names.add(name)
    return names


def find_expression(text: str) -> str | None:
    """The first arithmetic expression in `text` ("12 * (3 + 4)"), or None."""
    for match in _EXPR_RUN.finditer(text):
        candidate = _trim_expression(match.group())
        if candidate and _HAS_OPERATION.search(candidate):
            return candidate
    return None


def _trim_expression(run: str) -> str:
    expr = run.strip().rstrip(".")
    # A run may start or end with stray punctuation from the sentence around it.
    expr = expr.lstrip("+*/%^)").rstrip("+-*/%^(").strip()
    while expr.count("(") > expr.count(")") and expr.startswith("("):
        expr = expr[1:].strip()
    while expr.count(")") > expr.count("(") and expr.endswith(")"):
        expr = expr[:-1].strip()
    return expr


def _trim_text(text: str) -> str:
    if len(text) <= _MAX_STRING_CHARS:
        return text
    cut = text[:_MAX_STRING_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def _fill(name: str, spec: Mapping[str, Any], text: str) -> Any:
    if name == "expression":
        return find_expression(text) or _MISSING
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        lowered = text.lower()
        for option in spec["enum"]:
            if re.search(rf"\b{re.escape(str(option).lower())}\b", lowered):
                return option
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "string":
        return _trim_text(text) if text else _MISSING
    if "default" in spec:
        return spec["default"]
    if kind in ("integer", "number"):
        match = _NUMBER.search(text)
        if not match:
            return _MISSING
        return int(float(match.group())) if kind == "integer" else float(match.group())
    if kind == "boolean":
        return False
    return _MISSING


def fill_arguments(parameters: Mapping[str, Any] | None, text: str) -> dict[str, Any] | None:
    """Arguments for a tool with JSON schema `parameters`, or None when a required one is unfillable."""
    parameters = parameters or {}
    required = set(parameters.get("required") or ())
    args: dict[str, Any] = {}
    for name, spec in (parameters.get("properties") or {}).items():
        value = _fill(name, spec if isinstance(spec, Mapping) else {}, text)
        if value is _MISSING:
            if name in required:
                return None
            continue
        args[name] = value
    return args


def _call_id(rng: random.Random) -> str:
    return "call_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=24))


def next_tool_call(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None,
    tool_choice: Any,
    rng: random.Random,
) -> ToolCall | None:
    """The tool call the model makes this turn, or None when it should answer in text.

    tool_choice "none" disables tools; "auto" (or absent) calls each tool once;
    "required" calls the first fillable tool again once all are done; a named choice
    ({"type": "function", "function": {"name": ...}}) calls that tool every turn.
    """
    if not tools or tool_choice == "none":
        return None
    functions = [t["function"] for t in tools if t.get("type", "function") == "function" and isinstance(t.get("function"), Mapping)]
    text = latest_user_text(messages)
    forced = tool_choice.get("function", {}).get("name") if isinstance(tool_choice, Mapping) else None
    if forced:
        functions = [f for f in functions if f.get("name") == forced]
    done = set() if forced else called_tools(messages)
    fillable = [(f, args) for f in functions if (args := fill_arguments(f.get("parameters"), text)) is not None]
    pending = [(f, args) for f, args in fillable if f.get("name") not in done]
    if not pending and tool_choice == "required":
        pending = fillable[:1]
    if not pending:
        return None
    function, args = pending[0]
    return ToolCall(_call_id(rng), str(function.get("name")), json.dumps(args))
