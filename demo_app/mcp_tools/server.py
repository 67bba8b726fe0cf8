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
this server's span. POST /faults makes a tool fail or answer slowly for a while
(demo_app/mcp_tools/faults.py), which the Agents dashboard and LLMToolCallErrors show. Each call is also measured in mcp_server_operation_duration_seconds
(the MCP conventions' mcp.server.operation.duration), with its trace id as exemplar.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from demo_app.app.rag import Retriever
from demo_app.app.tools import TOOL_SPECS, ToolError, calculate, format_hits, word_count
from demo_app.mcp_tools.faults import ToolFaults, ToolFaultSpec
from demo_app.telemetry import Telemetry

__all__ = ["SERVER_NAME", "build_server"]

SERVER_NAME = "nimbus-tools"
_TOP_K = 4


def _description(tool: str) -> str:
    # One description per tool, shared with the in-process tool specs the model sees.
    return str(TOOL_SPECS[tool]["function"]["description"])


class _Measured:
    """Times each tool call into mcp_server_operation_duration_seconds (no-op without telemetry), faults applied."""

    def __init__(self, tel: Telemetry | None, faults: ToolFaults) -> None:
        self._duration = tel.metric("mcp_server_operation_duration_seconds") if tel else None
        self._faults = faults

    @asynccontextmanager
    async def call(self, tool: str) -> AsyncIterator[None]:
        started = time.perf_counter()
        error_type = ""
        try:
            delay, fail = self._faults.draw(tool)
            if delay:
                await anyio.sleep(delay)
            if fail:
                raise RuntimeError("injected tool fault")
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


def build_server(retriever: Retriever | None = None, tel: Telemetry | None = None, faults: ToolFaults | None = None) -> MCPServer:
    """The MCP server with the three tools, GET /healthz, the /faults API and (with `tel`) GET /metrics."""
    index = retriever or Retriever.from_corpus()
    faults = faults or ToolFaults()
    measured = _Measured(tel, faults)
    server = MCPServer(SERVER_NAME, instructions="Tools of the Nimbus help-center agents.")

    @server.tool(name="search_documents", description=_description("search_documents"))
    async def search_documents(query: str) -> str:
        async with measured.call("search_documents"):
            return format_hits(index.search(query, k=_TOP_K))

    @server.tool(name="calculator", description=_description("calculator"))
    async def calculator(expression: str) -> str:
        async with measured.call("calculator"):
            return calculate(expression)

    @server.tool(name="word_count", description=_description("word_count"))
    async def count_words(text: str) -> str:
        async with measured.call("word_count"):
            return word_count(text)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "server": SERVER_NAME})

    # Fault injection, as the simulator's /faults: the scenarios break a tool with a TTL.
    @server.custom_route("/faults", methods=["GET", "POST", "DELETE"], include_in_schema=False)
    async def fault_list(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"faults": [f.to_dict() for f in faults.active()]})
        if request.method == "DELETE":
            return JSONResponse({"cleared": faults.clear()})
        try:
            spec = ToolFaultSpec.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
            return JSONResponse({"detail": problems}, status_code=422)
        return JSONResponse(faults.add(spec).to_dict(), status_code=201)

    @server.custom_route("/faults/{fault_id}", methods=["DELETE"], include_in_schema=False)
    async def fault_remove(request: Request) -> Response:
        if faults.remove(request.path_params["fault_id"]):
            return Response(status_code=204)
        return JSONResponse({"detail": "no such fault"}, status_code=404)

    if tel is not None:

        @server.custom_route("/metrics", methods=["GET"], include_in_schema=False)
        async def metrics(request: Request) -> Response:
            body, content_type = tel.render_metrics(request.headers.get("accept"))
            return Response(content=body, media_type=content_type)

    return server
