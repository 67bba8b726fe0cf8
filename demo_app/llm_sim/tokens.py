"""Token counting heuristic: about 4 characters per token, nothing downloaded.

Real tokenizers (tiktoken) fetch their vocabularies at run time; the simulator only needs
counts that grow with text length the way real ones do, so usage, cost and token
histograms behave realistically.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "count_tokens",
    "truncate_to_tokens",
    "split_pieces",
    "count_prompt_tokens",
    "message_text",
]

CHARS_PER_TOKEN = 4
# OpenAI's published accounting for chat prompts: each message costs a few framing
# tokens on top of its content, and the reply is primed with a few more.
_TOKENS_PER_MESSAGE = 3
_TOKENS_REPLY_PRIMING = 3

_PIECE = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    """Tokens in `text`: ceil(characters / 4); 0 for the empty string."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def split_pieces(text: str) -> list[str]:
    """Split text into word-sized pieces (leading whitespace kept) that join back to `text`.

    The streaming endpoint sends one piece per chunk, as real providers send one or a
    few tokens per chunk.
    """
    pieces = _PIECE.findall(text)
    tail = text[sum(len(p) for p in pieces) :]
    if tail:  # trailing whitespace, kept so "".join(pieces) == text
        pieces.append(tail)
    return pieces


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` made of whole pieces that fits in `max_tokens` tokens.

    Cutting at piece boundaries keeps the output readable; a single piece longer than
    the budget is cut by characters so the budget is never exceeded.
    """
    if count_tokens(text) <= max_tokens:
        return text
    out = ""
    for piece in split_pieces(text):
        if count_tokens(out + piece) > max_tokens:
            break
        out += piece
    if not out:
        out = text[: max_tokens * CHARS_PER_TOKEN]
    return out


def message_text(content: Any) -> str:
    """Text of a message `content`: a string, a list of content parts, or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def count_prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None) -> int:
    """Prompt tokens of a chat request: every message's content and tool calls, plus tool schemas.

    Tool schemas are counted as their compact JSON, which is close to what providers bill.
    """
    total = _TOKENS_REPLY_PRIMING
    for message in messages:
        total += _TOKENS_PER_MESSAGE + count_tokens(str(message.get("role", "")))
        total += count_tokens(message_text(message.get("content")))
        if message.get("name"):
            total += 1 + count_tokens(str(message["name"]))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            total += count_tokens(str(function.get("name", ""))) + count_tokens(str(function.get("arguments", "")))
    if tools:
        total += count_tokens(json.dumps(list(tools), separators=(",", ":"), sort_keys=True))
    return total
