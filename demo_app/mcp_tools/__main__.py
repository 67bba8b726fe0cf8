"""Run the MCP tool server: `python -m demo_app.mcp_tools` (HOST, PORT from the environment)."""

from __future__ import annotations

import uvicorn

from demo_app.mcp_tools.config import McpToolsSettings
from demo_app.mcp_tools.server import build_server


def main() -> None:
    settings = McpToolsSettings()
    app = build_server().streamable_http_app(host=settings.host)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
