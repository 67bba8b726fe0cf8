"""Settings of the alert receiver, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SinkSettings"]

MIB = 1024 * 1024


class SinkSettings(BaseSettings):
    """`python -m demo_app.alert_sink` settings; names are the environment variables (any case)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8082, ge=1, le=65535)
    # Notifications kept in memory; the oldest go first. Watchdog alone sends one a minute.
    alert_sink_max: int = Field(default=500, ge=1, le=100_000)
    # Alertmanager sends at most max_alerts (20) alerts per notification: a few KiB. A body
    # this large is not Alertmanager, and reading it whole would be a memory attack.
    alert_sink_max_body_bytes: int = Field(default=MIB, ge=1024, le=64 * MIB)
