"""The telemetry contract is self-consistent and its reference page is up to date."""

from __future__ import annotations

import re

import pytest

from demo_app.contract import _parse, load_contract
from demo_app.contract_docs import render

SEMCONV_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TestContractFile:
    """contract.yaml loads, and every name in it follows the Prometheus/OTel rules."""

    def test_every_metric_has_a_valid_name_and_help(self):
        c = load_contract()
        assert len(c.metrics) >= 15
        for m in c.metrics:
            assert SEMCONV_NAME.match(m.name), m.name
            assert m.help.strip(), f"{m.name} has no help text"
            if m.type == "histogram":
                assert m.buckets and list(m.buckets) == sorted(m.buckets), f"{m.name}: buckets must be sorted"
            if m.unit == "s":
                assert m.name.endswith("_seconds"), f"{m.name}: seconds metrics end in _seconds"

    def test_metric_names_are_unique(self):
        names = [m.name for m in load_contract().metrics]
        assert len(names) == len(set(names))

    def test_own_metrics_use_the_prefix_and_semconv_ones_name_their_otel_instrument(self):
        c = load_contract()
        for m in c.metrics_for("app"):
            if m.otel_name:
                # OTel -> Prometheus: dots become underscores, the unit becomes a suffix.
                assert m.name.startswith(m.otel_name.replace(".", "_")), m.name
            else:
                assert m.name.startswith(c.metric_prefix), m.name

    def test_no_label_can_carry_unbounded_values(self):
        for name, label in load_contract().labels.items():
            assert label.values is not None or label.pattern, f"label {name} has no bound"
            assert name not in {"request_id", "user_id", "trace_id", "prompt", "question"}

    def test_per_request_ids_are_span_attributes_and_log_fields_never_labels(self):
        # One series per conversation (or response) would be unbounded: these ids are looked up
        # in traces and logs (TraceQL, LogQL), never in Prometheus.
        c = load_contract()
        ids = {"gen_ai_conversation_id", "conversation_id", "conversation_turn", "gen_ai_response_id", "response_id"}
        assert not ids & set(c.labels), ids & set(c.labels)
        assert not [m.name for m in c.metrics if ids & set(m.labels) or any("conversation" in lbl for lbl in m.labels)]
        spans = {s.name: s for s in c.spans}
        for name in ("POST {http.route}", "chat {gen_ai.request.model}", "evaluate answer"):
            assert "gen_ai.conversation.id" in spans[name].optional, name
        assert {"gen_ai_conversation_id", "conversation_turn"} <= set(c.log_fields_optional)

    def test_events_name_their_span_and_are_log_fields_too(self):
        c = load_contract()
        (evaluation,) = [e for e in c.events if e.name == "gen_ai.evaluation.result"]
        assert evaluation.span == "evaluate answer"
        assert {"gen_ai.evaluation.name", "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label",
                "gen_ai.evaluation.explanation"} == set(evaluation.required)
        # The log record of an event carries the same attributes as JSON fields, plus its event name.
        # (its conversation id as gen_ai_conversation_id, the field of every line of a conversation).
        attributes = {*evaluation.required, *evaluation.optional} - {"gen_ai.conversation.id"}
        assert {*attributes, "event_name", "gen_ai_conversation_id"} <= set(c.log_fields_optional)
        assert "gen_ai.conversation.id" not in c.log_fields_optional

    def test_span_templates_match_concrete_names(self):
        spans = {s.name: s for s in load_contract().spans}
        assert spans["chat {gen_ai.request.model}"].matches("chat sim-large")
        assert not spans["chat {gen_ai.request.model}"].matches("chat")
        assert spans["execute_tool {gen_ai.tool.name}"].matches("execute_tool calculator")

    def test_an_undeclared_label_is_rejected(self):
        raw = {
            "version": 1, "semconv_version": "1.41.0", "metric_prefix": "x_",
            "labels": {"a": {"description": "d", "values": ["1"]}},
            "buckets": {},
            "metrics": [{"name": "x_total", "component": "app", "type": "counter", "unit": "1",
                         "help": "h", "labels": ["a", "b"]}],
            "spans": [], "log_fields": {"always": [], "in_request": []},
        }
        with pytest.raises(ValueError, match="not declared"):
            _parse(raw)


def test_reference_page_is_generated_from_the_contract(repo_root):
    committed = (repo_root / "docs" / "telemetry-contract.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/telemetry-contract.md is stale: run `make contract-docs`"
