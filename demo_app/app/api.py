"""HTTP API of the demo app: routes, request/response models, and the mapping of errors to statuses.

The request models are built at start from the settings (`build_router`): `model` takes the
catalogue's model names and texts are limited to MAX_TEXT_CHARS, and the OpenAPI schema says so.

Every error leaves as `{"error": {"type", "message", "request_id"}}`:
  422 invalid body (unknown field, wrong type, empty/whitespace/over-long text, unknown
      tier/feature/model - the message lists the valid ones -, a `team` that is not a short
      slug, a `conversation_id` that is not 1-64 letters, digits or ._:-, malformed JSON), 413 body over the size limit,
  429 our rate limit (with Retry-After), 502 provider 5xx / unreachable / model not found
  (404) / request refused (other 4xx) after retries and fallback, 503 provider rate limited (with Retry-After), 504 provider timeout,
  500 anything unexpected (a bug: the tests make sure it does not happen).

Conversations: the optional `conversation_id` (1-64 characters: letters, digits and `._:-`,
starting with a letter or digit, e.g. a UUID; anything else is a 422) makes /v1/ask a turn of
that conversation: the app sends the conversation's earlier questions and answers with the new
question (kept in memory, bounded by CONVERSATION_MAX_COUNT conversations,
CONVERSATION_MAX_TURNS turns and CONVERSATION_MAX_CHARS characters each, forgotten
CONVERSATION_TTL_S after its last request) and records `gen_ai.conversation.id` on the
request's spans and log lines, never on metrics.

Spend attribution: the optional `team` field and `Authorization: Bearer <key>` header decide
the request's `team` label (`Budgets.team_for`: a key whose fingerprint the budgets file lists
wins, then a listed `team` field, else `_other`). The key is only hashed and compared, never
logged, put on a span or a label. The server span gets `app.team` and `app.cost_usd` (all the
request's LLM calls, retries, fallbacks and agent turns included).
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from demo_app.app.agents import AgentRun
from demo_app.app.ask import answer_question
from demo_app.app.guard import GuardrailBlocked
from demo_app.app.llm import LLMError, track_spend
from demo_app.app.services import Services
from demo_app.budgets import TEAM_PATTERN
from demo_app.config import FEATURES, TIERS, AppSettings
from demo_app.telemetry import current_ids, get_logger, set_attributes
from demo_app.telemetry.asgi import note_request_error

__all__ = ["build_router", "request_models", "install_error_handlers", "ApiError"]

_log = get_logger()

# Literal[...] of a tuple known at run time: the schema gets an enum, pydantic a check whose
# message lists the valid values. mypy cannot follow a run-time Literal, hence the ignores.
Tier = Literal[TIERS]  # type: ignore[valid-type]
Feature = Literal[FEATURES]  # type: ignore[valid-type]


# "Contains a non-whitespace character", published in the schema as a pattern. The class
# lists Python's whitespace explicitly because `\s` means different things in Python, in
# JSON Schema's ECMA regexes and in pydantic's Rust regexes (U+0085, U+001C..U+001F): a
# spelled-out class reads the same in all three, so clients generating from the schema and
# this check agree.
_NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_NOT_BLANK_RE = re.compile(_NOT_BLANK)


def _meaningful(value: str) -> str:
    if not _NOT_BLANK_RE.search(value):
        raise ValueError("must contain a non-whitespace character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates survive JSON decoding but not the next encode
        raise ValueError("must be valid Unicode text") from None
    return value


def _whole_number(value: object) -> object:
    """JSON Schema's "integer" includes 2.0; strict pydantic does not. Accept whole floats only."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Request(BaseModel):
    # strict: "true" is not a boolean and 6.0 is not a step count; extra=forbid: a typo in a
    # field name is an error, not a silently ignored option.
    model_config = ConfigDict(extra="forbid", strict=True)


# The team a caller names: a short lower-case slug (the budgets file's team-name pattern), so
# nothing unbounded can reach a label; an unlisted team is recorded as `_other`.
Team = Annotated[str, StringConstraints(pattern=TEAM_PATTERN, max_length=32)]
_TEAM_FIELD = Field(
    default=None,
    description="Team to bill (a lower-case slug, up to 32 characters); teams not listed in the budgets file are recorded as _other. "
    "A caller whose API key (Authorization: Bearer) is listed there is billed to that key's team instead.",
)


# A conversation id the caller chooses (a UUID, a session key...): bounded and plain, since it
# goes on spans and log lines as it is (never on a metric label).
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
CONVERSATION_ID_MAX_CHARS = 64
ConversationId = Annotated[str, StringConstraints(pattern=CONVERSATION_ID_PATTERN, min_length=1, max_length=CONVERSATION_ID_MAX_CHARS)]


class AskRequest(_Request):
    """Base of the /v1/ask body; `request_models` adds the fields that depend on the settings."""

    user_tier: Tier = "free"
    feature: Feature = "qa"
    team: Team | None = _TEAM_FIELD
    conversation_id: ConversationId | None = Field(
        default=None,
        description=f"Make this question a turn of a conversation (1..{CONVERSATION_ID_MAX_CHARS} characters: letters, digits "
        "and ._:- , starting with a letter or digit, e.g. a UUID). The app sends the conversation's earlier turns "
        "(bounded, forgotten after CONVERSATION_TTL_S without a request) with the question.",
    )
    stream: bool = Field(default=False, description="Stream from the provider (the API still answers with one JSON).")


class AgentRequest(_Request):
    """Base of the /v1/agent body; `request_models` adds the task and its length limit."""

    user_tier: Tier = "free"
    team: Team | None = _TEAM_FIELD
    max_steps: Annotated[int, BeforeValidator(_whole_number)] = Field(
        # A full run (supervisor + three workers) takes about 10 turns with the simulator.
        default=10, ge=1, le=10, description="LLM turns allowed over the whole run."
    )


def request_models(models: tuple[str, ...], max_chars: int) -> tuple[type[AskRequest], type[AgentRequest]]:
    """The request bodies for these catalogue models and this text limit (MAX_TEXT_CHARS)."""
    text = Annotated[str, StringConstraints(min_length=1, max_length=max_chars)]
    model_name = Literal[models]  # type: ignore[valid-type]  # a run-time Literal, as Tier above

    class Ask(AskRequest):
        question: text = Field(
            description=f"The user's question (1..{max_chars} characters).", json_schema_extra={"pattern": _NOT_BLANK}
        )
        model: model_name | None = Field(
            default=None, description=f"Override the feature's default model: one of the catalogue's {', '.join(models)}."
        )

        _check_question = field_validator("question")(_meaningful)

    class Agent(AgentRequest):
        task: text = Field(
            description=f"What the agents should do (1..{max_chars} characters).", json_schema_extra={"pattern": _NOT_BLANK}
        )

        _check_task = field_validator("task")(_meaningful)

    # The schema names them as before (components AskRequest / AgentRequest).
    Ask.__name__ = Ask.__qualname__ = "AskRequest"
    Agent.__name__ = Agent.__qualname__ = "AgentRequest"
    Ask.model_config["title"] = "AskRequest"
    Agent.model_config["title"] = "AgentRequest"
    Ask.model_rebuild(force=True)
    Agent.model_rebuild(force=True)
    return Ask, Agent


class Source(BaseModel):
    doc_id: str
    title: str
    score: float


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class AskResponse(BaseModel):
    answer: str
    sources: list[Source]
    model: str = Field(description="The model that answered (after any fallback).")
    usage: Usage
    cost_usd: float
    faithfulness: float
    relevancy: float
    request_id: str
    trace_id: str
    fallback_used: bool
    retries: int
    guardrail_blocked: bool = Field(default=False, description="An output guardrail blocked the model's answer; `answer` is a fixed refusal.")


class ToolCallOut(BaseModel):
    agent: str
    tool: str
    outcome: Literal["ok", "error", "step_limit"]


class AgentResponse(BaseModel):
    answer: str
    steps: int
    max_steps: int
    outcome: Literal["ok", "step_limit"]
    tool_calls: list[ToolCallOut]
    usage: Usage
    cost_usd: float
    request_id: str
    trace_id: str


class ErrorDetail(BaseModel):
    type: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers on purpose, with its status and type."""

    def __init__(self, status: int, type_: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.retry_after_s = status, type_, message, retry_after_s


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Request body is not readable (e.g. not UTF-8), or the question was blocked by an input guardrail (guardrail_blocked)"),
        (413, "Request body too large"),
        (422, "Invalid request"),
        (429, "Rate limited by the app (see Retry-After)"),
        (502, "The LLM provider failed (5xx or unreachable) after retries and fallback"),
        (503, "The LLM provider is rate limiting (see Retry-After)"),
        (504, "The LLM provider timed out"),
    )
}

def _services(request: Request) -> Services:
    return request.app.state.services


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def _bearer_key(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, else None (the header is optional)."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return (key.strip() or None) if scheme.lower() == "bearer" else None


@contextmanager
def _billed(services: Services, request: Request, team_field: str | None) -> Iterator[str]:
    """Resolve the request's team (server span `app.team`, log field `team`), and put the spend of
    every LLM call made inside on the server span as `app.cost_usd`, even when the request fails."""
    team = services.budgets.team_for(team_field, _bearer_key(request))
    span = trace.get_current_span()
    set_attributes(span, {"app.team": team})
    with structlog.contextvars.bound_contextvars(team=team), track_spend() as spend:
        try:
            yield team
        finally:
            if spend.calls:
                set_attributes(span, {"app.cost_usd": spend.usd})


def _admit(services: Services, route: str, user_tier: str, feature: str) -> None:
    """Tag the server span, then apply the tier's token bucket (429 when refused)."""
    set_attributes(trace.get_current_span(), {"app.feature": feature, "app.user_tier": user_tier})
    allowed, retry_after = services.limiter.acquire(user_tier)
    if not allowed:
        services.tel.metric("llmapp_rate_limit_events_total").labels(source="app", user_tier=user_tier).inc()
        _log.info("rate limited", http_route=route, user_tier=user_tier, feature=feature)
        raise ApiError(429, "rate_limited", f"rate limit of the {user_tier} tier exceeded", retry_after)


@contextmanager
def _counted(services: Services, feature: str, model: str) -> Iterator[None]:
    """Count an admitted request in llmapp_requests_total by how it ended: error_type "" when it
    answered, the LLM error that failed it, or _OTHER for anything unexpected (both a 5xx)."""
    counter = services.tel.metric("llmapp_requests_total")
    error_type: str | None = "_OTHER"
    try:
        yield
        error_type = ""
    except LLMError as exc:
        error_type = exc.error_type
        raise
    except GuardrailBlocked:
        # Refused before any LLM call, like a rate-limited request: not counted here but in
        # llmapp_guardrail_detections_total (a 4xx must not count against the error SLO).
        error_type = None
        raise
    finally:
        if error_type is not None:
            counter.labels(feature=feature, gen_ai_request_model=model, error_type=error_type).inc()


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def ask(body: Any, request: Request) -> AskResponse:
    """Answer a question about the help center from retrieved documents (RAG)."""
    services = _services(request)
    with _billed(services, request, body.team) as team:
        _admit(services, "/v1/ask", body.user_tier, body.feature)
        requested = body.model or services.settings.model_for(body.feature)
        with (
            services.tel.metric("llmapp_requests_in_flight").labels(http_route="/v1/ask").track_inprogress(),
            _counted(services, body.feature, requested),
        ):
            result, hits, scores = await answer_question(
                services, question=body.question, feature=body.feature, user_tier=body.user_tier, team=team, stream=body.stream,
                model=body.model, conversation_id=body.conversation_id,
            )
    return AskResponse(
        answer=result.text,
        sources=[Source(doc_id=h.doc_id, title=h.title, score=round(h.score, 4)) for h in hits],
        model=result.model,
        usage=Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens),
        cost_usd=round(result.cost_usd, 8),
        faithfulness=scores.faithfulness,
        relevancy=scores.relevancy,
        request_id=_request_id(request),
        trace_id=current_ids()[0],
        fallback_used=result.fallback_used,
        retries=result.retries,
        guardrail_blocked=result.guardrail_blocked,
    )


async def agent(body: Any, request: Request) -> AgentResponse:
    """Run the supervisor agent and its workers on a task, within `max_steps` LLM turns."""
    services = _services(request)
    with _billed(services, request, body.team) as team:
        _admit(services, "/v1/agent", body.user_tier, "agent")
        run = AgentRun(max_steps=body.max_steps, user_tier=body.user_tier, team=team)
        with (
            services.tel.metric("llmapp_requests_in_flight").labels(http_route="/v1/agent").track_inprogress(),
            _counted(services, "agent", services.settings.model_for("agent")),
        ):
            answer, outcome = await services.agents.run(body.task, run)
        _log.info("agent run finished", feature="agent", user_tier=body.user_tier, outcome=outcome, steps=run.steps)
    return AgentResponse(
        answer=answer,
        steps=run.steps,
        max_steps=body.max_steps,
        # run() returns "ok" or "step_limit" (LLM errors raise); pydantic checks it at run time.
        outcome=outcome,  # type: ignore[arg-type]
        tool_calls=[ToolCallOut.model_validate(c) for c in run.tool_calls],
        usage=Usage(input_tokens=run.input_tokens, output_tokens=run.output_tokens),
        cost_usd=round(run.cost_usd, 8),
        request_id=_request_id(request),
        trace_id=current_ids()[0],
    )


def build_router(settings: AppSettings) -> APIRouter:
    """The app's routes, with request bodies for the settings' catalogue and text limit."""
    ask_body, agent_body = request_models(settings.catalogue.names, settings.max_text_chars)
    router = APIRouter()
    router.add_api_route("/healthz", healthz, methods=["GET"])
    for path, endpoint, body, response in (("/v1/ask", ask, ask_body, AskResponse), ("/v1/agent", agent, agent_body, AgentResponse)):
        router.add_api_route(path, _typed(endpoint, body, response), methods=["POST"], response_model=response, responses=_ERRORS)
    return router


def _typed(
    endpoint: Callable[[Any, Request], Awaitable[Any]], body: type[BaseModel], response: type[BaseModel]
) -> Callable[[Any, Request], Awaitable[Any]]:
    """`endpoint` with `body` as the type of its body parameter (FastAPI reads it from the signature)."""

    async def route(body: Any, request: Request) -> Any:
        return await endpoint(body, request)

    # Not functools.wraps: its __wrapped__ would send FastAPI back to the original signature.
    route.__name__, route.__qualname__, route.__doc__ = endpoint.__name__, endpoint.__qualname__, endpoint.__doc__
    route.__annotations__ = {"body": body, "request": Request, "return": response}
    return route


def error_response(
    request: Request, status: int, type_: str, message: str, *, retry_after_s: float | None = None, details: list | None = None
) -> JSONResponse:
    """The one JSON error shape, with Retry-After (whole seconds, at least 1) when given."""
    body = ErrorBody(error=ErrorDetail(type=type_, message=message, request_id=_request_id(request), details=details))
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s is not None else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


# Provider failure kind -> (our status, error type). A 4xx the provider sent us is our bug,
# not the caller's, hence 502 as well.
_LLM_STATUS: dict[str, tuple[int, str]] = {
    "rate_limit": (503, "provider_rate_limited"),
    "timeout": (504, "provider_timeout"),
    "server_error": (502, "provider_error"),
    "connection": (502, "provider_unreachable"),
    "not_found": (502, "provider_model_not_found"),
    "bad_request": (502, "provider_rejected_request"),
}


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the JSON error shape (registered on `app`)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.type, exc.message, retry_after_s=exc.retry_after_s)

    @app.exception_handler(GuardrailBlocked)
    async def _guardrail_blocked(request: Request, exc: GuardrailBlocked) -> JSONResponse:
        # What was found (guardrail, kinds, counts), never the text: the caller sent it anyway.
        details = [{"guardrail": d.guardrail, "counts": d.counts} for d in exc.detections]
        return error_response(request, 400, "guardrail_blocked", "the question was blocked by the input guardrails", details=details)

    @app.exception_handler(LLMError)
    async def _llm_error(request: Request, exc: LLMError) -> JSONResponse:
        status, type_ = _LLM_STATUS.get(exc.kind, (502, "provider_error"))
        # The request's one ERROR line is the middleware's "request" line: these fields join it,
        # and the exception (chained to the provider's) becomes an event of the server span.
        note_request_error(
            request,
            error_type=exc.error_type,
            exception=exc,
            gen_ai_request_model=exc.models_tried[0] if exc.models_tried else "",
            retries=exc.retries,
            models_tried=exc.models_tried,
        )
        retry_after = (exc.retry_after_s or 1.0) if status == 503 else None
        return error_response(request, status, type_, f"LLM provider failed: {exc.error_type}", retry_after_s=retry_after)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # loc/msg/type only: pydantic's "input" and "ctx" echo the caller's data back.
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p != "body") or "body"
        return error_response(request, 422, "invalid_request", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(request, exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # No line of its own: Starlette re-raises after this 500, the request middleware puts
        # the exception on the request's ERROR line and the instrumentation on the server span.
        note_request_error(request, error_type=type(exc).__name__)
        return error_response(request, 500, "internal_error", "unexpected error; see the logs with this request_id")
