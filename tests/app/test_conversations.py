"""/v1/ask conversations: validated ids, history sent to the model, the id on spans and logs but never on metrics;
quality scores as gen_ai.evaluation.result events on the span and as OTLP log records."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from demo_app.procs import poll_until

QUESTIONS = ("How do I share a page?", "Can I share it with people outside my workspace?")


def _server_span(sink, trace_id: str) -> dict:
    def find():
        return next((s for s in sink.spans(trace_id) if s["service"] == "demo-app" and s["kind"] == "SERVER"), None)

    return poll_until(find, f"server span of {trace_id}", 20)


def _conversation(app, post, cid: str) -> list[dict]:
    answers = []
    for question in QUESTIONS:
        response = post(app, "/v1/ask", {"question": question, "user_tier": "pro", "conversation_id": cid})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


@pytest.mark.parametrize(
    "cid",
    ["", "x" * 65, "has space", "-starts-with-dash", "emoji-\U0001f600", "line\nbreak", 123, ["a"]],
    ids=["empty", "too-long", "space", "leading-dash", "emoji", "newline", "number", "list"],
)
def test_a_bad_conversation_id_is_a_clear_422(app, post, cid) -> None:
    response = post(app, "/v1/ask", {"question": "How do I share a page?", "conversation_id": cid})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "conversation_id" in json.dumps(error), error


def test_a_64_character_id_with_every_allowed_sign_is_accepted(app, post) -> None:
    cid = ("A0._:-" + uuid.uuid4().hex * 2)[:64]
    response = post(app, "/v1/ask", {"question": "How do I share a page?", "conversation_id": cid})
    assert response.status_code == 200, response.text


def test_the_second_turn_sends_the_first_to_the_model(app, post, sink) -> None:
    cid = f"conv-{uuid.uuid4()}"
    first, second = _conversation(app, post, cid)
    assert first["trace_id"] != second["trace_id"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]  # the history costs tokens
    servers = [_server_span(sink, r["trace_id"]) for r in (first, second)]
    assert [(s["attributes"]["gen_ai.conversation.id"], s["attributes"]["app.conversation.turn"]) for s in servers] == [(cid, 1), (cid, 2)]
    chat = poll_until(lambda: next((s for s in sink.spans(second["trace_id"]) if s["name"].startswith("chat ")), None), "chat span", 20)
    assert chat["attributes"]["gen_ai.conversation.id"] == cid
    # The history follows the shared system prompt: the provider's prompt cache still serves that prefix.
    assert chat["attributes"]["gen_ai.usage.cache_read.input_tokens"] > 0
    messages = json.loads(chat["attributes"]["gen_ai.input.messages"])  # the shared app captures content
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert [messages[1]["content"], messages[3]["content"]] == list(QUESTIONS)
    assert messages[2]["content"] == first["answer"]


def test_without_a_conversation_nothing_is_remembered(app, post, sink) -> None:
    trace_id = post(app, "/v1/ask", {"question": QUESTIONS[1], "user_tier": "pro"}).json()["trace_id"]
    server = _server_span(sink, trace_id)
    assert "gen_ai.conversation.id" not in server["attributes"] and "app.conversation.turn" not in server["attributes"]


def test_the_id_is_on_log_lines_and_never_on_metrics(app, post, json_log) -> None:
    cid = f"conv-{uuid.uuid4()}"
    answers = _conversation(app, post, cid)

    def turn_lines():  # the request line is written after the response: wait for it
        lines = {e["event"]: e for e in json_log(app) if e.get("trace_id") == answers[1]["trace_id"]}
        return lines if "request" in lines else None

    lines = poll_until(turn_lines, "the second turn's request line", 10)
    for event in ("llm call", "request", "gen_ai.evaluation.result"):
        assert lines[event]["gen_ai_conversation_id"] == cid and lines[event]["conversation_turn"] == 2, lines[event]
    assert lines["llm call"]["cost_usd"] > 0 and lines["llm call"]["input_tokens"] > 0
    assert lines["request"]["history_turns"] == 1
    assert cid not in httpx.get(f"{app.url}/metrics", timeout=5).text
    assert "conversation" not in httpx.get(f"{app.url}/metrics", timeout=5).text


def test_each_score_is_an_evaluation_event_on_the_span_and_a_log_record(app, post, sink) -> None:
    cid = f"conv-{uuid.uuid4()}"
    question = "What is the upload limit on the Free plan?"
    body = post(app, "/v1/ask", {"question": question, "user_tier": "pro", "conversation_id": cid}).json()
    trace_id = body["trace_id"]
    span = poll_until(lambda: next((s for s in sink.spans(trace_id) if s["name"] == "evaluate answer"), None), "evaluate span", 20)
    chat = next(s for s in sink.spans(trace_id) if s["name"].startswith("chat "))
    response_id = chat["attributes"]["gen_ai.response.id"]
    events = {e["attributes"]["gen_ai.evaluation.name"]: e for e in span["events"] if e["name"] == "gen_ai.evaluation.result"}
    assert set(events) == {"faithfulness", "relevancy"}
    for name in ("faithfulness", "relevancy"):
        attrs = events[name]["attributes"]
        assert attrs["gen_ai.evaluation.score.value"] == body[name]
        assert attrs["gen_ai.evaluation.score.label"] == ("pass" if body[name] >= 0.5 else "fail")
        assert attrs["gen_ai.response.id"] == response_id and attrs["gen_ai.conversation.id"] == cid
        assert "terms" in attrs["gen_ai.evaluation.explanation"]
    records = poll_until(
        lambda: [r for r in sink.logs(trace_id) if r["event_name"] == "gen_ai.evaluation.result"] or None, "evaluation log records", 20
    )
    assert sorted(r["attributes"]["gen_ai.evaluation.name"] for r in records) == ["faithfulness", "relevancy"]
    for record in records:
        assert record["trace_id"] == trace_id and record["span_id"] == span["span_id"]
        assert record["body"] == "gen_ai.evaluation.result" and "event_name" not in record["attributes"]
        assert record["attributes"]["gen_ai.response.id"] == response_id
        assert record["attributes"]["gen_ai_conversation_id"] == cid and "gen_ai.conversation.id" not in record["attributes"]
    shipped = json.dumps([events, [r["attributes"] for r in records]]).lower()
    for word in ("upload", "limit", "free plan", body["answer"][:20].lower()):
        assert word not in shipped, word
