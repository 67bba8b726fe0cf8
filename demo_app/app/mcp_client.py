"""The agents' MCP client: calls the tool server's tools over Streamable HTTP.

One long-lived `mcp.Client` per app, opened on first use and re-opened after a transport
failure, so a tool call costs one round trip (`tools/call`) instead of the three of a fresh
client (`server/discover`, `tools/call`, `tools/list`).

Telemetry, per the MCP semantic conventions: each call is a CLIENT span
`tools/call {gen_ai.tool.name}` with `mcp.method.name`, `gen_ai.tool.name`,
`gen_ai.operation.name=execute_tool` and `mcp.protocol.version`; a failed call sets
`error.type` (`tool_error` when the tool answered isError=true, the exception's class when the
transport failed). `mcp.session.id` is absent on purpose: protocol 2026-07-28, which the SDK
negotiates, has no sessions (the semconv attribute is conditionally required "when the request
is part of a session"). Each call is measured in mcp_client_operation_duration_seconds
(mcp.client.operation.duration), error_type tool_error or _OTHER. The SDK's own span `MCP send tools/call {tool}` is a child of ours, and
the SDK puts the W3C trace context in the request's `_meta`, so the server's
`tools/call {tool}` span joins the same trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import AsyncExitStack
from typing import Any

from mcp import Client
from mcp.types import TextContent
from opentelemetry.trace import SpanKind, Status, StatusCode

from demo_app.app.tools import ToolError
from demo_app.telemetry import Telemetry

__all__ = ["McpToolClient"]


class McpToolClient:
    """Call tools on one MCP server; safe to share between concurrent agent runs."""

    def __init__(self, url: str, tel: Telemetry, *, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._tracer = tel.tracer(__name__)
        self._duration = tel.metric("mcp_client_operation_duration_seconds")
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._client: Client | None = None

    async def _connected(self) -> Client:
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                client = await stack.enter_async_context(Client(self._url, read_timeout_seconds=self._timeout_s))
                self._stack, self._client = stack, client
            return self._client

    async def _reset(self) -> None:
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            # A broken connection may fail to close; it is dropped either way.
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def aclose(self) -> None:
        """Close the connection (app shutdown); the next call would open a new one."""
        await self._reset()

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        """The tool's text answer; ToolError when the tool reports an error or the server is unreachable."""
        with self._tracer.start_as_current_span(
            f"tools/call {tool}",
            kind=SpanKind.CLIENT,
            attributes={"mcp.method.name": "tools/call", "gen_ai.tool.name": tool, "gen_ai.operation.name": "execute_tool"},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            started = time.perf_counter()
            error_type = ""
            try:
                try:
                    client = await self._connected()
                    result = await client.call_tool(tool, arguments)
                except Exception as exc:
                    # Transport or protocol failure: drop the connection so the next call reconnects.
                    await self._reset()
                    error_type = "_OTHER"
                    span.set_attribute("error.type", type(exc).__name__)
                    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                    span.record_exception(exc, escaped=False)
                    raise ToolError(f"tool server unavailable ({type(exc).__name__})") from exc
                version = client.session.protocol_version
                if version:
                    span.set_attribute("mcp.protocol.version", str(version))
                text = "\n".join(part.text for part in result.content if isinstance(part, TextContent))
                if result.is_error:
                    error_type = "tool_error"
                    span.set_attribute("error.type", error_type)
                    span.set_status(Status(StatusCode.ERROR, error_type))
                    raise ToolError(text.removeprefix(f"Error executing tool {tool}: "))
                return text
            finally:
                labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": tool, "error_type": error_type}
                self._duration.labels(**labels).observe(time.perf_counter() - started)
