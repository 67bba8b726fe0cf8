"""The agents' tools over MCP: a real tool server process, one trace across both sides, errors handed to the model.

The shared app runs with MCP_TOOLS_URL pointing at `python -m demo_app.mcp_tools`; both
export to the session's OTLP sink, so the trace of one /v1/agent request must hold the
agent's execute_tool span, the client's `tools/call {tool}` span and the server's.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from demo_app.app.tools import TOOL_SPECS
from demo_app.contract import load_contract
from demo_app.native.otlp_sink import OtlpSink
from demo_app.procs import Proc, free_port, poll_until

CONTRACT = load_contract()
TASK = "What does the Business plan cost for 12 members billed annually? Compute 15 * 12."
WORKER_TOOLS = {"search_documents", "calculator", "word_count"}


@pytest.fixture
def mcp_app(app: Proc) -> Proc:
    # The shared app already calls the tool server (tests/app/conftest.py), as compose does.
    return app


def _histogram_count(proc: Proc, family: str, **labels: str) -> float:
    """The _count of one series of `family` on a process's /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{proc.url}/metrics", timeout=5).text
    for metric in text_string_to_metric_families(text):
        if metric.name == family:
            for sample in metric.samples:
                if sample.name == f"{family}_count" and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
    return 0.0


def _spec(name: str, component: str):
    return next(s for s in CONTRACT.spans if s.component == component and s.matches(name))


def test_one_trace_holds_the_agent_the_mcp_client_and_the_mcp_server(mcp_app: Proc, tool_server: Proc, post, sink: OtlpSink) -> None:
    response = post(mcp_app, "/v1/agent", {"task": TASK, "max_steps": 10, "user_tier": "pro"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["outcome"] == "ok"
    assert {c["tool"] for c in data["tool_calls"] if c["agent"] != "supervisor"} == WORKER_TOOLS
    assert all(c["outcome"] == "ok" for c in data["tool_calls"])

    def server_spans() -> list[dict] | None:
        spans = sink.spans(data["trace_id"])
        served = {s["name"] for s in spans if s["service"] == "mcp-tools" and s["name"].startswith("tools/call ")}
        app_done = any(s["service"] == "demo-app" and s["kind"] == "SERVER" for s in spans)
        return spans if app_done and served >= {f"tools/call {t}" for t in WORKER_TOOLS} else None

    spans = poll_until(server_spans, "the tool server's spans in the agent's trace", 20)
    by_id = {s["span_id"]: s for s in spans}
    for tool in WORKER_TOOLS:
        server = next(s for s in spans if s["service"] == "mcp-tools" and s["name"] == f"tools/call {tool}")
        client = next(s for s in spans if s["service"] == "demo-app" and s["name"] == f"tools/call {tool}")
        # server <- the SDK's "MCP send" span <- our client span <- the agent's execute_tool span
        sdk_send = by_id[server["parent_span_id"]]
        assert sdk_send["name"] == f"MCP send tools/call {tool}" and sdk_send["parent_span_id"] == client["span_id"]
        assert by_id[client["parent_span_id"]]["name"] == f"execute_tool {tool}"
        for span, component in ((client, "app"), (server, "mcp_tools")):
            spec = _spec(span["name"], component)
            assert span["kind"] == spec.kind
            assert not [a for a in spec.required if a not in span["attributes"]], span
            assert span["attributes"]["gen_ai.tool.name"] == tool and span["attributes"]["mcp.method.name"] == "tools/call"
            assert "error.type" not in span["attributes"]
    # No argument (the question's words) travels on either side's spans.
    assert not any("arguments" in k or "Business plan" in str(v) for s in spans for k, v in s["attributes"].items()
                   if s["name"].startswith(("tools/call", "MCP send")))
    labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "calculator", "error_type": ""}
    assert _histogram_count(mcp_app, "mcp_client_operation_duration_seconds", **labels) >= 1
    assert _histogram_count(tool_server, "mcp_server_operation_duration_seconds", **labels) >= 1


def test_a_tool_error_reaches_the_model_and_both_sides_count_it(mcp_app: Proc, tool_server: Proc, post, sink: OtlpSink) -> None:
    labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "calculator", "error_type": "tool_error"}
    before = (_histogram_count(mcp_app, "mcp_client_operation_duration_seconds", **labels),
              _histogram_count(tool_server, "mcp_server_operation_duration_seconds", **labels))
    data = post(mcp_app, "/v1/agent", {"task": "Compute 15 / 0.", "max_steps": 10, "user_tier": "pro"}).json()
    assert data["outcome"] == "ok"
    assert {"agent": "analyst", "tool": "calculator", "outcome": "error"} in data["tool_calls"]
    after = (_histogram_count(mcp_app, "mcp_client_operation_duration_seconds", **labels),
             _histogram_count(tool_server, "mcp_server_operation_duration_seconds", **labels))
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1

    def failed_spans() -> list[dict] | None:
        spans = [s for s in sink.spans(data["trace_id"]) if s["name"] == "tools/call calculator"]
        return spans if len(spans) == 2 else None

    for span in poll_until(failed_spans, "both sides' failed tools/call spans", 20):
        assert span["attributes"]["error.type"] == "tool_error", span
        assert span["status"]["code"] == "ERROR"


def test_an_unreachable_tool_server_is_a_failed_tool_call_not_a_failed_request(start_app: Callable[..., Proc], post) -> None:
    app = start_app("mcp-down", {"MCP_TOOLS_URL": f"http://127.0.0.1:{free_port()}/mcp", "OTEL_SDK_DISABLED": "true"})
    response = post(app, "/v1/agent", {"task": TASK, "max_steps": 10, "user_tier": "pro"})
    assert response.status_code == 200, response.text
    worker_calls = [c for c in response.json()["tool_calls"] if c["agent"] != "supervisor"]
    assert worker_calls and all(c["outcome"] == "error" for c in worker_calls)
    labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "search_documents", "error_type": "_OTHER"}
    assert _histogram_count(app, "mcp_client_operation_duration_seconds", **labels) >= 1


def test_a_bad_mcp_tools_url_stops_the_app_with_the_setting_named(start_app: Callable[..., Proc]) -> None:
    with pytest.raises(RuntimeError, match="MCP_TOOLS_URL must be empty"):
        start_app("mcp-bad-url", {"MCP_TOOLS_URL": "127.0.0.1:8083/mcp", "OTEL_SDK_DISABLED": "true"})


def test_the_tool_server_refuses_a_foreign_host_header(tool_server: Proc) -> None:
    # DNS-rebinding protection: a page on evil.example must not reach the tools through a browser.
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    refused = httpx.post(f"{tool_server.url}/mcp", json=body, headers={**headers, "Host": "evil.example"}, timeout=5)
    assert refused.status_code == 421, refused.text
    assert httpx.get(f"{tool_server.url}/healthz", timeout=5).json()["status"] == "ok"


@pytest.fixture
def tool_faults(tool_server: Proc):
    """POST a fault to the tool server for one test; all are cleared afterwards."""

    def _add(**spec: object) -> dict:
        response = httpx.post(f"{tool_server.url}/faults", json={"ttl_s": 60, **spec}, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()

    yield _add
    httpx.delete(f"{tool_server.url}/faults", timeout=5)


def test_an_injected_tool_fault_fails_that_tool_only(mcp_app: Proc, tool_server: Proc, tool_faults, post) -> None:
    labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": "search_documents", "error_type": "_OTHER"}
    before = _histogram_count(tool_server, "mcp_server_operation_duration_seconds", **labels)
    fault = tool_faults(kind="error", tool="search_documents")
    assert [f["id"] for f in httpx.get(f"{tool_server.url}/faults", timeout=5).json()["faults"]] == [fault["id"]]
    data = post(mcp_app, "/v1/agent", {"task": TASK, "max_steps": 10, "user_tier": "pro"}).json()
    outcomes = {c["tool"]: c["outcome"] for c in data["tool_calls"] if c["agent"] != "supervisor"}
    assert outcomes == {"search_documents": "error", "calculator": "ok", "word_count": "ok"}, data["tool_calls"]
    # The server counts a crash as _OTHER; the client saw a result with isError=true (tool_error).
    assert _histogram_count(tool_server, "mcp_server_operation_duration_seconds", **labels) == before + 1
    assert httpx.delete(f"{tool_server.url}/faults/{fault['id']}", timeout=5).status_code == 204
    assert httpx.delete(f"{tool_server.url}/faults/{fault['id']}", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "spec, field",
    [({"kind": "explode"}, "kind"), ({"kind": "error", "tool": "rm_rf"}, "tool"), ({"kind": "latency", "value": 600}, "value"),
     ({"kind": "error", "rate": 2}, "rate"), ({"kind": "error", "ttl_s": 0}, "ttl_s"), ({"kind": "error", "model": "x"}, "model")],
)
def test_a_bad_fault_is_a_422_naming_the_field(tool_server: Proc, spec: dict, field: str) -> None:
    response = httpx.post(f"{tool_server.url}/faults", json=spec, timeout=5)
    assert response.status_code == 422, response.text
    assert any(p.startswith(field) for p in response.json()["detail"]), response.json()
    assert httpx.get(f"{tool_server.url}/faults", timeout=5).json()["faults"] == []


def test_a_bad_tool_name_is_a_422_listing_the_tools(tool_server: Proc) -> None:
    response = httpx.post(f"{tool_server.url}/faults", json={"kind": "error", "tool": "rm_rf"}, timeout=5)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem.startswith("tool: ") and all(name in problem for name in TOOL_SPECS), problem
