"""Run the demo app: `python -m demo_app.app` (HOST, PORT and the rest from the environment)."""

from __future__ import annotations

import uvicorn

from demo_app.app.main import create_app
from demo_app.config import get_settings


def main() -> None:
    settings = get_settings()[0]
    # log_config=None keeps the structlog set-up; access_log=False because the request-id
    # middleware already logs one line per request, with trace ids.
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
