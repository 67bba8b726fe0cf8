"""Telemetry for every component: OTel traces and logs, structlog JSON, contract metrics, masking.

Usage, once at start:

    from demo_app.telemetry import setup_telemetry, get_logger
    tel = setup_telemetry(service_name="llm-sim", component="llm_sim")
    tel.instrument(fastapi_app)          # server spans, X-Request-ID, GET /metrics
    counter = tel.metric("llmsim_requests_total")
    get_logger().info("started", port=8081)
"""

from demo_app.telemetry.asgi import add_request_fields
from demo_app.telemetry.core import Telemetry, setup_telemetry
from demo_app.telemetry.logs import get_logger
from demo_app.telemetry.masking import mask
from demo_app.telemetry.metrics import LabelValueError, current_exemplar
from demo_app.telemetry.tracing import current_ids, inject_trace_context, set_attributes

__all__ = [
    "Telemetry",
    "setup_telemetry",
    "get_logger",
    "add_request_fields",
    "mask",
    "set_attributes",
    "current_ids",
    "inject_trace_context",
    "current_exemplar",
    "LabelValueError",
]
