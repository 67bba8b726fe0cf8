"""Fixtures for the load generator tests: the corpus, the alert names in the rules, a stub app server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from demo_app.loadgen.corpus import CorpusDoc, load_corpus
from demo_app.procs import free_port


@pytest.fixture(scope="session")
def docs() -> tuple[CorpusDoc, ...]:
    return load_corpus()


@pytest.fixture(scope="session")
def rule_alerts(repo_root: Path) -> dict[str, dict]:
    """{alert name: rule} from every rule file Prometheus loads (prometheus/rules/*.yml)."""
    alerts: dict[str, dict] = {}
    for path in sorted((repo_root / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[rule["alert"]] = rule
    return alerts


@dataclass
class StubApp:
    """A stand-in for the demo app that answers a fixed cycle of statuses and counts what it saw."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    delay_s: float = 0.0
    seen: list[dict] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    # ("in" | "out", conversation_id) as requests of a conversation arrive and are answered.
    conversation_log: list[tuple[str, str]] = field(default_factory=list)

    def reset(self, statuses: list[int], delay_s: float = 0.0) -> None:
        self.statuses, self.delay_s = statuses, delay_s
        self.seen.clear()
        self.answered.clear()
        self.conversation_log.clear()
        self.max_in_flight = 0

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        status = self.statuses[len(self.seen) % len(self.statuses)]
        self.seen.append(body)
        if cid := body.get("conversation_id"):
            self.conversation_log.append(("in", cid))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        self.answered.append(status)
        if cid:
            self.conversation_log.append(("out", cid))
        trace_id = f"{len(self.seen):032x}"
        if status == 200 and body.get("stream"):
            events = [json.dumps({"delta": "an answer"}), json.dumps({"trace_id": trace_id, "cost_usd": 0.001})]
            return StreamingResponse((f"data: {e}\n\n" for e in events), media_type="text/event-stream")
        if status == 200:
            return JSONResponse({"answer": "ok", "trace_id": trace_id, "cost_usd": 0.001})
        return JSONResponse({"detail": "stub"}, status_code=status)


@pytest.fixture(scope="session")
def stub_app() -> Iterator[StubApp]:
    stub = StubApp()
    app = Starlette(routes=[Route("/v1/ask", stub.handle, methods=["POST"]), Route("/v1/agent", stub.handle, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    stub.url = f"http://127.0.0.1:{port}"
    yield stub
    server.should_exit = True
    thread.join(5)
