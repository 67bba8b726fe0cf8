"""Run the alert receiver: `python -m demo_app.alert_sink` (HOST, PORT, ALERT_SINK_MAX from the environment)."""

from __future__ import annotations

import uvicorn

from demo_app.alert_sink.api import create_app
from demo_app.alert_sink.config import SinkSettings


def main() -> None:
    settings = SinkSettings()
    app = create_app(settings)
    # log_config=None keeps the structlog set-up of setup_telemetry.
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
