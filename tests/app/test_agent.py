"""POST /v1/agent: the supervisor delegates to workers, tools run, the step budget holds."""

from __future__ import annotations

TASK = "What does the Business plan cost for 12 members billed annually? Compute 15 * 12."


def test_agent_runs_every_worker_and_tool(app, post) -> None:
    response = post(app, "/v1/agent", {"task": TASK, "max_steps": 10, "user_tier": "pro"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["outcome"] == "ok" and data["answer"].strip()
    assert data["max_steps"] == 10 and 1 <= data["steps"] <= 10
    calls = {(c["agent"], c["tool"]) for c in data["tool_calls"]}
    assert {
        ("supervisor", "ask_researcher"), ("supervisor", "ask_analyst"), ("supervisor", "ask_writer"),
        ("researcher", "search_documents"), ("analyst", "calculator"), ("analyst", "word_count"),
    } <= calls
    assert all(c["outcome"] == "ok" for c in data["tool_calls"])
    assert data["usage"]["input_tokens"] > 0 and data["cost_usd"] > 0
    assert response.headers["x-request-id"] == data["request_id"]


def test_step_limit_is_enforced_across_agents(app, post) -> None:
    response = post(app, "/v1/agent", {"task": TASK, "max_steps": 3, "user_tier": "pro"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["outcome"], data["steps"], data["max_steps"]) == ("step_limit", 3, 3)
    # Step 1 supervisor, 2-3 researcher: the researcher's search ran, the analyst never did.
    assert ("researcher", "search_documents") in {(c["agent"], c["tool"]) for c in data["tool_calls"]}
    assert "analyst" not in {c["agent"] for c in data["tool_calls"]}


def test_default_budget_lets_a_full_run_finish(app, post) -> None:
    data = post(app, "/v1/agent", {"task": "Summarize the guest limits.", "user_tier": "pro"}).json()
    assert data["max_steps"] == 10 and data["steps"] <= 10 and data["outcome"] == "ok"
