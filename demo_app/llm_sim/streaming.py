"""Streaming answers: the SSE chunks of a chat completion, paced by the latency plan."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from demo_app.llm_sim.generation import Completion, Timing
from demo_app.llm_sim.responses import usage
from demo_app.llm_sim.tokens import split_pieces

__all__ = ["sse_chunks"]


async def sse_chunks(cid: str, model: str, c: Completion, timing: Timing, include_usage: bool) -> AsyncIterator[str]:
    """SSE chunks paced by the latency plan: first chunk after the TTFT, then token by token."""
    created = int(time.time())
    loop = asyncio.get_running_loop()
    start = loop.time()

    head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "system_fingerprint": "fp_llmsim"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body: dict[str, Any] = {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None  # as OpenAI does: only the extra last chunk carries usage
        return f"data: {json.dumps(body)}\n\n"

    async def wait_until(offset_s: float) -> None:
        delay = start + offset_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    await wait_until(timing.ttft_s)
    if c.tool_call is not None:
        call = c.tool_call
        opening = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield chunk({"role": "assistant", "content": None, "tool_calls": [opening]})
        pieces = [call.arguments[i : i + 8] for i in range(0, len(call.arguments), 8)]
        delta_key = "tool_calls"
    else:
        yield chunk({"role": "assistant", "content": ""})
        pieces = split_pieces(c.text or "")
        delta_key = "content"
    sent = 0
    for piece in pieces:
        sent += len(piece)
        # Due time proportional to the characters sent so far: tokens arrive at the model's pace.
        await wait_until(timing.ttft_s + timing.per_token_s * c.completion_tokens * sent / max(1, sum(map(len, pieces))))
        if delta_key == "content":
            yield chunk({"content": piece})
        else:
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    yield chunk({}, c.finish_reason)
    if include_usage:
        yield f"data: {json.dumps({**head, 'choices': [], 'usage': usage(c)})}\n\n"
    yield "data: [DONE]\n\n"
