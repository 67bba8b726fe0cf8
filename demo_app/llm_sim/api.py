"""HTTP API of the simulator: OpenAI chat completions and models, fault injection, health.

The chat endpoint decides everything before the first byte (model, faults, answer,
latency) and then only waits: an error, a 429 or a hang is an HTTP status, never a
broken stream, so the openai SDK raises the same exceptions it raises for a real
provider. Waiting uses asyncio.sleep, so slow answers cost no thread.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from opentelemetry import trace

from demo_app.llm_sim.config import SimSettings
from demo_app.llm_sim.faults import FAULT_KINDS, Effects, FaultRegistry, decide
from demo_app.llm_sim.generation import Completion, Timing, generate, make_rng, plan_timing, request_key
from demo_app.llm_sim.models import MODELS, get_model
from demo_app.llm_sim.schemas import ChatRequest, FaultIn, openai_error
from demo_app.llm_sim.tokens import split_pieces
from demo_app.telemetry import get_logger, set_attributes, setup_telemetry

__all__ = ["create_app"]

_STATUSES = ("ok", "error", "rate_limited", "timeout")
_CREATED = 1_700_000_000  # fixed "created" of the model list: the catalogue never changes
_ERRORS: dict[int, tuple[str, str]] = {
    500: ("The server had an error while processing your request. Sorry about that! (simulated)", "internal_error"),
    502: ("Bad gateway: the upstream model server did not answer properly. (simulated)", "bad_gateway"),
    503: ("The engine is currently overloaded, please try again later. (simulated)", "service_unavailable"),
}


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


def _error(status: int, message: str, type_: str, *, param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(openai_error(message, type_, param=param, code=code), status_code=status, headers=headers)


def _usage(c: Completion) -> dict[str, int]:
    return {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens, "total_tokens": c.prompt_tokens + c.completion_tokens}


def _completion_body(cid: str, model: str, c: Completion) -> dict[str, Any]:
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
        "usage": _usage(c),
    }


async def _stream(cid: str, model: str, c: Completion, timing: Timing, include_usage: bool) -> AsyncIterator[str]:
    """SSE chunks paced by the latency plan: first chunk after the TTFT, then token by token."""
    created = int(time.time())
    loop = asyncio.get_running_loop()
    start = loop.time()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_llmsim",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
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
        yield chunk({"role": "assistant", "content": None, "tool_calls": [{"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}]})
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
        yield f"data: {json.dumps({'id': cid, 'object': 'chat.completion.chunk', 'created': created, 'model': model, 'system_fingerprint': 'fp_llmsim', 'choices': [], 'usage': _usage(c)})}\n\n"
    yield "data: [DONE]\n\n"


def create_app(settings: SimSettings | None = None, registry: FaultRegistry | None = None) -> FastAPI:
    """The simulator's FastAPI app, instrumented (traces, request ids, GET /metrics)."""
    settings = settings or SimSettings()
    faults = registry or FaultRegistry()
    occurrences = _Occurrences()
    tel = setup_telemetry(service_name="llm-sim", component="llm_sim")
    log = get_logger()
    requests_total = tel.metric("llmsim_requests_total")
    for model in MODELS:  # every series exists from the start, so rate() sees the first error
        for status in _STATUSES:
            requests_total.labels(gen_ai_request_model=model, status=status)
    active = tel.metric("llmsim_active_faults")
    for kind in FAULT_KINDS:  # read at scrape time, so an expired fault never lingers in the gauge
        active.labels(kind=kind).set_function(lambda kind=kind: faults.count(kind))

    app = FastAPI(title="LLM simulator", version="1.0", description="OpenAI-compatible chat completions with fault injection.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith("/v1/"):
            return await request_validation_exception_handler(request, exc)
        # The OpenAI API answers a malformed body with 400 and its error shape.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        return _error(400, f"Invalid request: {'.'.join(loc) or 'body'}: {first.get('msg')}", "invalid_request_error", param=".".join(loc) or None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(name) for name in MODELS]}

    @app.get("/v1/models/{model}")
    async def retrieve_model(model: str) -> Response:
        if get_model(model) is None:
            return _unknown_model(model)
        return JSONResponse(_model_card(model))

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest) -> Response:
        span = trace.get_current_span()
        set_attributes(span, {"gen_ai.request.model": body.model})
        profile = get_model(body.model)
        if profile is None:
            log.info("chat completion refused", gen_ai_request_model="", error_type="model_not_found")
            return _unknown_model(body.model)
        raw = body.model_dump(mode="json", exclude_none=True)
        key = request_key(raw)
        answer_rng = make_rng(settings.llm_sim_seed, key)
        chance_rng = make_rng(settings.llm_sim_seed, key, f"#{occurrences.next(key)}")
        effects = decide(faults.matching(profile.name), chance_rng.random)
        if effects.kinds:
            set_attributes(span, {"llmsim.fault.kind": ",".join(effects.kinds)})
        completion = generate(
            raw["messages"],
            profile,
            answer_rng,
            tools=raw.get("tools"),
            tool_choice=raw.get("tool_choice"),
            max_tokens=body.token_limit,
            blowup=effects.blowup,
            quality_drop=effects.quality_drop,
        )
        if completion.prompt_tokens > profile.context_window:
            _record(profile.name, "error", effects, completion, body.stream, status_code=400)
            return _error(
                400,
                f"This model's maximum context length is {profile.context_window} tokens; your messages have {completion.prompt_tokens}.",
                "invalid_request_error",
                param="messages",
                code="context_length_exceeded",
            )
        _record(profile.name, effects.status, effects, completion, body.stream)
        if effects.terminal == "rate_limit":
            retry_after = str(max(0, math.ceil(effects.retry_after_s)))
            return _error(
                429,
                f"Rate limit reached for {profile.name} (simulated). Please try again in {retry_after}s.",
                "rate_limit_exceeded",
                code="rate_limit_exceeded",
                headers={"Retry-After": retry_after},
            )
        cid = "chatcmpl-" + "%032x" % chance_rng.getrandbits(128)
        if effects.terminal is not None:
            return await _fail(effects)
        timing = plan_timing(profile, completion.prompt_tokens, chance_rng, scale=settings.llm_sim_latency_scale, extra_ttft_s=effects.extra_latency_s)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _stream(cid, profile.name, completion, timing, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        await asyncio.sleep(timing.total_s(completion.completion_tokens))
        return JSONResponse(_completion_body(cid, profile.name, completion))

    async def _fail(effects: Effects) -> Response:
        # Error and timeout responses come after any fired latency: a slow, failing backend.
        await asyncio.sleep(effects.extra_latency_s)
        if effects.terminal == "timeout":
            await asyncio.sleep(effects.hang_s)
            return _error(504, "The server timed out while processing your request. (simulated)", "timeout", code="timeout")
        message, code = _ERRORS[effects.error_status]
        return _error(effects.error_status, message, "server_error", code=code)

    def _record(model: str, status: str, effects: Effects, c: Completion, stream: bool, status_code: int | None = None) -> None:
        requests_total.labels(gen_ai_request_model=model, status=status).inc()
        served = status == "ok" and status_code is None
        log.info(
            "chat completion",
            gen_ai_request_model=model,
            status=status,
            status_code=status_code or {"ok": 200, "rate_limited": 429, "timeout": 504}.get(status, effects.error_status),
            fault_kind=",".join(effects.kinds),
            input_tokens=c.prompt_tokens,
            output_tokens=c.completion_tokens if served else 0,
            finish_reason=c.finish_reason if served else "",
            stream=stream,
        )

    @app.post("/faults", status_code=201)
    async def add_fault(body: FaultIn) -> dict[str, Any]:
        fault = faults.add(body.kind, model=body.model, rate=body.rate, value=body.value, ttl_s=body.ttl_s)
        log.info("fault added", fault_kind=fault.kind, gen_ai_request_model=fault.model or "", fault_id=fault.id, rate=fault.rate, value=fault.value, ttl_s=fault.ttl_s)
        return fault.to_dict()

    @app.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"faults": [f.to_dict() for f in faults.active()]}

    @app.delete("/faults")
    async def clear_faults() -> dict[str, int]:
        count = faults.clear()
        log.info("faults cleared", count=count)
        return {"deleted": count}

    @app.delete("/faults/{fault_id}")
    async def delete_fault(fault_id: str) -> Response:
        if not faults.remove(fault_id):
            return JSONResponse({"detail": f"no active fault {fault_id!r}"}, status_code=404)
        log.info("fault removed", fault_id=fault_id)
        return JSONResponse({"deleted": 1})

    tel.instrument(app)
    return app


def _model_card(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "llm-sim"}


def _unknown_model(model: str) -> JSONResponse:
    return _error(
        404,
        f"The model `{model[:100]}` does not exist or you do not have access to it.",
        "invalid_request_error",
        param="model",
        code="model_not_found",
    )
