"""A conversation's turns are found by its id: separate traces, in order, with their log lines and evaluation events.

Native mode has no Tempo or Loki: the OTLP sink holds the spans and log records they would.
The traffic is the baseline's (its mix sends a quarter of the questions as turns of 2-4 turn
conversations); what the conversations dashboard's TraceQL and LogQL select is applied here
to the sink's spans and records: server spans with `gen_ai.conversation.id` equal to the id,
log records with the `gen_ai_conversation_id` attribute.
"""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
def test_a_conversations_turns_are_found_by_its_id(stack, baseline):
    assert baseline.stats.ok > 0
    spans = httpx.get(f"{stack.url('otlp')}/spans", timeout=60).json()
    records = httpx.get(f"{stack.url('otlp')}/logs", timeout=60).json()
    turns: dict[str, list[dict]] = {}
    for span in spans:
        attrs = span["attributes"]
        if span["service"] == "demo-app" and span["kind"] == "SERVER" and "gen_ai.conversation.id" in attrs:
            turns.setdefault(attrs["gen_ai.conversation.id"], []).append(span)
    # Conversations seen from their first turn (the sink keeps only its newest items), with more than one.
    whole = {cid: sorted(t, key=lambda s: s["start_ns"]) for cid, t in turns.items()
             if len(t) > 1 and min(s["attributes"]["app.conversation.turn"] for s in t) == 1}
    assert len(whole) >= 3, f"{len(turns)} conversations, turns per conversation: {sorted(len(t) for t in turns.values())}"
    for cid, ordered in whole.items():
        numbers = [s["attributes"]["app.conversation.turn"] for s in ordered]
        assert numbers == list(range(1, len(ordered) + 1)), (cid, numbers)  # in order, none missing
        traces = [s["trace_id"] for s in ordered]
        assert len(set(traces)) == len(traces), (cid, traces)  # one trace per turn
        # The turn's LLM calls carry the id too, and the turn's log lines (evaluation events included).
        chats = [s for s in spans if s["trace_id"] in traces and s["name"].startswith("chat ")]
        assert chats and all(s["attributes"].get("gen_ai.conversation.id") == cid for s in chats), cid
        lines = [r for r in records if r["attributes"].get("gen_ai_conversation_id") == cid]
        assert {r["trace_id"] for r in lines} == set(traces), cid
        answered = [s for s in ordered if s["attributes"]["http.response.status_code"] == 200]
        evaluations = [r for r in lines if r["event_name"] == "gen_ai.evaluation.result"]
        assert len(evaluations) == 2 * len(answered), cid  # faithfulness and relevancy of every answered turn
        assert {r["trace_id"] for r in evaluations} == {s["trace_id"] for s in answered}, cid
    print(f"\n{len(turns)} conversations in the sink, {len(whole)} seen whole: "
          f"turns {sorted(len(t) for t in whole.values())}")
