"""POST /v1/chat/completions: decide everything before the first byte, then only wait.

Model, faults, answer, prompt-cache hit and latency are all decided up front; an error, a
429 or a hang is an HTTP status, never a broken stream, so the openai SDK raises the same
exceptions it raises for a real provider. Only answered requests use the prompt cache (a
refused or failed one never reached the model). Waiting uses asyncio.sleep, so slow answers cost no thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from opentelemetry import trace

from demo_app.llm_sim.cache import PromptCache
from demo_app.llm_sim.config import SimSettings
from demo_app.llm_sim.faults import Effects, FaultRegistry, decide
from demo_app.llm_sim.generation import Completion, generate, make_rng, plan_timing, request_key
from demo_app.llm_sim.models import MODELS, ModelProfile, get_model
from demo_app.llm_sim.responses import ERRORS, completion_body, context_too_long, error, rate_limited, unknown_model
from demo_app.llm_sim.schemas import ChatRequest
from demo_app.llm_sim.streaming import sse_chunks
from demo_app.telemetry import Telemetry, get_logger, set_attributes
from demo_app.telemetry.asgi import note_request_error

__all__ = ["ChatCompletions", "chat_router"]

_STATUSES = ("ok", "error", "rate_limited", "timeout")


class _Occurrences:
    """How many times each request digest was seen (bounded LRU).

    Identical requests (a retry, a repeated question) must not all share one fault
    decision, or rate=0.5 would fail the same questions every time and no retry could
    succeed; salting the chance RNG with the occurrence number keeps them independent
    and still reproducible for a given seed and request sequence.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._limit = limit

    def next(self, key: str) -> int:
        count = self._seen.pop(key, 0)
        self._seen[key] = count + 1
        if len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        return count


class ChatCompletions:
    """The chat endpoint's logic: faults decided per request, the answer generated, then paced."""

    def __init__(self, settings: SimSettings, faults: FaultRegistry, tel: Telemetry) -> None:
        self._settings, self._faults = settings, faults
        self._occurrences = _Occurrences()
        self._cache = PromptCache(
            min_tokens=settings.llm_sim_cache_min_tokens, ttl_s=settings.llm_sim_cache_ttl_s, max_blocks=settings.llm_sim_cache_max_blocks
        )
        self._log = get_logger()
        self._requests_total = tel.metric("llmsim_requests_total")
        for model in MODELS:  # every series exists from the start, so rate() sees the first error
            for status in _STATUSES:
                self._requests_total.labels(gen_ai_request_model=model, status=status)

    async def handle(self, body: ChatRequest) -> Response:
        span = trace.get_current_span()
        set_attributes(span, {"gen_ai.request.model": body.model})
        profile = get_model(body.model)
        if profile is None:
            self._log.info("chat completion refused", gen_ai_request_model="", error_type="model_not_found")
            return unknown_model(body.model)
        raw = body.model_dump(mode="json", exclude_none=True)
        key = request_key(raw)
        seed = self._settings.llm_sim_seed
        answer_rng = make_rng(seed, key)
        chance_rng = make_rng(seed, key, f"#{self._occurrences.next(key)}")
        effects = decide(self._faults.matching(profile.name), chance_rng.random)
        if effects.kinds:
            set_attributes(span, {"llmsim.fault.kind": ",".join(effects.kinds)})
        completion = self._generate(raw, body, profile, answer_rng, effects)
        if completion.prompt_tokens > profile.context_window:
            self._record(profile.name, "error", effects, completion, body.stream, status_code=400)
            return context_too_long(profile.context_window, completion.prompt_tokens)
        if effects.terminal is None:
            cached = self._cache.serve(profile.name, raw["messages"], raw.get("tools"), completion.prompt_tokens, bust=effects.cache_bust)
            completion = dataclasses.replace(completion, cached_tokens=cached)
        self._record(profile.name, effects.status, effects, completion, body.stream)
        if effects.terminal == "rate_limit":
            return rate_limited(profile.name, str(max(0, math.ceil(effects.retry_after_s))))
        cid = f"chatcmpl-{chance_rng.getrandbits(128):032x}"
        if effects.terminal is not None:
            return await _fail(effects)
        prefill = completion.prompt_tokens - completion.cached_tokens  # a cached prefix is not computed again
        timing = plan_timing(profile, prefill, chance_rng, scale=self._settings.llm_sim_latency_scale, extra_ttft_s=effects.extra_latency_s)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                sse_chunks(cid, profile.name, completion, timing, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        await asyncio.sleep(timing.total_s(completion.completion_tokens))
        return JSONResponse(completion_body(cid, profile.name, completion))

    @staticmethod
    def _generate(raw: dict[str, Any], body: ChatRequest, profile: ModelProfile, rng: random.Random, effects: Effects) -> Completion:
        return generate(
            raw["messages"],
            profile,
            rng,
            tools=raw.get("tools"),
            tool_choice=raw.get("tool_choice"),
            max_tokens=body.token_limit,
            blowup=effects.blowup,
            quality_drop=effects.quality_drop,
        )

    def _record(self, model: str, status: str, effects: Effects, c: Completion, stream: bool, status_code: int | None = None) -> None:
        self._requests_total.labels(gen_ai_request_model=model, status=status).inc()
        served = status == "ok" and status_code is None
        self._log.info(
            "chat completion",
            gen_ai_request_model=model,
            status=status,
            status_code=status_code or {"ok": 200, "rate_limited": 429, "timeout": 504}.get(status, effects.error_status),
            fault_kind=",".join(effects.kinds),
            input_tokens=c.prompt_tokens,
            cached_input_tokens=c.cached_tokens,
            output_tokens=c.completion_tokens if served else 0,
            finish_reason=c.finish_reason if served else "",
            stream=stream,
        )


async def _fail(effects: Effects) -> Response:
    # Error and timeout responses come after any fired latency: a slow, failing backend.
    await asyncio.sleep(effects.extra_latency_s)
    if effects.terminal == "timeout":
        await asyncio.sleep(effects.hang_s)
        return error(504, "The server timed out while processing your request. (simulated)", "timeout", code="timeout")
    message, code = ERRORS[effects.error_status]
    return error(effects.error_status, message, "server_error", code=code)


def chat_router(settings: SimSettings, faults: FaultRegistry, tel: Telemetry) -> APIRouter:
    chat = ChatCompletions(settings, faults, tel)
    router = APIRouter()

    @router.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request) -> Response:
        response = await chat.handle(body)
        if response.status_code >= 500:
            # Only an injected fault answers 5xx here (a bug raises instead): the simulator did
            # what it was told, so its request line is a WARNING, not an ERROR of its own.
            note_request_error(request, error_type=str(response.status_code), level="warning")
        return response

    return router
