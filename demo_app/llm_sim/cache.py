"""Automatic prompt (prefix) caching, reported the way OpenAI reports it.

OpenAI caches the longest prefix of a prompt it has seen recently, per model and
organisation, and reports the hit in `usage.prompt_tokens_details.cached_tokens`: 0, or a
number of tokens that starts at a minimum prefix length (1,024 tokens at OpenAI) and grows in
128-token increments; entries live a few minutes after their last use (5-10 minutes at
OpenAI). The simulator does the same, with one deliberate deviation: its minimum is
LLM_SIM_CACHE_MIN_TOKENS (default 256, not 1,024), because the demo's RAG prompts are about
900 tokens long and would otherwise never be cached.

How: the prompt is written out as one canonical text (the tools' JSON first, then every
message: role, name, content, tool calls, tool call id, which is the order OpenAI's prefix
follows) and cut into blocks of 128 tokens (512 characters at the simulator's 4 characters
per token). Each block's key is a hash chained over all blocks before it, so a hit on block n
means the whole prefix up to n is identical (the same scheme as vLLM's prefix cache). A
request is served the run of leading blocks still in the cache for its model, then all its
blocks are stored (or refreshed). Memory is bounded: at most `max_blocks` keys, least
recently used evicted first, and an entry older than `ttl_s` since its last use is a miss.

No randomness: for a given sequence of requests (and clock), hits are always the same, so
a run is reproducible with the seed like everything else in the simulator.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from threading import Lock
from typing import Any

from demo_app.llm_sim.tokens import CHARS_PER_TOKEN, message_text

__all__ = ["BLOCK_TOKENS", "PromptCache", "prefix_blocks"]

BLOCK_TOKENS = 128  # OpenAI's increment
_BLOCK_CHARS = BLOCK_TOKENS * CHARS_PER_TOKEN


def _canonical(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None) -> str:
    parts = [json.dumps(list(tools), separators=(",", ":"), sort_keys=True)] if tools else []
    for message in messages:
        calls = message.get("tool_calls")
        parts.append(
            "\x1e".join(
                (
                    str(message.get("role", "")),
                    str(message.get("name") or ""),
                    message_text(message.get("content")),
                    json.dumps(calls, separators=(",", ":"), sort_keys=True) if calls else "",
                    str(message.get("tool_call_id") or ""),
                )
            )
        )
    return "\x1d".join(parts)


def prefix_blocks(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None) -> list[str]:
    """Chained keys of the prompt's full 128-token blocks (a partial last block is never cached)."""
    text = _canonical(messages, tools)
    keys: list[str] = []
    previous = b""
    for start in range(0, len(text) - _BLOCK_CHARS + 1, _BLOCK_CHARS):
        previous = hashlib.sha256(previous + text[start : start + _BLOCK_CHARS].encode("utf-8", "surrogatepass")).digest()
        keys.append(previous.hex())
    return keys


class PromptCache:
    """Per-model prefix cache with LRU eviction and a TTL since last use; thread-safe."""

    def __init__(
        self, *, min_tokens: int = 256, ttl_s: float = 300.0, max_blocks: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if min_tokens < BLOCK_TOKENS or min_tokens % BLOCK_TOKENS:
            raise ValueError(f"min_tokens must be a positive multiple of {BLOCK_TOKENS}, got {min_tokens}")
        self.min_tokens, self.ttl_s, self.max_blocks = min_tokens, ttl_s, max_blocks
        self._clock = clock
        self._last_used: OrderedDict[tuple[str, str], float] = OrderedDict()  # oldest use first
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._last_used)

    def serve(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None,
        prompt_tokens: int,
        *,
        bust: bool = False,
    ) -> int:
        """Cached tokens of this prompt (0, or min_tokens + k * 128, never above `prompt_tokens`),
        then remember its prefix. With `bust` (the cache_bust fault: the shared prefix changed)
        nothing hits and nothing is stored."""
        if bust or prompt_tokens < self.min_tokens:
            return 0
        keys = prefix_blocks(messages, tools)[: prompt_tokens // BLOCK_TOKENS]
        now = self._clock()
        with self._lock:
            hit = 0
            for key in keys:
                used = self._last_used.get((model, key))
                if used is None or now - used > self.ttl_s:
                    break
                hit += 1
            for key in keys:
                self._last_used[(model, key)] = now
                self._last_used.move_to_end((model, key))
            while len(self._last_used) > self.max_blocks:
                self._last_used.popitem(last=False)
        cached = hit * BLOCK_TOKENS
        return cached if cached >= self.min_tokens else 0
