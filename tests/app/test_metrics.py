"""/metrics exposes every contract metric of the app, only with allowed label values, with exemplars."""

from __future__ import annotations

import re

import httpx
import pytest

from demo_app.contract import load_contract

CONTRACT = load_contract()
APP_METRICS = {m.name: m for m in CONTRACT.metrics_for("app")}


@pytest.fixture(scope="module")
def traffic(app) -> None:
    """One of each kind of request, so every family has samples."""
    for body in ({"question": "How do guests work?", "user_tier": "pro"}, {"question": "Upload limits?", "stream": True, "user_tier": "enterprise"}):
        assert httpx.post(f"{app.url}/v1/ask", json=body, timeout=30).status_code == 200
    agent = {"task": "Compute 3 * 4 and find the plan prices.", "max_steps": 10, "user_tier": "pro"}
    assert httpx.post(f"{app.url}/v1/agent", json=agent, timeout=30).status_code == 200


def test_every_contract_metric_is_exposed_with_samples(app, traffic, scrape) -> None:
    families = {f.name: f for f in scrape(app)}
    for name, metric in APP_METRICS.items():
        family_name = name.removesuffix("_total") if metric.type == "counter" else name
        assert family_name in families, f"{name} missing from /metrics"
        assert families[family_name].samples, f"{name} has no samples"


def test_only_contract_families_and_label_values(app, traffic, scrape) -> None:
    allowed_samples = {s for m in APP_METRICS.values() for s in m.sample_names}
    for family in scrape(app):
        for sample in family.samples:
            assert sample.name in allowed_samples, f"{sample.name} is not in the contract"
            metric = next(m for m in APP_METRICS.values() if sample.name in m.sample_names)
            assert set(sample.labels) - {"le"} == set(metric.labels), sample
            for label, value in sample.labels.items():
                if label != "le":
                    assert CONTRACT.labels[label].allows(value), f"{sample.name}: {label}={value!r}"


def test_openmetrics_carries_exemplars(app, traffic, scrape) -> None:
    exemplars: dict[str, list] = {}
    for family in scrape(app, openmetrics=True):
        for sample in family.samples:
            if sample.exemplar is not None:
                exemplars.setdefault(family.name, []).append(sample.exemplar)
    for name in ("gen_ai_client_operation_duration_seconds", "http_server_request_duration_seconds", "llmapp_agent_duration_seconds"):
        assert name in exemplars, f"no exemplar on {name}"
        assert all(re.fullmatch(r"[0-9a-f]{32}", e.labels["trace_id"]) for e in exemplars[name])
    without_exemplars = {m.name for m in APP_METRICS.values() if not m.exemplars}
    assert not (set(exemplars) & without_exemplars)


def test_content_negotiation(app) -> None:
    plain = httpx.get(f"{app.url}/metrics", timeout=5)
    assert plain.headers["content-type"].startswith("text/plain") and "# {" not in plain.text
    om = httpx.get(f"{app.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=5)
    assert om.headers["content-type"].startswith("application/openmetrics-text") and om.text.endswith("# EOF\n")
    assert "_created" not in om.text


def test_quality_cost_and_tokens_carry_the_prompt_version(app, traffic, scrape) -> None:
    """/v1/ask answers are recorded under their live prompt version (v1 of the shipped files),
    agent turns, which use no versioned prompt, under an empty one."""
    samples = [s for family in scrape(app) for s in family.samples]

    def versions(name: str, feature: str) -> set[str]:
        return {s.labels["prompt_version"] for s in samples if s.name == name and s.labels["feature"] == feature and s.value > 0}

    assert versions("llmapp_quality_score_count", "qa") == {"v1"}
    assert versions("llmapp_cost_usd_total", "qa") == {"v1"}
    assert versions("llmapp_tokens_total", "qa") == {"v1"}
    assert versions("llmapp_cost_usd_total", "agent") == {""}
    assert versions("llmapp_tokens_total", "agent") == {""}
