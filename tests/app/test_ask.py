"""POST /v1/ask answers from the corpus, plain and streaming, with the documented shape."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("stream", [False, True])
def test_ask_answers_with_sources_usage_and_scores(app, post, stream: bool) -> None:
    body = {"question": "How much does the Business plan cost per member?", "stream": stream, "user_tier": "pro"}
    response = post(app, "/v1/ask", body, headers={"X-Request-ID": f"ask-{stream}"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {
        "answer", "sources", "model", "usage", "cost_usd", "faithfulness", "relevancy",
        "request_id", "trace_id", "fallback_used", "retries", "guardrail_blocked",
    }
    assert data["answer"].strip()
    assert data["model"] == "sim-medium"  # qa's default model
    assert data["sources"] and {"doc_id", "title", "score"} == set(data["sources"][0])
    assert data["sources"][0]["doc_id"] == "kb-001"  # the plans article
    assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0
    assert data["cost_usd"] > 0
    assert 0 <= data["faithfulness"] <= 1 and 0 <= data["relevancy"] <= 1
    assert data["request_id"] == response.headers["x-request-id"] == f"ask-{stream}"
    assert re.fullmatch(r"[0-9a-f]{32}", data["trace_id"])
    assert (data["fallback_used"], data["retries"], data["guardrail_blocked"]) == (False, 0, False)


def test_feature_picks_its_model_and_model_overrides(app, post) -> None:
    support = post(app, "/v1/ask", {"question": "I cannot log in", "feature": "support", "user_tier": "pro"})
    assert support.status_code == 200 and support.json()["model"] == "sim-large"
    chosen = post(app, "/v1/ask", {"question": "Export a page to PDF", "model": "sim-small", "user_tier": "pro"})
    assert chosen.status_code == 200 and chosen.json()["model"] == "sim-small"
