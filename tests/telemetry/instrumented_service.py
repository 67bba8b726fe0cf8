"""A minimal FastAPI service wired with setup_telemetry, run as a process by the telemetry tests.

Its endpoint deliberately puts secrets everywhere the telemetry could leak them: a log
event, a raw span attribute (bypassing the masking helper), an exception recorded on a
span. Not collected by pytest (no test_ prefix). SERVER_SPANS=fastapi builds the app with
FastAPI's own telemetry (as the demo app does) instead of the contrib instrumentation.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from demo_app.telemetry import current_ids, get_logger, set_attributes, setup_telemetry

tel = setup_telemetry(service_name="telemetry-under-test", component="app")
SERVER_SPANS = os.environ.get("SERVER_SPANS", "instrumentation")
app = FastAPI(telemetry=tel.fastapi_telemetry()) if SERVER_SPANS == "fastapi" else FastAPI()
log = get_logger()


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/v1/ask")
async def ask(payload: dict) -> dict:
    secret = str(payload.get("secret", ""))
    log.info("handling", question=secret, nested={"items": [secret]})
    tracer = tel.tracer()
    with tracer.start_as_current_span("retrieve documents") as span:
        span.set_attribute("raw.attribute", secret)  # raw on purpose: the exporter must mask it
        set_attributes(span, {"helper.attribute": secret, "skipped": None})
        try:
            raise ValueError(f"boom with {secret}")
        except ValueError as exc:
            span.record_exception(exc)
        log.warning("inside child span")
    trace_id, span_id = current_ids()
    return {"trace_id": trace_id, "span_id": span_id}


@app.get("/boom")
async def boom() -> dict:
    raise ZeroDivisionError("unhandled on purpose")


if __name__ == "__main__":
    tel.instrument(app, server_spans="fastapi" if SERVER_SPANS == "fastapi" else "instrumentation")
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None, access_log=False)
