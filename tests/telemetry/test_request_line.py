"""The one log line per request: fields the request's code adds join it, and only that request's."""

from __future__ import annotations

import asyncio

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from demo_app.telemetry.asgi import RequestContextMiddleware, add_request_fields


async def _answered(request: Request) -> JSONResponse:
    with structlog.contextvars.bound_contextvars(team="search"):
        noted = add_request_fields(faithfulness=0.8, status_code=-1)
    return JSONResponse({"noted": noted})


async def _plain(request: Request) -> JSONResponse:
    return JSONResponse({})


def _request_lines(*paths: str) -> list[dict]:
    app = Starlette(routes=[Route("/answered", _answered), Route("/plain", _plain)])
    app.add_middleware(RequestContextMiddleware)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for path in paths:
                assert (await client.get(path)).status_code == 200

    with structlog.testing.capture_logs() as logs:
        asyncio.run(go())
    return [e for e in logs if e["event"] == "request"]


class TestAddRequestFields:
    """Fields added inside a request go on its request line (with the structlog context bound
    there), never on another request's line, and cannot overwrite what the middleware measured."""

    def test_fields_join_the_request_line(self) -> None:
        (line,) = _request_lines("/answered")
        assert (line["faithfulness"], line["team"], line["http_route"]) == (0.8, "search", "/answered")
        assert line["status_code"] == 200  # the middleware's own fields win

    def test_the_next_request_starts_clean(self) -> None:
        first, second = _request_lines("/answered", "/plain")
        assert "faithfulness" in first
        assert "faithfulness" not in second and "team" not in second

    def test_outside_a_request_nothing_is_noted(self) -> None:
        assert add_request_fields(faithfulness=0.8) is False
