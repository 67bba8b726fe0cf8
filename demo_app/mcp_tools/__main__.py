"""Run the MCP tool server: `python -m demo_app.mcp_tools` (HOST, PORT, MCP_ALLOWED_HOSTS from the environment).

Streamable HTTP at /mcp, GET /healthz, GET /metrics. Traces and logs go over OTLP like the
other components' (OTEL_* variables); the SDK's server spans use the global tracer
provider that setup_telemetry installs.
"""

from __future__ import annotations

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings

from demo_app.mcp_tools.config import McpToolsSettings
from demo_app.mcp_tools.server import build_server
from demo_app.telemetry import get_logger, setup_telemetry


def main() -> None:
    settings = McpToolsSettings()
    tel = setup_telemetry(service_name="mcp-tools", component="mcp_tools")
    hosts = settings.allowed_hosts
    security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=[f"http://{h}" for h in hosts])
    app = build_server(tel=tel).streamable_http_app(host=settings.host, transport_security=security)
    get_logger().info("mcp tool server starting", host=settings.host, port=settings.port)
    try:
        # log_config=None: uvicorn keeps the JSON logging setup_telemetry configured.
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=2)
    finally:
        tel.shutdown()


if __name__ == "__main__":
    main()
