"""bench/sdk_floor.py: what a request recorded is read right, and the replay ships exactly what was captured."""

from __future__ import annotations

import json

import pytest

from bench import sdk_floor
from demo_app.contract import load_contract
from demo_app.native.otlp_sink import OtlpSink


def _metric(kind: str, *, exemplars: bool | None = None):
    for metric in load_contract().metrics_for("app"):
        if metric.type == kind and metric.labels and (exemplars is None or metric.exemplars == exemplars):
            return metric
    raise AssertionError(f"the contract has no app {kind} with labels")


def test_a_request_observes_what_the_counts_moved_by():
    labels = (("model", "m"),)
    before = {("h", labels): ("observe", 3.0, 1.5), ("c_total", labels): ("inc", 0.0, 2.0), ("idle", labels): ("observe", 1.0, 1.0)}
    after = {("h", labels): ("observe", 5.0, 2.5), ("c_total", labels): ("inc", 0.0, 2.25), ("idle", labels): ("observe", 1.0, 1.0),
             ("new", labels): ("observe", 1.0, 0.25)}
    obs = sdk_floor.observations(before, after)
    assert obs.count({"metric": "h", "labels": {"model": "m"}, "kind": "observe", "value": 0.5}) == 2
    assert {"metric": "c_total", "labels": {"model": "m"}, "kind": "inc", "value": 0.25} in obs
    assert {"metric": "new", "labels": {"model": "m"}, "kind": "observe", "value": 0.25} in obs
    assert not [o for o in obs if o["metric"] == "idle"]
    assert len(obs) == 4


def _span(span_id: str, parent: str, name: str, start: int, **attributes):
    return {"trace_id": "t1", "span_id": span_id, "parent_span_id": parent, "name": name, "kind": "INTERNAL", "scope": "demo_app",
            "attributes": attributes, "events": [], "status": {"code": "UNSET", "message": ""}, "start_ns": start}


def test_log_records_hang_under_the_span_they_carry():
    spans = [_span("b", "a", "child", 2), _span("a", "", "root", 1), _span("c", "a", "second", 3)]
    logs = [{"span_id": "b", "time_ns": 5, "event_name": "", "severity_number": 9, "severity_text": "INFO", "body": "x", "attributes": {}},
            {"span_id": "zz", "time_ns": 6, "event_name": "", "severity_number": 9, "severity_text": "INFO", "body": "lost", "attributes": {}}]
    (root,) = sdk_floor.span_trees(spans, logs)
    assert root["name"] == "root"
    assert [c["name"] for c in root["children"]] == ["child", "second"]
    assert [r["body"] for r in root["children"][0]["logs"]] == ["x"]
    assert not root["logs"] and not root["children"][1]["logs"]


@pytest.fixture
def capture() -> dict:
    histogram, counter = _metric("histogram", exemplars=True), _metric("counter")
    h_labels = {name: "v" for name in histogram.labels}
    c_labels = {name: "v" for name in counter.labels}
    root = {
        "name": "POST /v1/ask", "kind": "SERVER", "scope": "opentelemetry.instrumentation.fastapi",
        "attributes": {"http.request.method": "POST", "http.response.status_code": 200},
        "events": [], "status": {"code": "UNSET", "message": ""}, "logs": [
            {"event_name": "", "severity_number": 9, "severity_text": "INFO", "body": "request", "attributes": {"status": 200}}],
        "children": [{
            "name": "chat sim-large", "kind": "CLIENT", "scope": "demo_app", "attributes": {"gen_ai.request.model": "sim-large"},
            "events": [{"name": "gen_ai.evaluation.result", "attributes": {"gen_ai.evaluation.score.value": 0.5}}],
            "status": {"code": "ERROR", "message": "boom"}, "children": [],
            "logs": [{"event_name": "gen_ai.evaluation.result", "severity_number": 9, "severity_text": "INFO", "body": "scored",
                      "attributes": {"gen_ai.evaluation.name": "relevance"}}],
        }],
    }
    return {
        "resource": {"service.name": "floor-test"},
        "requests": [{
            "spans": [root],
            "observations": [{"metric": histogram.name, "labels": h_labels, "kind": "observe", "value": 0.25},
                             {"metric": counter.name, "labels": c_labels, "kind": "inc", "value": 2.0}],
            "counts": {"spans": 2, "log_records": 2, "observations": 2},
        }],
        "_metrics": (histogram, h_labels, counter, c_labels),
    }


def test_the_replay_ships_the_captured_items_through_the_sdk(capture):
    histogram, h_labels, counter, c_labels = capture.pop("_metrics")
    with OtlpSink() as sink:
        replay_one, flush, registry = sdk_floor._build("spans + log records + metrics (always on)", sink.endpoint, capture)
        for i in range(3):
            replay_one(i)
        flush()
        spans, logs = sink.spans(), sink.logs()
    assert sorted(s["name"] for s in spans) == ["POST /v1/ask"] * 3 + ["chat sim-large"] * 3
    for chat in (s for s in spans if s["name"] == "chat sim-large"):
        parent = next(s for s in spans if s["span_id"] == chat["parent_span_id"])
        assert parent["name"] == "POST /v1/ask" and parent["trace_id"] == chat["trace_id"]
        assert chat["kind"] == "CLIENT" and chat["scope"] == "demo_app"
        assert chat["attributes"] == {"gen_ai.request.model": "sim-large"}
        assert chat["events"] == [{"name": "gen_ai.evaluation.result", "attributes": {"gen_ai.evaluation.score.value": 0.5}}]
        assert chat["status"] == {"code": "ERROR", "message": "boom"}
        assert chat["resource"]["service.name"] == "floor-test"
    by_span = {s["span_id"]: s["name"] for s in spans}
    assert sorted((by_span[r["span_id"]], r["body"], r["event_name"]) for r in logs) == sorted(
        [("POST /v1/ask", "request", "")] * 3 + [("chat sim-large", "scored", "gen_ai.evaluation.result")] * 3)
    assert registry.get_sample_value(f"{histogram.name}_count", h_labels) == 3
    assert registry.get_sample_value(counter.name, c_labels) == 6.0


def test_beside_other_work_the_same_items_are_shipped(capture):
    capture.pop("_metrics")
    with OtlpSink() as sink:
        replay_one, flush, _ = sdk_floor._build("always on, beside other work", sink.endpoint, capture)
        for i in range(2):
            replay_one(i)
        flush()
        assert sorted(s["name"] for s in sink.spans()) == ["POST /v1/ask"] * 2 + ["chat sim-large"] * 2
        assert len(sink.logs()) == 4


def test_the_api_only_arm_ships_nothing_and_sampling_keeps_every_log_record(capture):
    capture.pop("_metrics")
    with OtlpSink() as sink:
        replay_one, flush, registry = sdk_floor._build("API only", sink.endpoint, capture)
        replay_one(0)
        flush()
        assert sink.spans() == [] and sink.logs() == []
        replay_one, flush, _ = sdk_floor._build("all three, 5 % sampled", sink.endpoint, capture)
        for i in range(200):
            replay_one(i)
        flush()
        spans, logs = sink.spans(), sink.logs()
    assert len(logs) == 400  # log records are not sampled
    assert len(spans) < 60  # about 5 % of 200 traces, 2 spans each (10 expected; p(>= 30 traces) is negligible)
    assert list(registry.collect()) == []


def test_the_table_holds_each_arm_against_its_target():
    names = [*sdk_floor.ARMS, *sdk_floor.OURS, *sdk_floor.BESIDE_WORK]
    arms = {name: {"cpu_ms_per_request": {"median": 1.0, "min": 0.9, "max": 1.1},
                   "added_cpu_ms": {"median": 0.5, "min": 0.4, "max": 0.6}, "target_ms": sdk_floor.TARGETS_MS.get(name)}
            for name in names}
    result = {"settings": {"rounds": 2, "requests_per_replay": 10, "captured_requests": 3},
              "per_request": {"spans": 6, "log_records": 4, "observations": 11, "attributes_per_span": 9.5}, "arms": arms}
    overhead = {"arms": {"always on": {"cpu_ms_per_request": 5.0}, "5% sampled": {"cpu_ms_per_request": 4.0}, "off": {"cpu_ms_per_request": 3.25}}}
    text = sdk_floor.to_markdown(result, overhead)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| arm")]
    assert len(rows) == len(names)
    assert "| <= +1.0 | +1.75 |" in next(r for r in rows if r.startswith("| spans + log records + metrics"))
    assert "| <= +0.5 | +0.75 |" in next(r for r in rows if r.startswith("| all three, 5 %"))
    assert "6 spans with 9.5 attributes" in text


def test_the_ours_arms_ship_the_same_items_through_the_telemetry_package(capture, tmp_path):
    capture.pop("_metrics")
    # The synthetic label values are not the contract's (the wrappers would drop them, and log so).
    capture["requests"][0]["observations"] = []
    capture_file = tmp_path / "capture.json"
    capture_file.write_text(json.dumps(capture))
    with OtlpSink() as sink:
        result = sdk_floor._replay_process("ours, always on", capture_file, sink.endpoint, requests=3, warmup=0)
        spans, logs = sink.spans(), sink.logs()
        sink.clear()
        sdk_floor._replay_process("ours, off", capture_file, sink.endpoint, requests=3, warmup=0)
        assert sink.spans() == [] and sink.logs() == []
    assert result["cpu_ms_per_request"] > 0
    assert sorted(s["name"] for s in spans) == ["POST /v1/ask"] * 3 + ["chat sim-large"] * 3
    chat = next(s for s in spans if s["name"] == "chat sim-large")
    assert chat["attributes"] == {"gen_ai.request.model": "sim-large"} and chat["status"] == {"code": "ERROR", "message": "boom"}
    by_span = {s["span_id"]: s["name"] for s in spans}
    assert sorted((by_span[r["span_id"]], r["body"], r["event_name"]) for r in logs) == sorted(
        [("POST /v1/ask", "request", "")] * 3 + [("chat sim-large", "scored", "gen_ai.evaluation.result")] * 3)
    scored = next(r for r in logs if r["body"] == "scored")
    assert scored["attributes"]["gen_ai.evaluation.name"] == "relevance"
