"""A fault nobody removes expires by its TTL: the simulator heals and the alert resolves by itself.

Self-contained: it waits until no earlier test left its alert active, drives its own traffic,
and gives the alert most of the TTL to be delivered (about 45 s on an idle machine), so a
slow machine makes the test slower, not wrong.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from demo_app.loadgen.catalogue import ExpectedAlert, Fault
from demo_app.loadgen.corpus import load_corpus
from demo_app.loadgen.driver import LoadStream, drive
from demo_app.loadgen.observe import StackClient, parse_rfc3339

pytestmark = pytest.mark.e2e

TTL_S = 120  # outlives the ~45 s the alert needs to be delivered, by a wide margin
DELIVERY_TIMEOUT_S = TTL_S - 15  # delivered by then, or the fault would expire before the check
ALERT = ExpectedAlert("LLMHighLatencyP95", {"gen_ai_request_model": "sim-small"})


async def _wait(what: str, timeout: float, check):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(1.0)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


async def _notification(client: StackClient, status: str, since: float) -> float | None:
    for note in await client.notifications(alertname=ALERT.name, since=since):
        if any(a["status"] == status and ALERT.matches(a["labels"]) for a in note["alerts"]):
            return parse_rfc3339(note["received_at"])
    return None


async def _scenario(urls, e2e_session) -> dict[str, float]:
    async with StackClient(urls) as client:
        await _wait(f"{ALERT} from an earlier test to clear", 300, lambda: _inactive(client))
        t0 = time.time()
        fault_id = await client.inject(Fault("latency", rate=1.0, value=3.0, model="sim-small"), ttl_s=TTL_S)
        stop = asyncio.Event()
        load = asyncio.create_task(drive(urls.app, [LoadStream(rate=2.0)], load_corpus(), duration_s=420, seed=7, stop=stop))
        try:
            fired = await _wait(f"{ALERT} to be delivered", DELIVERY_TIMEOUT_S, lambda: _notification(client, "firing", t0))
            assert fault_id in {f["id"] for f in await client.faults()}, "the fault vanished before its TTL"
            await _wait("the fault to expire", TTL_S + 15, lambda: _gone(client, fault_id))
            expired = time.time()
            await _wait("llmsim_active_faults to drop to 0", 60, lambda: _no_active_faults(client))
            resolved = await _wait(f"{ALERT} to resolve", 180, lambda: _notification(client, "resolved", t0))
        finally:
            stop.set()
            await load
    e2e_session.trace_ids.update(load.result().trace_ids)
    return {"fired": fired - t0, "expired": expired - t0, "resolved": resolved - t0}


async def _inactive(client: StackClient) -> bool:
    return not any(ALERT.matches(a["labels"]) for a in await client.rule_alerts())


async def _gone(client: StackClient, fault_id: str) -> bool:
    return fault_id not in {f["id"] for f in await client.faults()}


async def _no_active_faults(client: StackClient) -> bool:
    return await client.scalar('sum(llmsim_active_faults{kind="latency"})') == 0


@pytest.mark.timeout(900)
def test_fault_expires_by_ttl_and_the_alert_resolves(stack, e2e_session):
    times = asyncio.run(_scenario(stack.urls, e2e_session))
    print(f"TTL drill: delivered {times['fired']:.1f}s, expired {times['expired']:.1f}s, resolved {times['resolved']:.1f}s")
    assert times["fired"] < TTL_S <= times["expired"] + 1 < times["resolved"]
