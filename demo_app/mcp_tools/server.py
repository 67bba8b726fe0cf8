"""The MCP server: the agents' three tools (search_documents, calculator, word_count).

Built with the official SDK's MCPServer over Streamable HTTP (path /mcp), plus GET /healthz
for compose and the native process runner. The tools are the functions of
demo_app/app/tools.py, so the answers are the same whether an agent calls them in process
or over MCP; search_documents runs on the server's own BM25 index of the same corpus.

A ToolError (bad argument) is re-raised as the SDK's ToolError, which the SDK answers as a
tool result with isError=true and the message as its text; the agent hands that back to the
model, as it does for in-process tools. Any other exception is a crash: the SDK withholds
its text from the client and logs the traceback.

Telemetry: the SDK opens a `tools/call {tool}` server span (mcp.method.name,
gen_ai.tool.name, error.type) under the caller's trace context, which the client sends in
the request's `_meta` (traceparent), so one trace holds the agent's execute_tool span and
this server's span. Each call is also measured in mcp_server_operation_duration_seconds
(the MCP conventions' mcp.server.operation.duration), with its trace id as exemplar.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from demo_app.app.rag import Retriever
from demo_app.app.tools import TOOL_SPECS, ToolError, calculate, format_hits, word_count
from demo_app.telemetry import Telemetry

__all__ = ["SERVER_NAME", "build_server"]

SERVER_NAME = "nimbus-tools"
_TOP_K = 4


def _description(tool: str) -> str:
    # One description per tool, shared with the in-process tool specs the model sees.
    return str(TOOL_SPECS[tool]["function"]["description"])


class _Measured:
    """Times each tool call into mcp_server_operation_duration_seconds (no-op without telemetry)."""

    def __init__(self, tel: Telemetry | None) -> None:
        self._duration = tel.metric("mcp_server_operation_duration_seconds") if tel else None

    @contextmanager
    def call(self, tool: str) -> Iterator[None]:
        started = time.perf_counter()
        error_type = ""
        try:
            yield
        except ToolError as exc:
            # A failure the model should read and correct: the SDK shows the text of its own
            # ToolError only (other exceptions reach the client as a bare "Error executing tool").
            error_type = "tool_error"
            raise McpToolError(str(exc)) from exc
        except Exception:
            error_type = "_OTHER"
            raise
        finally:
            if self._duration is not None:
                labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": tool, "error_type": error_type}
                self._duration.labels(**labels).observe(time.perf_counter() - started)


def build_server(retriever: Retriever | None = None, tel: Telemetry | None = None) -> MCPServer:
    """The MCP server with the three tools, GET /healthz and (with `tel`) GET /metrics."""
    index = retriever or Retriever.from_corpus()
    measured = _Measured(tel)
    server = MCPServer(SERVER_NAME, instructions="Tools of the Nimbus help-center agents.")

    @server.tool(name="search_documents", description=_description("search_documents"))
    def search_documents(query: str) -> str:
        with measured.call("search_documents"):
            return format_hits(index.search(query, k=_TOP_K))

    @server.tool(name="calculator", description=_description("calculator"))
    def calculator(expression: str) -> str:
        with measured.call("calculator"):
            return calculate(expression)

    @server.tool(name="word_count", description=_description("word_count"))
    def count_words(text: str) -> str:
        with measured.call("word_count"):
            return word_count(text)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "server": SERVER_NAME})

    if tel is not None:

        @server.custom_route("/metrics", methods=["GET"], include_in_schema=False)
        async def metrics(request: Request) -> Response:
            body, content_type = tel.render_metrics(request.headers.get("accept"))
            return Response(content=body, media_type=content_type)

    return server
