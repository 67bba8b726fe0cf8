"""Settings of the MCP tool server, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["McpToolsSettings"]


class McpToolsSettings(BaseSettings):
    """`python -m demo_app.mcp_tools` settings; names are the environment variables (any case)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8083, ge=1, le=65535)
