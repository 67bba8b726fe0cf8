"""Run the LLM simulator: `python -m demo_app.llm_sim` (HOST, PORT, LLM_SIM_* from the environment)."""

from __future__ import annotations

import uvicorn

from demo_app.llm_sim.api import create_app
from demo_app.llm_sim.config import SimSettings


def main() -> None:
    settings = SimSettings()
    app = create_app(settings)
    # log_config=None keeps the structlog set-up of setup_telemetry; a short graceful
    # shutdown because a "timeout" fault may hold requests open for minutes.
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
