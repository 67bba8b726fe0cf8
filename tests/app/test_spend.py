"""Spend attribution and prompt caching in the app: team label, key -> team, request cost span attribute, cached tokens."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo_app.app.pricing import PriceTable
from demo_app.catalogue import DEFAULT_MODELS_FILE, load_catalogue
from demo_app.procs import poll_until

PRICES = PriceTable.from_catalogue(load_catalogue(DEFAULT_MODELS_FILE))
SIM = load_catalogue(DEFAULT_MODELS_FILE)
DEMO_KEY = "sk-demo-support-bot"  # its fingerprint is listed for support-bot in demo_app/data/budgets.yaml


def _samples(app, name: str) -> dict[tuple, float]:
    text = httpx.get(f"{app.url}/metrics", timeout=5).text
    out: dict[tuple, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def _total(app, name: str, **match: str) -> float:
    return sum(v for labels, v in _samples(app, name).items() if match.items() <= dict(labels).items())


def _spans(sink, trace_id: str) -> list[dict]:
    def server_done():
        spans = sink.spans(trace_id)
        return spans if any(s["service"] == "demo-app" and s["kind"] == "SERVER" for s in spans) else None

    return poll_until(server_done, f"the app's server span of {trace_id}", 20)


def _server(spans: list[dict]) -> dict:
    return next(s for s in spans if s["service"] == "demo-app" and s["kind"] == "SERVER")


def _chat_cost(span: dict) -> float:
    a = span["attributes"]
    model = span["name"].removeprefix("chat ")
    cost = PRICES.cost_usd(model, a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"], a["gen_ai.usage.cache_read.input_tokens"])
    assert cost is not None
    return cost


class TestTeam:
    """`team` and the bearer key decide the team label; only listed teams become label values."""

    @pytest.mark.parametrize(("team", "headers", "expected"), [
        ("search", {}, "search"),
        ("marketing", {}, "_other"),  # a valid slug that the budgets file does not list
        (None, {}, "_other"),
        ("search", {"Authorization": f"Bearer {DEMO_KEY}"}, "support-bot"),  # a configured key decides
        (None, {"Authorization": f"bearer   {DEMO_KEY}"}, "support-bot"),
        ("batch", {"Authorization": "Bearer sk-not-configured"}, "batch"),
        (None, {"Authorization": f"Basic {DEMO_KEY}"}, "_other"),  # not a bearer key
    ])
    def test_cost_is_recorded_under_the_resolved_team(self, app, post, sink, team, headers, expected) -> None:
        before = _total(app, "llmapp_cost_usd_total", team=expected, user_tier="pro")
        body = {"question": "How do I export a page to PDF?", "user_tier": "pro", **({"team": team} if team else {})}
        response = post(app, "/v1/ask", body, headers=headers)
        assert response.status_code == 200, response.text
        cost = response.json()["cost_usd"]
        assert cost > 0
        assert _total(app, "llmapp_cost_usd_total", team=expected, user_tier="pro") == pytest.approx(before + cost, rel=1e-6, abs=1e-9)
        server = _server(_spans(sink, response.json()["trace_id"]))
        assert server["attributes"]["app.team"] == expected
        assert server["attributes"]["app.cost_usd"] == pytest.approx(cost, rel=1e-6)

    @pytest.mark.parametrize("team", ["Search", "a" * 33, "search team", "-x", "_other", "sëarch", 7, ""])
    def test_a_team_that_is_not_a_short_slug_is_422(self, app, post, team) -> None:
        for path, body in (("/v1/ask", {"question": "hi"}), ("/v1/agent", {"task": "hi"})):
            response = post(app, path, {**body, "team": team})
            assert response.status_code == 422, (path, team, response.text)
            assert response.json()["error"]["message"].startswith("team:"), response.text

    def test_the_key_never_leaves_the_app(self, app, post, sink) -> None:
        key = "sk-demo-support-bot"
        response = post(app, "/v1/ask", {"question": "How do I invite guests?", "team": "search"}, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        spans = _spans(sink, response.json()["trace_id"])
        logs = sink.logs(response.json()["trace_id"])
        assert key not in json.dumps(spans) + json.dumps(logs) + app.log()
        assert key not in httpx.get(f"{app.url}/metrics", timeout=5).text
        # The team is a log field of the request's lines (stdout and OTLP), its request line included
        # (written after the response: waited for).
        def request_line():
            lines = [json.loads(line) for line in app.log().splitlines() if response.json()["trace_id"] in line]
            return next((e for e in lines if e["event"] == "request"), None)

        assert poll_until(request_line, "the request line", 10).get("team") == "support-bot"


class TestRequestCost:
    """app.cost_usd on the server span sums every answered LLM call of the request."""

    def test_agent_cost_is_the_sum_of_its_chat_calls(self, app, post, sink) -> None:
        body = {"task": "Find the refund policy and compute 14 * 3.", "max_steps": 10, "user_tier": "pro", "team": "support-bot"}
        response = post(app, "/v1/agent", body)
        assert response.status_code == 200, response.text
        trace_id = response.json()["trace_id"]
        def complete() -> list[dict] | None:
            spans = _spans(sink, trace_id)
            return spans if sum(x["name"].startswith("chat ") for x in spans) >= response.json()["steps"] else None

        spans = poll_until(complete, "every chat span of the agent run", 20)
        chats = [s for s in spans if s["name"].startswith("chat ")]
        assert len(chats) == response.json()["steps"] > 1
        server = _server(spans)
        assert server["attributes"]["app.cost_usd"] == pytest.approx(sum(map(_chat_cost, chats)), rel=1e-6)
        assert server["attributes"]["app.cost_usd"] == pytest.approx(response.json()["cost_usd"], rel=1e-5)
        assert server["attributes"]["app.team"] == "support-bot"

    def test_a_request_whose_calls_all_fail_has_no_cost(self, app, post, sink, faults) -> None:
        faults("error", rate=1.0, value=500)
        response = post(app, "/v1/ask", {"question": "How do I share a page?", "team": "search"})
        assert response.status_code == 502
        request_id = response.json()["error"]["request_id"]  # an error body has no trace id: find the span by the request id
        server = poll_until(
            lambda: next((s for s in sink.spans() if s["attributes"].get("app.request_id") == request_id), None), "the server span", 20
        )
        assert server["attributes"]["app.team"] == "search" and "app.cost_usd" not in server["attributes"]


class TestCachedTokens:
    """Cached input tokens: span attribute, counter, price, savings; plain and streamed."""

    @pytest.mark.parametrize("stream", [False, True])
    def test_a_repeated_prefix_is_recorded_and_priced_as_cached(self, app, post, sink, stream) -> None:
        model = "sim-large"  # pinned, so the prefix lands in one model's cache
        ask = {"user_tier": "pro", "feature": "support", "model": model, "stream": stream}
        assert post(app, "/v1/ask", {**ask, "question": "My page will not sync, what can I do?"}).status_code == 200
        cached_before = _total(app, "gen_ai_client_inference_usage_cache_read_input_tokens_total", gen_ai_request_model=model)
        saved_before = _total(app, "llmapp_cache_savings_usd_total", gen_ai_request_model=model)

        response = post(app, "/v1/ask", {**ask, "question": "Search does not find my new notes, why?"})
        assert response.status_code == 200
        chat = next(s for s in _spans(sink, response.json()["trace_id"]) if s["name"] == f"chat {model}")
        attrs = chat["attributes"]
        cached, prompt = attrs["gen_ai.usage.cache_read.input_tokens"], attrs["gen_ai.usage.input_tokens"]
        assert cached >= 256 and cached % 128 == 0 and cached < prompt  # the shared house rules, not the question
        assert _total(app, "gen_ai_client_inference_usage_cache_read_input_tokens_total", gen_ai_request_model=model) == cached_before + cached
        price = SIM.price(model)
        assert price is not None and price.cached_input is not None
        assert _total(app, "llmapp_cache_savings_usd_total", gen_ai_request_model=model) == pytest.approx(
            saved_before + cached * (price.input - price.cached_input) / 1e6, rel=1e-6
        )
        output = attrs["gen_ai.usage.output_tokens"]
        expected = ((prompt - cached) * price.input + cached * price.cached_input + output * price.output) / 1e6
        assert response.json()["cost_usd"] == pytest.approx(expected, rel=1e-5)

    def test_cache_bust_fault_records_zero_cached(self, app, post, sink, faults) -> None:
        ask = {"user_tier": "pro", "feature": "qa", "model": "sim-medium"}
        assert post(app, "/v1/ask", {**ask, "question": "How do I archive a workspace?"}).status_code == 200
        faults("cache_bust", rate=1.0)
        response = post(app, "/v1/ask", {**ask, "question": "How do I restore an archived page?"})
        chat = next(s for s in _spans(sink, response.json()["trace_id"]) if s["name"] == "chat sim-medium")
        assert chat["attributes"]["gen_ai.usage.cache_read.input_tokens"] == 0
