"""Build the demo app: telemetry first, then the shared services, routes and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from demo_app.app.admin import build_admin_router
from demo_app.app.api import build_router, install_error_handlers
from demo_app.app.middleware import BodySizeLimitMiddleware
from demo_app.app.services import Services
from demo_app.config import get_settings
from demo_app.telemetry import get_logger, setup_telemetry

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """The instrumented FastAPI app, configured from the environment (demo_app.config)."""
    settings, tiers, tel_settings = get_settings()
    # Telemetry before anything else, so the HTTP clients created below are instrumented.
    tel = setup_telemetry(service_name="demo-app", component="app", settings=tel_settings)
    services = Services.build(settings, tiers, tel)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        get_logger().info("app started", llm_base_url=settings.llm_base_url, port=settings.port)
        yield
        await services.llm.close()
        if services.mcp is not None:
            await services.mcp.aclose()

    app = FastAPI(
        title="llm-obs-stack demo app",
        version="1.0",
        description="A RAG question-answering and multi-agent service, instrumented with OpenTelemetry and Prometheus.",
        lifespan=lifespan,
        docs_url=None,  # no Swagger UI/redoc: static assets from a CDN, and nothing to measure
        redoc_url=None,
        # FastAPI's own OpenTelemetry makes the server spans (cheaper than the contrib instrumentation).
        telemetry=tel.fastapi_telemetry(),
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(build_router(settings))
    app.include_router(build_admin_router())
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    tel.instrument(app, server_spans="fastapi")  # adds the request-id middleware outside the size limit, and GET /metrics
    return app
