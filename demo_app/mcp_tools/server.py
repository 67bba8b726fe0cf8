"""The MCP server: the agents' three tools (search_documents, calculator, word_count).

Built with the official SDK's MCPServer over Streamable HTTP (path /mcp), plus GET /health
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
this server's span.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from demo_app.app.rag import Retriever
from demo_app.app.tools import TOOL_SPECS, ToolError, calculate, format_hits, word_count

__all__ = ["SERVER_NAME", "build_server"]

SERVER_NAME = "nimbus-tools"
_TOP_K = 4


def _description(tool: str) -> str:
    # One description per tool, shared with the in-process tool specs the model sees.
    return str(TOOL_SPECS[tool]["function"]["description"])


@contextmanager
def _anticipated() -> Iterator[None]:
    # Our ToolError is a failure the model should read and correct: the SDK shows the text
    # of its own ToolError only (other exceptions reach the client as a bare "Error
    # executing tool").
    try:
        yield
    except ToolError as exc:
        raise McpToolError(str(exc)) from exc


def build_server(retriever: Retriever | None = None) -> MCPServer:
    """The MCP server with the three tools and GET /health."""
    index = retriever or Retriever.from_corpus()
    server = MCPServer(SERVER_NAME, instructions="Tools of the Nimbus help-center agents.")

    @server.tool(name="search_documents", description=_description("search_documents"))
    def search_documents(query: str) -> str:
        return format_hits(index.search(query, k=_TOP_K))

    @server.tool(name="calculator", description=_description("calculator"))
    def calculator(expression: str) -> str:
        with _anticipated():
            return calculate(expression)

    @server.tool(name="word_count", description=_description("word_count"))
    def count_words(text: str) -> str:
        return word_count(text)

    @server.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "server": SERVER_NAME})

    return server
