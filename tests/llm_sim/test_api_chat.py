"""The simulator's chat API seen through the official openai SDK (a real process on 127.0.0.1)."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from demo_app.contract import load_contract

QUESTION = "How does Loki store log lines?"


def _tool(name: str, description: str, arg: str) -> dict:
    parameters = {"type": "object", "properties": {arg: {"type": "string"}}, "required": [arg]}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


TOOLS = [
    _tool("search_documents", "Search the docs.", "query"),
    _tool("calculator", "Evaluate arithmetic.", "expression"),
    _tool("word_count", "Count words.", "text"),
]


def _run_tool(name: str, args: dict) -> str:
    """The app's side of the loop, reduced to what the test needs."""
    if name == "calculator":
        return str(eval(args["expression"], {"__builtins__": {}}))
    if name == "search_documents":
        return "[tempo-3] Tempo stores distributed traces received over OTLP."
    return str(len(args["text"].split()))


class TestCompletions:
    """Plain completions parse with the SDK and carry consistent usage."""

    def test_models_listed(self, client: openai.OpenAI) -> None:
        assert sorted(m.id for m in client.models.list()) == sorted(load_contract().labels["gen_ai_request_model"].values)

    @pytest.mark.parametrize("model", ["sim-large", "sim-medium", "sim-small"])
    def test_plain_answer_from_context(self, client: openai.OpenAI, rag, model: str) -> None:
        r = client.chat.completions.create(model=model, messages=rag(QUESTION))
        text = r.choices[0].message.content
        assert r.object == "chat.completion" and r.model == model and r.id.startswith("chatcmpl-")
        assert r.choices[0].finish_reason == "stop"
        assert "Loki stores log lines in compressed chunks." in text and "[loki-2]" in text
        assert r.usage.completion_tokens == math.ceil(len(text) / 4)
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
        assert r.usage.prompt_tokens >= len(rag(QUESTION)[0]["content"]) / 4

    def test_prompt_tokens_grow_with_context(self, client: openai.OpenAI, rag) -> None:
        short = client.chat.completions.create(model="sim-small", messages=rag(QUESTION, context="[x] Loki stores logs."))
        long = client.chat.completions.create(model="sim-small", messages=rag(QUESTION))
        assert long.usage.prompt_tokens > short.usage.prompt_tokens

    def test_no_context_does_not_know(self, client: openai.OpenAI, rag) -> None:
        r = client.chat.completions.create(model="sim-medium", messages=rag("What is the capital of France?"))
        assert r.choices[0].message.content.startswith("I don't know")

    def test_max_tokens_gives_length(self, client: openai.OpenAI, rag) -> None:
        r = client.chat.completions.create(model="sim-large", messages=rag(QUESTION), max_tokens=3)
        assert r.choices[0].finish_reason == "length"
        assert r.usage.completion_tokens <= 3

    def test_same_request_same_answer(self, client: openai.OpenAI, rag) -> None:
        answers = {client.chat.completions.create(model="sim-large", messages=rag(QUESTION)).choices[0].message.content for _ in range(3)}
        assert len(answers) == 1


class TestStreaming:
    """Streams are OpenAI chunks, end with [DONE], and carry usage when asked."""

    def test_stream_with_usage(self, client: openai.OpenAI, rag) -> None:
        plain = client.chat.completions.create(model="sim-medium", messages=rag(QUESTION))
        chunks = list(client.chat.completions.create(model="sim-medium", messages=rag(QUESTION), stream=True, stream_options={"include_usage": True}))
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == plain.choices[0].message.content
        assert len(chunks) > 3  # word by word, not one blob
        assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == plain.usage.model_dump()
        assert chunks[-2].choices[0].finish_reason == "stop"

    def test_stream_without_usage(self, client: openai.OpenAI, rag) -> None:
        chunks = list(client.chat.completions.create(model="sim-small", messages=rag(QUESTION), stream=True))
        assert all(c.usage is None and c.choices for c in chunks)
        assert chunks[-1].choices[0].finish_reason == "stop"

    def test_raw_sse_ends_with_done(self, sim, rag) -> None:
        body = {"model": "sim-small", "messages": rag(QUESTION), "stream": True}
        with httpx.stream("POST", f"{sim.url}/v1/chat/completions", json=body, timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in r.iter_lines() if line]
        assert all(line.startswith("data: ") for line in lines)
        assert lines[-1] == "data: [DONE]"

    def test_stream_tool_call(self, client: openai.OpenAI) -> None:
        messages = [{"role": "user", "content": "What is 6 * 7?"}]
        chunks = list(client.chat.completions.create(model="sim-large", messages=messages, tools=TOOLS[1:2], stream=True))
        calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
        assert calls[0].id.startswith("call_") and calls[0].function.name == "calculator"
        assert json.loads("".join(tc.function.arguments or "" for tc in calls)) == {"expression": "6 * 7"}
        assert chunks[-1].choices[0].finish_reason == "tool_calls"


class TestToolLoop:
    """With tools offered, the model calls each once in order, then answers from their results."""

    def test_loop_until_text(self, client: openai.OpenAI) -> None:
        messages: list[dict] = [{"role": "user", "content": "Where are traces stored? Also compute 6 * 7 and count the words."}]
        called = []
        for _ in range(5):
            r = client.chat.completions.create(model="sim-medium", messages=messages, tools=TOOLS)
            choice = r.choices[0]
            if choice.finish_reason != "tool_calls":
                break
            call = choice.message.tool_calls[0]
            assert len(choice.message.tool_calls) == 1 and call.id.startswith("call_")
            called.append(call.function.name)
            messages.append(choice.message.model_dump(exclude_none=True))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": _run_tool(call.function.name, json.loads(call.function.arguments))})
        assert called == ["search_documents", "calculator", "word_count"]
        answer = choice.message.content
        assert choice.finish_reason == "stop" and "42" in answer and "Tempo stores distributed traces" in answer

    def test_tool_choice_none_answers_in_text(self, client: openai.OpenAI, rag) -> None:
        r = client.chat.completions.create(model="sim-small", messages=rag(QUESTION), tools=TOOLS, tool_choice="none")
        assert r.choices[0].finish_reason == "stop" and r.choices[0].message.tool_calls is None


class TestDeterminism:
    """Two simulators with the same seed give the same answers and usage."""

    def test_same_seed_same_results(self, sim, start_sim, rag) -> None:
        twin = start_sim()
        questions = [QUESTION, "What does Prometheus evaluate?", "Which labels does Loki index for a stream?", "What can Tempo generate?"]

        def answers(url: str) -> list[tuple]:
            with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as c:
                out = []
                for q in questions:
                    r = c.chat.completions.create(model="sim-small", messages=rag(q), temperature=0.7)
                    out.append((r.choices[0].message.content, r.usage.completion_tokens, r.usage.prompt_tokens))
                return out

        assert answers(sim.url) == answers(twin.url)

    def test_concurrency_does_not_change_answers(self, client: openai.OpenAI, rag) -> None:
        questions = [f"What does {topic} store or index? ({i})" for i, topic in enumerate(["Loki", "Tempo", "Prometheus"] * 6)]

        def ask(q: str) -> tuple:
            r = client.chat.completions.create(model="sim-medium", messages=rag(q))
            return r.choices[0].message.content, r.usage.completion_tokens

        sequential = [ask(q) for q in questions]
        with ThreadPoolExecutor(max_workers=9) as pool:
            assert list(pool.map(ask, questions)) == sequential


class TestErrors:
    """Unknown models and malformed bodies get OpenAI-shaped errors, never a 500."""

    def test_unknown_model(self, client: openai.OpenAI, sim, rag) -> None:
        with pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(model="gpt-9", messages=rag(QUESTION))
        assert err.value.code == "model_not_found" and err.value.param == "model"
        raw = httpx.post(f"{sim.url}/v1/chat/completions", json={"model": "gpt-9", "messages": rag(QUESTION)}).json()
        assert set(raw["error"]) == {"message", "type", "param", "code"}

    @pytest.mark.parametrize(
        "body",
        [
            {"model": "sim-small"},
            {"messages": [{"role": "user", "content": "hi"}]},
            {"model": "sim-small", "messages": "hi"},
            {"model": "sim-small", "messages": []},
            {"model": 5, "messages": [{"role": "user", "content": "hi"}]},
            {"model": "sim-small", "messages": [{"role": "wizard", "content": "hi"}]},
            {"model": "sim-small", "messages": [{"role": "user", "content": 3}]},
            {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0},
            {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"},
            {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]},
            {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}], "n": 2},
            [1, 2],
        ],
    )
    def test_bad_body_is_400(self, sim, body) -> None:
        r = httpx.post(f"{sim.url}/v1/chat/completions", json=body, timeout=5)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["type"] == "invalid_request_error"

    def test_not_json_is_400(self, sim) -> None:
        r = httpx.post(f"{sim.url}/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}, timeout=5)
        assert r.status_code == 400 and "error" in r.json()

    def test_unknown_parameters_are_ignored(self, sim, rag) -> None:
        body = {"model": "sim-small", "messages": rag(QUESTION), "seed": 3, "user": "u1", "response_format": {"type": "text"}}
        assert httpx.post(f"{sim.url}/v1/chat/completions", json=body, timeout=5).status_code == 200
