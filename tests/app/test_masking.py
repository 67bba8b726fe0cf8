"""A question carrying an API key and an e-mail address leaves no trace of either in telemetry."""

from __future__ import annotations

import json

import httpx

from demo_app.procs import poll_until

API_KEY = "sk-proj-LEAKcanary0123456789abcdef"
EMAIL = "canary.person@leak-example.com"
QUESTION = f"My key {API_KEY} stopped working, please reply to {EMAIL}. How do I rotate API tokens?"


def test_secrets_never_reach_logs_spans_or_metrics(app, sim, post, sink) -> None:
    ask = post(app, "/v1/ask", {"question": QUESTION, "user_tier": "pro"})
    streamed = post(app, "/v1/ask", {"question": QUESTION, "user_tier": "pro", "stream": True})
    agent = post(app, "/v1/agent", {"task": QUESTION, "user_tier": "pro", "max_steps": 10})
    assert ask.status_code == streamed.status_code == agent.status_code == 200

    trace_ids = [r.json()["trace_id"] for r in (ask, streamed, agent)]
    for trace_id in trace_ids:
        poll_until(
            lambda trace_id=trace_id: any(s["service"] == "demo-app" and s["kind"] == "SERVER" for s in sink.spans(trace_id)),
            f"the server span of {trace_id}",
            20,
        )
    chat_spans = [s for t in trace_ids for s in sink.spans(t) if s["name"].startswith("chat ")]
    captured = " ".join(s["attributes"].get("gen_ai.input.messages", "") for s in chat_spans)
    assert "[REDACTED_API_KEY]" in captured and "[REDACTED_EMAIL]" in captured  # content was captured, masked

    metrics = httpx.get(f"{app.url}/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=5).text
    everywhere = {
        "app stdout": app.log(),
        "simulator stdout": sim.log(),
        "spans": json.dumps(sink.spans()),
        "OTLP logs": json.dumps(sink.logs()),
        "metrics": metrics,
    }
    for where, text in everywhere.items():
        for secret in (API_KEY, "LEAKcanary", EMAIL, "canary.person", "leak-example.com"):
            assert secret not in text, f"{secret!r} leaked into {where}"
