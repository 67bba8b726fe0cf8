"""The agents' tools: search_documents (BM25), calculator (safe arithmetic), word_count.

Each tool takes the JSON arguments the model wrote and returns text for the model; a bad
argument raises ToolError, which the agent reports back to the model as the tool's output
(and as outcome="error" in telemetry) instead of failing the whole run.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from demo_app.app.rag import Hit
from demo_app.app.retrieval import InstrumentedRetriever

__all__ = ["ToolError", "Tool", "TOOL_SPECS", "build_tools", "calculate", "format_hits", "word_count"]

_MAX_EXPRESSION_CHARS = 200
_MAX_EXPONENT = 64
_MAX_MAGNITUDE = 1e100
_SNIPPET_CHARS = 300


class ToolError(ValueError):
    """The tool could not run with these arguments; the message is shown to the model."""


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _evaluate(node: ast.AST) -> float:
    """Walk the parsed expression, allowing numbers and arithmetic operators only (no eval)."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    # bool is an int subclass: True/False are refused like any other name.
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        # Exponents are where "arithmetic" turns into a denial of service (9**9**9).
        if isinstance(node.op, ast.Pow) and (abs(right) > _MAX_EXPONENT or abs(left) > _MAX_MAGNITUDE):
            raise ToolError("exponent too large")
        try:
            result = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        if isinstance(result, complex) or (isinstance(result, (int, float)) and abs(result) > _MAX_MAGNITUDE):
            raise ToolError("result out of range")
        return result
    raise ToolError(f"unsupported element {type(node).__name__}: only numbers and + - * / // % ** ( )")


def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression such as "(120 - 20) * 0.15"; the result as text."""
    # The typographic signs people paste from documents are accepted on purpose.
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("^", "**")  # noqa: RUF001
    if not text or len(text) > _MAX_EXPRESSION_CHARS:
        raise ToolError(f"expression must be 1..{_MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolError(f"not an arithmetic expression: {text[:60]!r}") from None
    value = _evaluate(tree)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolError("result is not a finite number")
        value = round(value, 10)
        if value.is_integer():
            value = int(value)
    return str(value)


_WORD_RE = re.compile(r"\b\w[\w'-]*\b")


def word_count(text: str) -> str:
    """Number of words in `text`, as text."""
    return str(len(_WORD_RE.findall(text)))


def _function(name: str, description: str, param: str, param_description: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {param: {"type": "string", "description": param_description}},
                "required": [param],
                "additionalProperties": False,
            },
        },
    }


TOOL_SPECS: dict[str, dict[str, Any]] = {
    "search_documents": _function(
        "search_documents", "Search the Nimbus help center and return the best matching articles.", "query", "What to look for."
    ),
    "calculator": _function(
        "calculator", "Evaluate an arithmetic expression with + - * / // % ** and parentheses.", "expression", "E.g. (18 - 15) * 12."
    ),
    "word_count": _function("word_count", "Count the words of a text.", "text", "The text to count."),
}


@dataclass(frozen=True)
class Tool:
    """A callable tool with its single string parameter."""

    name: str
    param: str
    run: Callable[[str], str]

    def argument(self, arguments: str) -> str:
        """The tool's one argument from the model's JSON arguments; ToolError if absent or not JSON."""
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            raise ToolError("arguments are not valid JSON") from None
        value = args.get(self.param) if isinstance(args, dict) else None
        if not isinstance(value, str):
            raise ToolError(f"missing string argument {self.param!r}")
        return value

    def call(self, arguments: str) -> str:
        """Parse the model's JSON arguments and run; ToolError on any problem."""
        return self.run(self.argument(arguments))


def format_hits(hits: Sequence[Hit]) -> str:
    """search_documents' answer: one line per hit (id, title, the start of its text)."""
    if not hits:
        return "No matching documents."
    return "\n".join(f"[{h.doc_id}] {h.title}: {h.text[:_SNIPPET_CHARS]}" for h in hits)


def build_tools(retriever: InstrumentedRetriever) -> dict[str, Tool]:
    """The three tools, keyed by name (search goes through the instrumented retriever)."""

    def search_documents(query: str) -> str:
        return format_hits(retriever.search(query, feature="agent"))

    return {
        "search_documents": Tool("search_documents", "query", search_documents),
        "calculator": Tool("calculator", "expression", calculate),
        "word_count": Tool("word_count", "text", word_count),
    }
