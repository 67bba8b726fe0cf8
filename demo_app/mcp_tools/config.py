"""Settings of the MCP tool server, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["McpToolsSettings"]


class McpToolsSettings(BaseSettings):
    """`python -m demo_app.mcp_tools` settings; names are the environment variables (any case)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8084, ge=1, le=65535)
    # Host headers the server answers (the SDK's DNS-rebinding protection, kept on even when
    # it listens on 0.0.0.0 in compose): loopback, and the compose service name the app calls.
    # Comma-separated host:port patterns, `*` for any port.
    mcp_allowed_hosts: str = "127.0.0.1:*,localhost:*,[::1]:*,mcp-tools:*"

    @field_validator("mcp_allowed_hosts")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not [h for h in value.split(",") if h.strip()]:
            raise ValueError("MCP_ALLOWED_HOSTS must list at least one host:port pattern, e.g. 127.0.0.1:*")
        return value

    @property
    def allowed_hosts(self) -> list[str]:
        return [h.strip() for h in self.mcp_allowed_hosts.split(",") if h.strip()]
