"""The conversations dashboard reads only traces and logs, by names the telemetry contract declares."""

from __future__ import annotations

import re

from demo_app.contract import load_contract

CONTRACT = load_contract()
DASHBOARD = "llm-conversations.json"
# Span-scoped attributes in TraceQL (span.x); the dashboard reads no resource attributes.
SPAN_ATTRIBUTE = re.compile(r"\bspan\.([a-z_][a-z0-9_.]*)")
# LogQL label filters after the stream selector: `| name="..."`, `| name=~"..."`, `| name!=""`, unwrap name.
LOG_FIELD = re.compile(r"\|\s*(?:unwrap\s+)?([a-z_][a-z0-9_]*)\s*(?:[=!]~?|\[|\))")


def _targets(dashboard, all_panels):
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            yield panel["title"], uid, target.get("expr") or target.get("query") or ""


def test_no_panel_reads_metrics_and_each_shows_the_picked_conversation(dashboards, all_panels):
    targets = list(_targets(dashboards[DASHBOARD], all_panels))
    assert {uid for _, uid, _ in targets} == {"tempo", "loki"}  # no metric has a conversation id
    for title, _, query in targets:
        if title != "Recent conversations":
            assert "$conversation_id" in query, title
    (recent,) = [q for t, _, q in targets if t == "Recent conversations"]
    assert 'span.gen_ai.conversation.id != ""' in recent and "select(span.gen_ai.conversation.id" in recent


def test_every_attribute_and_log_field_it_reads_is_in_the_contract(dashboards, all_panels):
    span_attributes = {a for s in CONTRACT.spans for a in (*s.required, *s.optional)}
    # Loki keeps OTLP log attributes as structured metadata with dots turned into underscores.
    log_fields = {f.replace(".", "_") for f in (*CONTRACT.log_fields_in_request, *CONTRACT.log_fields_optional)}
    read_spans, read_logs = set(), set()
    for _, uid, query in _targets(dashboards[DASHBOARD], all_panels):
        if uid == "tempo":
            read_spans |= set(SPAN_ATTRIBUTE.findall(query))
        else:
            read_logs |= set(LOG_FIELD.findall(query.split("}", 1)[1]))
    assert {"gen_ai.conversation.id", "app.conversation.turn", "app.cost_usd", "gen_ai.usage.input_tokens"} <= read_spans
    assert {"gen_ai_conversation_id", "gen_ai_evaluation_name", "input_tokens", "cost_usd"} <= read_logs
    assert read_spans <= span_attributes, read_spans - span_attributes
    assert read_logs <= log_fields, read_logs - log_fields
