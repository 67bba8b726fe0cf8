"""Spans follow the contract, one trace spans app and simulator, every log line carries its trace."""

from __future__ import annotations

from demo_app.contract import load_contract
from demo_app.procs import poll_until

CONTRACT = load_contract()


def _contract_span(name: str, component: str):
    return next((s for s in CONTRACT.spans if s.component == component and s.matches(name)), None)


def _trace(sink, trace_id: str, expected: set[str]) -> list[dict]:
    """Spans of one trace, once every name template in `expected` has arrived.

    The app's server span ends last, so waiting for it too means the trace is complete.
    """

    def complete():
        spans = sink.spans(trace_id)
        names = {s["name"] for s in spans}
        app_server = any(s["service"] == "demo-app" and s["kind"] == "SERVER" for s in spans)
        return spans if app_server and all(any(_matches(t, n) for n in names) for t in expected) else None

    return poll_until(complete, f"spans {sorted(expected)} of trace {trace_id}", 20)


def _matches(template: str, name: str) -> bool:
    spec = next(s for s in CONTRACT.spans if s.name == template)
    return spec.matches(name)


def _assert_contract(spans: list[dict]) -> None:
    for span in spans:
        component = {"llm-sim": "llm_sim", "mcp-tools": "mcp_tools"}.get(span["service"], "app")
        spec = _contract_span(span["name"], component)
        if spec is None:  # not ours to name (e.g. a span a library adds)
            continue
        missing = [a for a in spec.required if a not in span["attributes"]]
        assert not missing, f"{span['name']} lacks {missing}"
        assert span["kind"] == spec.kind, (span["name"], span["kind"])


def test_ask_trace_spans_app_and_simulator(app, post, sink) -> None:
    trace_id = post(app, "/v1/ask", {"question": "How do I share a page?", "user_tier": "pro"}).json()["trace_id"]
    spans = _trace(sink, trace_id, {"POST {http.route}", "retrieve documents", "chat {gen_ai.request.model}", "evaluate answer", "POST /v1/chat/completions"})
    _assert_contract(spans)
    services = {s["service"] for s in spans}
    assert services == {"demo-app", "llm-sim"}
    by_id = {s["span_id"]: s for s in spans}
    chat = next(s for s in spans if s["name"] == "chat sim-medium")
    sim_server = next(s for s in spans if s["service"] == "llm-sim" and s["kind"] == "SERVER")
    # The simulator's server span is the chat span's child: the LLM client sends the chat
    # span's traceparent itself, no HTTP client span sits between them.
    parent = by_id.get(sim_server["parent_span_id"], {}).get("name")
    assert sim_server["parent_span_id"] == chat["span_id"], f"simulator span's parent is {parent!r}, not the chat span"
    attrs = chat["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.response.model"] == "sim-medium"
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["gen_ai.response.id"].startswith("chatcmpl-") and attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.input.messages" in attrs  # the shared app captures content (masked)
    # The versioned prompt file the system message came from (shipped: one version per feature).
    assert (attrs["gen_ai.prompt.name"], attrs["gen_ai.prompt.version"]) == ("qa", "v1")
    server = next(s for s in spans if s["name"] == "POST /v1/ask")
    assert server["attributes"]["app.feature"] == "qa" and server["attributes"]["app.user_tier"] == "pro"


def test_agent_trace_has_agent_and_tool_spans(app, post, sink) -> None:
    body = {"task": "What is 18 * 12 for the Business plan?", "max_steps": 10, "user_tier": "pro"}
    trace_id = post(app, "/v1/agent", body).json()["trace_id"]
    # The shared app calls its tools over MCP, as compose runs it: the researcher's search runs
    # on the tool server (tools/call search_documents), not in a "retrieve documents" span.
    spans = _trace(sink, trace_id, {"invoke_agent {gen_ai.agent.name}", "execute_tool {gen_ai.tool.name}", "tools/call {gen_ai.tool.name}"})
    _assert_contract(spans)
    names = {s["name"] for s in spans}
    assert {"invoke_agent supervisor", "invoke_agent researcher", "invoke_agent analyst", "invoke_agent writer"} <= names
    assert {"execute_tool search_documents", "execute_tool calculator", "execute_tool word_count"} <= names
    assert "retrieve documents" not in names
    by_id = {s["span_id"]: s for s in spans}
    researcher = next(s for s in spans if s["name"] == "invoke_agent researcher")
    assert by_id[researcher["parent_span_id"]]["name"] == "execute_tool ask_researcher"
    # Agent turns are not built from a prompt file: no prompt name or version on their chat spans.
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert chats and not any("gen_ai.prompt.name" in s["attributes"] for s in chats)


def test_every_log_line_is_json_with_its_trace(app, post, sink, json_log) -> None:
    trace_id = post(app, "/v1/ask", {"question": "What is the upload limit?", "user_tier": "pro"}).json()["trace_id"]
    spans = _trace(sink, trace_id, {"evaluate answer"})
    span_ids = {s["span_id"] for s in spans}
    events = json_log(app)  # fails on any non-JSON line
    declared = {*CONTRACT.log_fields_always, *CONTRACT.log_fields_in_request, *CONTRACT.log_fields_optional}
    for event in events:
        assert {"timestamp", "level", "event", "service", "request_id", "trace_id", "span_id"} <= set(event), event
        assert set(event) <= declared, f"log fields missing from the contract: {set(event) - declared}"
    mine = [e for e in events if e["trace_id"] == trace_id]
    assert {"llm call", "request"} <= {e["event"] for e in mine}
    assert all(e["span_id"] in span_ids for e in mine)
    assert len({e["request_id"] for e in mine}) == 1
    # The answer's outcome is on the request line itself: one line per request, no second one.
    assert "question answered" not in {e["event"] for e in mine}
    line = next(e for e in mine if e["event"] == "request")
    assert line["status_code"] == 200 and line["gen_ai_response_model"] and 0 <= line["faithfulness"] <= 1, line
    assert line["question_chars"] == len("What is the upload limit?") and line["feature"] == "qa", line

    def shipped():  # the request record is emitted after the response: wait for it too
        records = sink.logs(trace_id)
        return records if {"llm call", "request"} <= {r["body"] for r in records} else None

    poll_until(shipped, "OTLP log records of the request", 15)
