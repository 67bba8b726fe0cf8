"""Admin routes: which prompt version is live per feature, and switching it (a prompt rollout).

A switch is checked against the prompt files (demo_app/data/prompts): an unknown name is a 404
and an unknown version a 422, each listing the valid values, so a rollout script cannot put a
version live that no file defines (nor mint a label value outside the files).

A switch with `ttl_s` is a timed rollout: the version live before it comes back by itself after
that many seconds (`reverts_in_s` says when), or at once with DELETE /admin/prompts/{name}.
The quality-drop scenario rolls out a bad version this way, so a scenario run that dies leaves
it live for its TTL only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from demo_app.app.api import ApiError
from demo_app.prompts import PromptError, PromptLibrary
from demo_app.telemetry import get_logger

__all__ = ["LivePrompt", "PromptSwitch", "build_admin_router"]

_log = get_logger()


class PromptSwitch(BaseModel):
    """Body of PUT /admin/prompts/{name}: the version to make live."""

    model_config = ConfigDict(extra="forbid")
    version: str
    ttl_s: float | None = Field(default=None, gt=0, le=86_400, description="revert to the previous version after this long")


class LivePrompt(BaseModel):
    """One prompt name, its live version and every version its files define."""

    name: str
    version: str
    versions: list[str]
    reverts_in_s: float | None = None  # a timed rollout: seconds until the previous version is back


def _describe(prompts: PromptLibrary, name: str) -> LivePrompt:
    return LivePrompt(name=name, version=prompts.live(name).version, versions=list(prompts.versions(name)), reverts_in_s=prompts.reverts_in(name))


def _known(prompts: PromptLibrary, name: str) -> None:
    if name not in prompts.names():
        raise ApiError(404, "unknown_prompt", f"unknown prompt {name!r}; expected one of {', '.join(prompts.names())}")


async def list_prompts(request: Request) -> list[LivePrompt]:
    """The live version of every prompt."""
    prompts: PromptLibrary = request.app.state.services.prompts
    return [_describe(prompts, name) for name in prompts.names()]


async def switch_prompt(name: str, body: PromptSwitch, request: Request) -> LivePrompt:
    """Make `body.version` the live version of prompt `name` for every following request."""
    prompts: PromptLibrary = request.app.state.services.prompts
    _known(prompts, name)
    try:
        prompts.select(name, body.version, ttl_s=body.ttl_s)
    except PromptError as exc:
        raise ApiError(422, "unknown_prompt_version", str(exc)) from None
    _log.info("prompt version selected", prompt_name=name, prompt_version=body.version, ttl_s=body.ttl_s)
    return _describe(prompts, name)


async def revert_prompt(name: str, request: Request) -> LivePrompt:
    """End a timed rollout of prompt `name` now (no-op without one)."""
    prompts: PromptLibrary = request.app.state.services.prompts
    _known(prompts, name)
    version = prompts.revert(name).version
    _log.info("prompt version reverted", prompt_name=name, prompt_version=version)
    return _describe(prompts, name)


def build_admin_router() -> APIRouter:
    # Not in the OpenAPI schema: an operator's tool, not the product API; and which versions are
    # valid depends on the name and on files read at start, which a static schema cannot say.
    router = APIRouter(prefix="/admin", include_in_schema=False)
    router.add_api_route("/prompts", list_prompts, methods=["GET"], response_model=list[LivePrompt])
    router.add_api_route("/prompts/{name}", switch_prompt, methods=["PUT"], response_model=LivePrompt)
    router.add_api_route("/prompts/{name}", revert_prompt, methods=["DELETE"], response_model=LivePrompt)
    return router
