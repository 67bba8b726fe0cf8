"""The simulator's FastAPI app: telemetry, the OpenAI error mapping, the routers, health.

Routes live by responsibility: chat (POST /v1/chat/completions, with streaming in
streaming.py), fault_admin (/faults), and here the read-only model list and /healthz.
Response bodies come from responses.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from demo_app.catalogue import DEFAULT_MODELS_FILE
from demo_app.contract import load_contract
from demo_app.llm_sim.chat import chat_router
from demo_app.llm_sim.config import SimSettings
from demo_app.llm_sim.fault_admin import fault_router
from demo_app.llm_sim.faults import FaultRegistry
from demo_app.llm_sim.models import MODELS, get_model
from demo_app.llm_sim.responses import error, model_card, unknown_model
from demo_app.telemetry import setup_telemetry

__all__ = ["create_app"]


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # registered for that exception only
    if not request.url.path.startswith("/v1/"):
        return await request_validation_exception_handler(request, exc)
    # The OpenAI API answers a malformed body with 400 and its error shape.
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    return error(400, f"Invalid request: {'.'.join(loc) or 'body'}: {first.get('msg')}", "invalid_request_error", param=".".join(loc) or None)


def _add_catalogue_and_health(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card(name) for name in MODELS]}

    @app.get("/v1/models/{model}")
    async def retrieve_model(model: str) -> Response:
        if get_model(model) is None:
            return unknown_model(model)
        return JSONResponse(model_card(model))


def create_app(settings: SimSettings | None = None, registry: FaultRegistry | None = None) -> FastAPI:
    """The simulator's FastAPI app, instrumented (traces, request ids, GET /metrics)."""
    settings = settings or SimSettings()
    faults = registry or FaultRegistry()
    # The simulator serves the simulator catalogue's models whatever LLM_MODELS_FILE the app
    # beside it uses: its model labels come from that catalogue, not from the environment.
    tel = setup_telemetry(service_name="llm-sim", component="llm_sim", contract=load_contract(models_file=DEFAULT_MODELS_FILE))
    app = FastAPI(title="LLM simulator", version="1.0", description="OpenAI-compatible chat completions with fault injection.")
    app.add_exception_handler(RequestValidationError, _invalid)
    _add_catalogue_and_health(app)
    app.include_router(chat_router(settings, faults, tel))
    app.include_router(fault_router(faults, tel))
    tel.instrument(app)
    return app
