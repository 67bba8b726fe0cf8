"""The LLM client: openai SDK calls with our own retries, fallback, GenAI spans and metrics.

Why not the SDK's retries: with `max_retries=0` every attempt is one `chat {model}` span and
one `gen_ai.client.operation.duration` observation, so a retry storm is visible as what it
is. Why not opentelemetry-instrumentation-openai-v2 (2.4b0): with the installed
opentelemetry-util-genai 1.3b0 it fails to import (`opentelemetry.util.genai.instruments`
is missing); it would also record metrics on the OTel meter (we export Prometheus from the
contract) and ship message content as log events outside our masking. So the spans follow
the GenAI semconv v1.41 by hand, below.

One call (`LLMClient.chat`) = attempts on the requested model (1 + LLM_MAX_RETRIES, with
exponential backoff and jitter, honouring a capped Retry-After), then the same on each
model of its fallback chain (the catalogue's `fallback:` links), until one succeeds or all
fail (`LLMError`). A 404 (the provider does not serve the model) is not retried but falls
back at once.

Only the documented core of the chat-completions API is relied on, so any OpenAI-compatible
server works: usage may be missing (no token observations then, cost 0), `model` may be
missing (the requested model is reported), Retry-After may be seconds, an HTTP date or
absent, error bodies may be anything. Label values stay bounded: the provider and model
labels are the catalogue's names, whatever string the provider answers with.

Prompt caching: the input tokens a provider served from its prompt cache (OpenAI's
`usage.prompt_tokens_details.cached_tokens`, streaming or not) go on the chat span as
`gen_ai.usage.cache_read.input_tokens`, into
`gen_ai_client_inference_usage_cache_read_input_tokens_total`, are priced at the catalogue's
`cached_input` price, and what that saved into `llmapp_cache_savings_usd_total`.
Every call's cost is also added to the request's `track_spend()` tally, if one is open.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam
from opentelemetry.trace import SpanKind, Status, StatusCode

from demo_app.app.conversations import CONVERSATION_ID
from demo_app.app.pricing import PriceTable
from demo_app.catalogue import Catalogue
from demo_app.config import AppSettings
from demo_app.prompts import Prompt
from demo_app.telemetry import Telemetry, get_logger, inject_trace_context, mask, set_attributes

__all__ = ["ChatResult", "LLMClient", "LLMError", "Spend", "ToolCall", "fallback_chain", "error_type_of", "track_spend"]

_log = get_logger()
_OPERATION = "chat"
_OTHER = "_OTHER"


@dataclass
class Spend:
    """What the LLM calls of one request cost, all of them (retries, fallbacks, agent turns)."""

    usd: float = 0.0
    calls: int = 0  # answered calls (failed attempts cost nothing: no usage, no bill)


_SPEND: ContextVar[Spend | None] = ContextVar("llmapp_request_spend", default=None)


@contextmanager
def track_spend() -> Iterator[Spend]:
    """Tally the cost of every LLM call made inside (in this task and the tasks it starts)."""
    spend = Spend()
    token = _SPEND.set(spend)
    try:
        yield spend
    finally:
        _SPEND.reset(token)


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for."""

    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass
class ChatResult:
    """One successful chat completion, with what it took to get it."""

    text: str
    tool_calls: list[ToolCall]
    model: str  # the model that answered (gen_ai.response.model)
    response_id: str
    finish_reason: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    retries: int = 0  # failed attempts before this answer, over all models
    fallback_used: bool = False
    cached_input_tokens: int = 0  # part of input_tokens served from the provider's prompt cache
    usage_reported: bool = True  # False: the provider sent no usage (token counts are 0, unknown)
    guardrail_blocked: bool = False  # text is ask.REFUSAL: an output guardrail blocked the model's answer


@dataclass
class LLMError(Exception):
    """Every attempt failed. `kind` decides the HTTP status the API answers with."""

    kind: str  # rate_limit | server_error | timeout | connection | not_found | bad_request
    error_type: str  # the openai exception class (contract error_type)
    message: str
    retry_after_s: float | None = None
    retries: int = 0
    models_tried: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def fallback_chain(catalogue: Catalogue, model: str, enabled: bool = True, *, tools: bool = False) -> list[str]:
    """`model`, then its catalogue fallbacks (sim-large -> sim-medium -> sim-small); with
    `tools`, models marked `tools: false` are skipped (they would refuse the call)."""
    if not enabled:
        return [model]
    chain = catalogue.fallback_chain(model)
    return [chain[0], *(m for m in chain[1:] if catalogue.models[m].tools or not tools)]


def error_type_of(exc: BaseException, allowed: Any) -> str:
    """The contract's error_type for an exception: its openai class name, else the closest allowed one."""
    name = type(exc).__name__
    if allowed(name):
        return name
    if isinstance(exc, openai.APIStatusError):
        return "APIStatusError"
    return "_OTHER"


def _retry_reason(exc: BaseException) -> str | None:
    """The contract `reason` when a failure is worth retrying, else None."""
    if isinstance(exc, openai.RateLimitError):
        return "rate_limit"
    if isinstance(exc, openai.APITimeoutError):  # subclass of APIConnectionError: check first
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 504:
            return "timeout"
        if exc.status_code >= 500:
            return "server_error"
    return None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait: `retry-after-ms` (OpenAI), `Retry-After` in
    seconds or as an HTTP date (RFC 9110); None when absent or unreadable."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class LLMClient:
    """Chat completions against one OpenAI-compatible base URL, fully instrumented."""

    def __init__(self, settings: AppSettings, tel: Telemetry, prices: PriceTable | None = None) -> None:
        self._settings = settings
        self._catalogue = settings.catalogue
        self._tel = tel
        self._prices = prices or PriceTable.from_catalogue(self._catalogue)
        self._warned: set[tuple[str, str]] = set()  # (kind, model) warnings already logged once
        self._tracer = tel.tracer("demo_app.app.llm")
        self._error_type_allowed = tel.contract.labels["error_type"].allows
        # max_retries=0: our loop retries, so each attempt is its own span and observation.
        # The SDK's own client defaults (limits, redirects) plus a hook that sends the chat
        # span's traceparent, so the provider's spans join our trace without an HTTP client span.
        self._client = openai.AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout_s,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [inject_trace_context]}),
        )
        self._duration = tel.metric("gen_ai_client_operation_duration_seconds")
        self._tokens = tel.metric("gen_ai_client_token_usage")
        self._ttfc = tel.metric("gen_ai_client_operation_time_to_first_chunk_seconds")
        self._cost = tel.metric("llmapp_cost_usd_total")
        self._feature_tokens = tel.metric("llmapp_tokens_total")
        self._cached = tel.metric("gen_ai_client_inference_usage_cache_read_input_tokens_total")
        self._savings = tel.metric("llmapp_cache_savings_usd_total")
        self._retries = tel.metric("llmapp_llm_retries_total")
        self._fallbacks = tel.metric("llmapp_llm_fallbacks_total")
        self._rate_limits = tel.metric("llmapp_rate_limit_events_total")
        self._unpriced = tel.metric("llmapp_unpriced_responses_total")

    async def close(self) -> None:
        await self._client.close()

    async def chat(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        model: str,
        feature: str,
        user_tier: str,
        team: str,
        tools: Sequence[dict[str, Any]] | None = None,
        stream: bool = False,
        prompt: Prompt | None = None,
    ) -> ChatResult:
        """Answer `messages`, retrying and falling back as configured; LLMError when all fail.

        `prompt` is the versioned template the system message was built from, if any: its name
        and version go on every attempt's chat span.

        `retries` on the result (and the error) counts every failed attempt before the last
        one, on any model: what the caller paid in extra calls.
        """
        failed = 0
        last: tuple[BaseException, str] | None = None
        chain = fallback_chain(self._catalogue, model, self._settings.llm_fallback_enabled, tools=bool(tools))
        for index, candidate in enumerate(chain):
            if index > 0:
                self._fallbacks.labels(gen_ai_request_model=chain[index - 1], fallback_model=candidate).inc()
                _log.warning("llm fallback", gen_ai_request_model=chain[index - 1], fallback_model=candidate)
            for attempt in range(self._settings.llm_max_retries + 1):
                try:
                    result = await self._attempt(messages, candidate, (feature, user_tier, team), tools, stream, attempt, prompt)
                except openai.OpenAIError as exc:
                    failed += 1
                    if isinstance(exc, openai.RateLimitError):
                        self._rate_limits.labels(source="provider", user_tier=user_tier).inc()
                    if isinstance(exc, openai.NotFoundError):  # the provider does not serve this model
                        last = (exc, "not_found")
                        break  # no retry: the next model of the chain, if any
                    reason = _retry_reason(exc)
                    if reason is None:  # a 4xx of ours: neither a retry nor another model helps
                        raise self._error("bad_request", exc, failed - 1, chain[: index + 1]) from exc
                    last = (exc, reason)
                    if attempt < self._settings.llm_max_retries:
                        self._retries.labels(gen_ai_request_model=candidate, reason=reason).inc()
                        await asyncio.sleep(self._backoff(attempt, _retry_after(exc)))
                    continue
                result.retries = failed
                result.fallback_used = index > 0
                return result
        assert last is not None  # the loops ran at least once and every attempt failed
        last_exc, reason = last
        raise self._error(reason, last_exc, failed - 1, chain) from last_exc

    def _warn_once(self, event: str, model: str) -> None:
        if (event, model) not in self._warned:
            self._warned.add((event, model))
            _log.warning(event, gen_ai_request_model=model)

    def _error(self, kind: str, exc: BaseException, retries: int, models: list[str]) -> LLMError:
        return LLMError(
            kind=kind,
            error_type=error_type_of(exc, self._error_type_allowed),
            message=mask(str(exc))[:300],
            retry_after_s=_retry_after(exc),
            retries=retries,
            models_tried=models,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before the next attempt: the provider's Retry-After (capped), else
        exponential backoff with full jitter, so synchronized clients spread out."""
        s = self._settings
        if retry_after is not None:
            return min(retry_after, s.llm_retry_after_cap_s)
        ceiling = min(s.llm_retry_backoff_max_s, s.llm_retry_backoff_s * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    async def _attempt(
        self,
        messages: Sequence[dict[str, Any]],
        model: str,
        billing: tuple[str, str, str],
        tools: Sequence[dict[str, Any]] | None,
        stream: bool,
        attempt: int,
        prompt: Prompt | None = None,
    ) -> ChatResult:
        """One API call in one `chat {model}` CLIENT span, with its metrics and log line;
        `billing` is the (feature, user_tier, team) its cost is recorded under."""
        provider = self._catalogue.provider(model)
        base_labels = {"gen_ai_operation_name": _OPERATION, "gen_ai_provider_name": provider, "gen_ai_request_model": model}
        with self._tracer.start_as_current_span(f"{_OPERATION} {model}", kind=SpanKind.CLIENT) as span:
            set_attributes(
                span,
                {
                    "gen_ai.operation.name": _OPERATION,
                    "gen_ai.provider.name": provider,
                    "gen_ai.request.model": model,
                    "gen_ai.request.stream": stream,
                    "app.llm.attempt": attempt,
                    "gen_ai.conversation.id": CONVERSATION_ID.get(),  # None (not set) outside a conversation
                    # semconv-genai v0.1.0 names (not in core semconv v1.41); None (not set) for agent turns.
                    "gen_ai.prompt.name": prompt.name if prompt else None,
                    "gen_ai.prompt.version": prompt.version if prompt else None,
                },
            )
            # Rendering and masking the prompt is most of a chat span's own cost: only for a span
            # that is recorded (at 5 % sampling, 95 of 100 are not).
            if self._tel.capture_content and span.is_recording():
                set_attributes(span, {"gen_ai.input.messages": json.dumps(mask(list(messages)))})
            started = time.perf_counter()
            try:
                if stream:
                    result = await self._call_streaming(messages, model, tools, base_labels, started)
                else:
                    result = await self._call(messages, model, tools)
                result.model = result.model or model  # a server that names no model answered with the one asked for
            except openai.OpenAIError as exc:
                error_type = error_type_of(exc, self._error_type_allowed)
                elapsed = time.perf_counter() - started
                self._duration.labels(**base_labels, gen_ai_response_model="", error_type=error_type).observe(elapsed)
                set_attributes(span, {"error.type": error_type})
                span.set_status(Status(StatusCode.ERROR, error_type))
                _log.warning(
                    "llm call failed",
                    gen_ai_request_model=model,
                    error_type=error_type,
                    status_code=getattr(exc, "status_code", None),
                    attempt=attempt,
                    duration_ms=round(elapsed * 1000, 1),
                )
                raise
            elapsed = time.perf_counter() - started
            cost = self._prices.cost_usd(model, result.input_tokens, result.output_tokens, result.cached_input_tokens)
            if cost is None:
                self._unpriced.labels(gen_ai_request_model=model).inc()
                self._warn_once("llm model has no price: cost recorded as 0", model)
            result.cost_usd = cost or 0.0
            if (spend := _SPEND.get()) is not None:
                spend.usd += result.cost_usd
                spend.calls += 1
            labels = {**base_labels, "gen_ai_response_model": self._response_model_label(result.model)}
            self._duration.labels(**labels, error_type="").observe(elapsed)
            if result.usage_reported:
                self._tokens.labels(**labels, gen_ai_token_type="input").observe(result.input_tokens)
                self._tokens.labels(**labels, gen_ai_token_type="output").observe(result.output_tokens)
                # A provider cannot have cached more than it was sent: clamped, the hit ratio stays <= 1.
                result.cached_input_tokens = min(result.cached_input_tokens, result.input_tokens)
                self._record_cached(model, labels, result.cached_input_tokens)
            else:  # 0 tokens would be a lie in the histogram; the call is still timed and counted
                self._warn_once("llm provider reported no token usage", model)
            feature, user_tier, team = billing
            # The prompt version is what a rollout compares (cost and tokens per version); agent
            # turns use no versioned prompt and record it empty.
            version = prompt.version if prompt else ""
            self._cost.labels(gen_ai_request_model=model, feature=feature, user_tier=user_tier, team=team, prompt_version=version).inc(
                result.cost_usd
            )
            if result.usage_reported:
                self._feature_tokens.labels(feature=feature, prompt_version=version, gen_ai_token_type="input").inc(result.input_tokens)
                self._feature_tokens.labels(feature=feature, prompt_version=version, gen_ai_token_type="output").inc(result.output_tokens)
            attributes: dict[str, Any] = {
                "gen_ai.response.model": result.model,
                "gen_ai.response.id": result.response_id,
                "gen_ai.response.finish_reasons": [result.finish_reason],
            }
            if result.usage_reported:
                attributes |= {
                    "gen_ai.usage.input_tokens": result.input_tokens,
                    "gen_ai.usage.output_tokens": result.output_tokens,
                    "gen_ai.usage.cache_read.input_tokens": result.cached_input_tokens,
                }
            set_attributes(span, attributes)
            if self._tel.capture_content and span.is_recording():
                output = [{"role": "assistant", "content": result.text, "tool_calls": [c.__dict__ for c in result.tool_calls]}]
                set_attributes(span, {"gen_ai.output.messages": json.dumps(mask(output))})
            _log.info(
                "llm call",
                gen_ai_request_model=model,
                gen_ai_response_model=result.model,
                attempt=attempt,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                cached_input_tokens=result.cached_input_tokens,
                cost_usd=round(result.cost_usd, 8),  # summed per conversation by the conversations dashboard (LogQL)
                finish_reason=result.finish_reason,
                duration_ms=round(elapsed * 1000, 1),
            )
            return result

    def _record_cached(self, model: str, labels: dict[str, str], cached: int) -> None:
        """Cached input tokens (0 included: the counter's rate is the hit ratio's numerator)
        and the USD that caching saved against the full input price."""
        self._cached.labels(**labels).inc(cached)
        price = self._prices.price(model)
        if cached and price is not None and price.cached_input is not None:
            self._savings.labels(gen_ai_request_model=model).inc(cached * max(0.0, price.input - price.cached_input) / 1_000_000)

    def _response_model_label(self, model: str) -> str:
        # A provider answers with the exact version ("gpt-4o-2024-08-06", "llama3.2:latest"):
        # recorded as the catalogue model it belongs to; anything else as _OTHER, never as
        # itself, so the label set stays the catalogue's.
        return self._catalogue.canonical(model) or _OTHER

    async def _call(self, messages: Sequence[dict[str, Any]], model: str, tools: Sequence[dict[str, Any]] | None) -> ChatResult:
        kwargs: dict[str, Any] = {"tools": list(tools)} if tools else {}
        response = await self._client.chat.completions.create(model=model, messages=_sdk_messages(messages), **kwargs)
        choice = response.choices[0]
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
            for c in (choice.message.tool_calls or [])
            if isinstance(c, ChatCompletionMessageFunctionToolCall)  # custom (non-function) tool calls are not ours
        ]
        usage = response.usage
        return ChatResult(
            text=choice.message.content or "",
            tool_calls=calls,
            model=getattr(response, "model", None) or "",
            response_id=getattr(response, "id", None) or "",
            finish_reason=choice.finish_reason or "",
            input_tokens=(usage.prompt_tokens or 0) if usage else 0,
            output_tokens=(usage.completion_tokens or 0) if usage else 0,
            cost_usd=0.0,
            cached_input_tokens=_cached_tokens(usage),
            usage_reported=usage is not None,
        )

    async def _call_streaming(
        self,
        messages: Sequence[dict[str, Any]],
        model: str,
        tools: Sequence[dict[str, Any]] | None,
        base_labels: dict[str, str],
        started: float,
    ) -> ChatResult:
        """Stream the answer, timing the first chunk; usage comes in the extra last chunk."""
        kwargs: dict[str, Any] = {"tools": list(tools)} if tools else {}
        stream = await self._client.chat.completions.create(
            model=model, messages=_sdk_messages(messages), stream=True, stream_options={"include_usage": True}, **kwargs
        )
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        first = True
        response_id = response_model = finish_reason = ""
        input_tokens = output_tokens = cached = 0
        usage_reported = False
        async for chunk in stream:
            chunk_model = getattr(chunk, "model", None) or ""
            if first:
                first = False
                self._ttfc.labels(
                    **base_labels, gen_ai_response_model=self._response_model_label(chunk_model or model)
                ).observe(time.perf_counter() - started)
            response_id, response_model = getattr(chunk, "id", None) or response_id, chunk_model or response_model
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                input_tokens, output_tokens = usage.prompt_tokens or 0, usage.completion_tokens or 0
                cached, usage_reported = _cached_tokens(usage), True
            for choice in chunk.choices or []:
                finish_reason = choice.finish_reason or finish_reason
                if choice.delta.content:
                    text.append(choice.delta.content)
                for delta in choice.delta.tool_calls or []:
                    call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = delta.id or call["id"]
                    if delta.function is not None:
                        call["name"] = delta.function.name or call["name"]
                        call["arguments"] += delta.function.arguments or ""
        return ChatResult(
            text="".join(text),
            tool_calls=[ToolCall(**calls[i]) for i in sorted(calls)],
            model=response_model,
            response_id=response_id,
            finish_reason=finish_reason,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=0.0,
            cached_input_tokens=cached,
            usage_reported=usage_reported,
        )


def _cached_tokens(usage: Any) -> int:
    """Prompt tokens served from the provider's cache (OpenAI's prompt_tokens_details), else 0."""
    details = getattr(usage, "prompt_tokens_details", None)
    return int(getattr(details, "cached_tokens", None) or 0)


def _sdk_messages(messages: Sequence[dict[str, Any]]) -> list[ChatCompletionMessageParam]:
    """Our messages are plain dicts of the chat-completions shape (role, content, tool calls);
    the SDK's TypedDicts describe the same JSON, so this is a cast for the type checker only."""
    return cast("list[ChatCompletionMessageParam]", list(messages))
