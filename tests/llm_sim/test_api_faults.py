"""Fault injection on a real simulator process, observed through the openai SDK."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from demo_app.llm_sim.generation import content_words
from demo_app.procs import poll_until

QUESTION = "How does Loki store log lines in compressed chunks?"


def _ask(client: openai.OpenAI, rag, model: str = "sim-small", **kwargs):
    return client.chat.completions.create(model=model, messages=rag(QUESTION), **kwargs)


def _overlap(text: str, reference: str) -> float:
    words = content_words(text)
    return len(words & content_words(reference)) / max(1, len(words))


class TestEffects:
    """Each kind of fault produces its effect."""

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_error(self, client, rag, add_fault, status: int) -> None:
        add_fault(kind="error", value=status)
        with pytest.raises(openai.InternalServerError) as err:
            _ask(client, rag)
        assert err.value.status_code == status
        assert err.value.type == "server_error" and err.value.body["message"]

    def test_error_default_is_500(self, client, rag, add_fault) -> None:
        assert add_fault(kind="error")["value"] == 500
        with pytest.raises(openai.InternalServerError) as err:
            _ask(client, rag)
        assert err.value.status_code == 500

    def test_latency_added_to_first_token(self, client, rag, add_fault) -> None:
        add_fault(kind="latency", value=0.6)
        started = time.monotonic()
        _ask(client, rag)
        assert time.monotonic() - started >= 0.6
        started = time.monotonic()
        stream = _ask(client, rag, stream=True)
        next(iter(stream))
        assert time.monotonic() - started >= 0.6
        stream.close()

    def test_rate_limit(self, client, rag, add_fault) -> None:
        add_fault(kind="rate_limit", value=2)
        with pytest.raises(openai.RateLimitError) as err:
            _ask(client, rag)
        assert err.value.response.headers["retry-after"] == "2"
        assert err.value.code == "rate_limit_exceeded" and err.value.type == "rate_limit_exceeded"

    def test_rate_limit_default_retry_after(self, client, rag, add_fault) -> None:
        add_fault(kind="rate_limit")
        with pytest.raises(openai.RateLimitError) as err:
            _ask(client, rag, stream=True)
        assert err.value.response.headers["retry-after"] == "1"

    @pytest.mark.parametrize("factor", [4, 8])
    def test_token_blowup(self, client, rag, add_fault, factor: int) -> None:
        base = _ask(client, rag, model="sim-large")
        add_fault(kind="token_blowup", value=factor)
        blown = _ask(client, rag, model="sim-large")
        ratio = blown.usage.completion_tokens / base.usage.completion_tokens
        assert factor * 0.85 <= ratio <= factor * 1.15
        assert blown.usage.completion_tokens == -(-len(blown.choices[0].message.content) // 4)

    def test_token_blowup_respects_max_tokens(self, client, rag, add_fault) -> None:
        add_fault(kind="token_blowup", value=20)
        r = _ask(client, rag, max_tokens=50)
        assert r.usage.completion_tokens <= 50 and r.choices[0].finish_reason == "length"

    def test_quality_drop(self, client, rag, add_fault) -> None:
        good = _ask(client, rag).choices[0].message.content
        add_fault(kind="quality_drop")
        bad = _ask(client, rag).choices[0].message.content
        assert _overlap(good, rag(QUESTION)[0]["content"]) > 0.8
        assert _overlap(bad, rag(QUESTION)[0]["content"]) < 0.2
        assert _overlap(bad, QUESTION) < 0.2

    def test_timeout_fires_client_timeout(self, sim, rag, add_fault) -> None:
        add_fault(kind="timeout", value=3)
        with openai.OpenAI(base_url=f"{sim.url}/v1", api_key="x", max_retries=0, timeout=0.5) as impatient, pytest.raises(openai.APITimeoutError):
            _ask(impatient, rag)

    def test_timeout_then_504(self, client, rag, add_fault) -> None:
        add_fault(kind="timeout", value=0.3)
        started = time.monotonic()
        with pytest.raises(openai.InternalServerError) as err:
            _ask(client, rag)
        assert err.value.status_code == 504 and time.monotonic() - started >= 0.3


class TestScope:
    """Faults apply to their model, at their rate, for their lifetime."""

    def test_model_filter(self, client, rag, add_fault) -> None:
        add_fault(kind="error", model="sim-large")
        assert _ask(client, rag, model="sim-small").choices[0].message.content
        with pytest.raises(openai.InternalServerError):
            _ask(client, rag, model="sim-large")

    def test_rate_statistical(self, sim, rag, add_fault) -> None:
        add_fault(kind="error", rate=0.5, value=503)
        body = {"model": "sim-small", "messages": rag(QUESTION)}  # the same request each time: still independent draws
        with httpx.Client(base_url=sim.url, timeout=10) as http:
            codes = [http.post("/v1/chat/completions", json=body).status_code for _ in range(200)]
        assert set(codes) == {200, 503}
        assert 70 <= codes.count(503) <= 130

    def test_ttl_expiry(self, client, sim, rag, add_fault) -> None:
        fault = add_fault(kind="error", ttl_s=1)
        listed = httpx.get(f"{sim.url}/faults").json()["faults"]
        assert [f["id"] for f in listed] == [fault["id"]]
        with pytest.raises(openai.InternalServerError):
            _ask(client, rag)
        poll_until(lambda: httpx.get(f"{sim.url}/faults").json()["faults"] == [], "the 1 s fault to expire", 3, interval=0.1)
        assert _ask(client, rag).choices[0].message.content

    def test_combined_blowup_and_quality_drop(self, client, rag, add_fault) -> None:
        base = _ask(client, rag, model="sim-medium").usage.completion_tokens
        add_fault(kind="quality_drop")
        add_fault(kind="token_blowup", value=6)
        r = _ask(client, rag, model="sim-medium")
        assert _overlap(r.choices[0].message.content, QUESTION) < 0.2
        assert r.usage.completion_tokens > 3 * base


class TestFaultApi:
    """POST/GET/DELETE /faults, with strict validation."""

    def test_created_shape(self, sim) -> None:
        r = httpx.post(f"{sim.url}/faults", json={"kind": "latency", "model": "sim-medium", "rate": 0.25, "ttl_s": 60})
        assert r.status_code == 201
        body = r.json()
        assert body["id"].startswith("flt_") and body["value"] == 3.0 and body["rate"] == 0.25 and body["model"] == "sim-medium"
        assert body["expires_at"] > body["created_at"]

    def test_delete_one_and_all(self, sim, add_fault) -> None:
        a = add_fault(kind="latency")
        add_fault(kind="error", rate=0.1)
        assert httpx.delete(f"{sim.url}/faults/{a['id']}").status_code == 200
        assert httpx.delete(f"{sim.url}/faults/{a['id']}").status_code == 404
        assert [f["kind"] for f in httpx.get(f"{sim.url}/faults").json()["faults"]] == ["error"]
        assert httpx.delete(f"{sim.url}/faults").json() == {"deleted": 1}

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"kind": "meteor"},
            {"kind": "error", "rate": 1.5},
            {"kind": "error", "rate": -0.1},
            {"kind": "error", "ttl_s": 0},
            {"kind": "error", "ttl_s": 3601},
            {"kind": "error", "model": "gpt-9"},
            {"kind": "error", "colour": "red"},
            {"kind": "error", "rate": "0.5"},
            {"kind": "error", "ttl_s": True},
            {"kind": "error", "value": 404},
            {"kind": "latency", "value": -1},
            {"kind": "token_blowup", "value": 0.5},
            {"kind": "quality_drop", "value": 2},
            {"kind": ["error"]},
        ],
    )
    def test_invalid_body_is_422(self, sim, body) -> None:
        r = httpx.post(f"{sim.url}/faults", json=body)
        assert r.status_code == 422, r.text
        assert httpx.get(f"{sim.url}/faults").json()["faults"] == []
