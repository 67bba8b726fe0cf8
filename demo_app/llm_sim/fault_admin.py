"""The fault admin API (/faults: add, list, clear, remove) and the gauge of active faults."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from demo_app.llm_sim.faults import FAULT_KINDS, FaultRegistry
from demo_app.llm_sim.schemas import FaultIn
from demo_app.telemetry import Telemetry, get_logger

__all__ = ["fault_router"]


def fault_router(faults: FaultRegistry, tel: Telemetry) -> APIRouter:
    log = get_logger()
    active = tel.metric("llmsim_active_faults")
    for kind in FAULT_KINDS:  # read at scrape time, so an expired fault never lingers in the gauge
        active.labels(kind=kind).set_function(lambda kind=kind: faults.count(kind))
    router = APIRouter()

    @router.post("/faults", status_code=201)
    async def add_fault(body: FaultIn) -> dict[str, Any]:
        fault = faults.add(body.kind, model=body.model, rate=body.rate, value=body.value, ttl_s=body.ttl_s)
        log.info(
            "fault added",
            fault_kind=fault.kind,
            gen_ai_request_model=fault.model or "",
            fault_id=fault.id,
            rate=fault.rate,
            value=fault.value,
            ttl_s=fault.ttl_s,
        )
        return fault.to_dict()

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"faults": [f.to_dict() for f in faults.active()]}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, int]:
        count = faults.clear()
        log.info("faults cleared", count=count)
        return {"deleted": count}

    @router.delete("/faults/{fault_id}")
    async def delete_fault(fault_id: str) -> Response:
        if not faults.remove(fault_id):
            return JSONResponse({"detail": f"no active fault {fault_id!r}"}, status_code=404)
        log.info("fault removed", fault_id=fault_id)
        return JSONResponse({"deleted": 1})

    return router
