"""OpenAI-shaped bodies: errors, completions, model cards (pure functions, no state)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.responses import JSONResponse

from demo_app.llm_sim.generation import Completion
from demo_app.llm_sim.schemas import openai_error

__all__ = ["ERRORS", "error", "usage", "completion_body", "model_card", "unknown_model", "context_too_long", "rate_limited"]

_CREATED = 1_700_000_000  # fixed "created" of the model list: the catalogue never changes
ERRORS: dict[int, tuple[str, str]] = {
    500: ("The server had an error while processing your request. Sorry about that! (simulated)", "internal_error"),
    502: ("Bad gateway: the upstream model server did not answer properly. (simulated)", "bad_gateway"),
    503: ("The engine is currently overloaded, please try again later. (simulated)", "service_unavailable"),
}


def error(status: int, message: str, type_: str, *, param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(openai_error(message, type_, param=param, code=code), status_code=status, headers=headers)


def usage(c: Completion) -> dict[str, Any]:
    # prompt_tokens_details is always there, as OpenAI sends it (cached_tokens 0 on a miss).
    return {
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": c.cached_tokens, "audio_tokens": 0},
    }


def completion_body(cid: str, model: str, c: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.text, "refusal": None}
    if c.tool_call is not None:
        message["tool_calls"] = [c.tool_call.to_dict()]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_llmsim",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": c.finish_reason}],
        "usage": usage(c),
    }


def model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "llm-sim"}


def unknown_model(model: str) -> JSONResponse:
    return error(
        404,
        f"The model `{model[:100]}` does not exist or you do not have access to it.",
        "invalid_request_error",
        param="model",
        code="model_not_found",
    )


def context_too_long(context_window: int, prompt_tokens: int) -> JSONResponse:
    return error(
        400,
        f"This model's maximum context length is {context_window} tokens; your messages have {prompt_tokens}.",
        "invalid_request_error",
        param="messages",
        code="context_length_exceeded",
    )


def rate_limited(model: str, retry_after: str) -> JSONResponse:
    return error(
        429,
        f"Rate limit reached for {model} (simulated). Please try again in {retry_after}s.",
        "rate_limit_exceeded",
        code="rate_limit_exceeded",
        headers={"Retry-After": retry_after},
    )
