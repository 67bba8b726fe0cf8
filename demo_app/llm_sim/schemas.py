"""Request bodies of the simulator's API and the OpenAI error body.

Chat bodies are lenient where OpenAI is (unknown parameters are accepted and ignored, as
a provider adding a parameter must not break the demo) and strict where a wrong type
would be a client bug. The /faults body is strict: a typo must not inject a fault that
silently does something else.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from demo_app.llm_sim.faults import FaultKind, check_value
from demo_app.llm_sim.models import MODEL_NAMES

__all__ = ["ChatRequest", "ChatMessage", "FaultIn", "openai_error"]


class _Lenient(BaseModel):
    # Unknown fields pass (new OpenAI parameters), known ones must have the right JSON type
    # (strict: "stream": "yes" is a client bug, not a truthy string).
    model_config = ConfigDict(extra="allow", strict=True)


class FunctionCall(_Lenient):
    name: str
    arguments: str = ""


class MessageToolCall(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[MessageToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(_Lenient):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    """POST /v1/chat/completions; only `n` = 1 is supported (the app never asks for more)."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1, le=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)

    @property
    def token_limit(self) -> int | None:
        # max_completion_tokens replaced max_tokens in the OpenAI API; either is honoured.
        return self.max_completion_tokens or self.max_tokens


class FaultIn(BaseModel):
    """POST /faults body (see faults.py for what `value` means per kind)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: FaultKind
    model: str | None = None  # None: every model
    rate: float = Field(default=1.0, ge=0, le=1)
    value: float | None = None
    ttl_s: float = Field(default=300.0, ge=1, le=3600)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None and value not in MODEL_NAMES:
            raise ValueError(f"unknown model; expected one of {', '.join(MODEL_NAMES)}")
        return value

    @model_validator(mode="after")
    def _value_fits_kind(self) -> FaultIn:
        check_value(self.kind, self.value)
        return self


def openai_error(message: str, type_: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The error body OpenAI returns, which the SDK parses into its exception's `body`."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
