"""Leak scan: secrets and personal data in prompts never leave a process unmasked.

The full scenario mix (every endpoint, streaming, agents, invalid requests, several faults)
runs with a fake API key, a bearer token, an e-mail address and a card number planted in
every prompt, task, invalid field and webhook annotation, once with message-content capture
off and once on. Then every stdout log line of app, simulator and alert receiver, every span
attribute and log record the OTLP receiver got, and every series on the three /metrics pages
is scanned for any recognisable part of what was planted. Zero findings allowed.

The guardrails are all switched to flag (a flag-only GUARDRAILS_FILE): with the bundled
redact and block actions the planted secrets would be gone before the chat spans, and the
masking of those would go untested. Their own spans and "guardrail triggered" lines, which
see every planted secret, are scanned like the rest.

The bearer token is also a configured team key: a budgets file lists its fingerprint, so the
app really reads, hashes and matches it (spend shows up under that team) and still never
writes any part of it anywhere.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from demo_app.budgets import fingerprint
from demo_app.guardrails import DEFAULT_GUARDRAILS_FILE
from demo_app.procs import poll_until

BEARER = "eyJhbGciOiJIUzI1NiJ9.drilltoken.Sig42"
PLANTED_KEY = "sk-proj-DRILLabcdef0123456789XYZ"  # the planted API key (conftest PLANTED), a valid conversation id
PLANTED_CARD_ID = "4111111111111111"  # the planted card number without spaces, also a valid conversation id
KEY_TEAM = "drill-team"

FAULTS = (None, {"kind": "error", "rate": 0.5, "value": 503}, {"kind": "rate_limit", "rate": 0.5},
          {"kind": "timeout", "rate": 0.3, "value": 2}, {"kind": "token_blowup", "rate": 1.0, "value": 3})


def _secrets(planted) -> str:
    return " ".join(text for _, text, _ in planted)


def _flag_only() -> str:
    """The bundled guardrails file with every action set to flag (detect, count, log; change nothing)."""
    spec = yaml.safe_load(DEFAULT_GUARDRAILS_FILE.read_text(encoding="utf-8"))
    return yaml.safe_dump({"guardrails": [{**g, "action": "flag"} for g in spec["guardrails"]]})


def _requests(secret: str) -> list[tuple[str, dict, dict]]:
    """(path, body, headers) for one pass of the mix; every free-text field carries the secrets."""
    auth = {"Authorization": f"Bearer {BEARER}"}
    out = []
    for feature in ("qa", "summarize", "support"):
        for stream in (False, True):
            for model in ("sim-large", "sim-small"):
                body = {"question": f"My key is {secret}. How do I rotate an API key?", "user_tier": "pro",
                        "feature": feature, "stream": stream, "model": model}
                out.append(("/v1/ask", body, auth))
    # Conversations: the history (secrets included) goes back to the model on every later turn,
    # and a caller may even choose a secret as the conversation id (it fits the id pattern):
    # both must come out masked on spans, events and log lines.
    for conversation_id in ("drill-conversation", PLANTED_KEY, PLANTED_CARD_ID):
        body = {"question": f"My key is {secret}. How do I share a page?", "user_tier": "pro", "conversation_id": conversation_id}
        out.append(("/v1/ask", body, auth))
    out.append(("/v1/agent", {"task": f"Look up refunds for {secret} and count the words.", "user_tier": "enterprise",
                              "max_steps": 4}, auth))
    # Invalid input echoing the secret: validation errors must not log what they refuse.
    out += [
        ("/v1/ask", {"question": secret, "user_tier": secret, "feature": "qa"}, auth),
        ("/v1/ask", {"question": "hi", "user_tier": "pro", "feature": secret}, auth),
        ("/v1/ask", {"question": "hi", "user_tier": "pro", "feature": "qa", "model": secret}, auth),
        ("/v1/ask", {"question": "hi", "user_tier": "pro", "feature": "qa", "team": secret}, auth),
        ("/v1/ask", {"question": "hi", "user_tier": "pro", "feature": "qa", "conversation_id": secret}, auth),
        ("/v1/ask", {"question": "hi", "user_tier": "pro", "feature": "qa", secret: 1}, auth),
        ("/v1/agent", {"task": secret, "user_tier": "pro", "max_steps": 99}, auth),
    ]
    return out


async def _drive(app_url: str, sim_url: str, secret: str) -> dict:
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client, httpx.AsyncClient(base_url=sim_url) as sim:

        async def one(path: str, body: dict, headers: dict) -> None:
            try:
                async with client.stream("POST", path, json=body, headers=headers) as resp:
                    await resp.aread()
                    key = str(resp.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1

        for fault in FAULTS:
            await sim.delete("/faults")
            if fault:
                (await sim.post("/faults", json={**fault, "ttl_s": 60})).raise_for_status()
            await asyncio.gather(*(one(*r) for r in _requests(secret)))
        await sim.delete("/faults")
    return statuses


def _webhook(secret: str) -> dict:
    alert = {"status": "firing", "labels": {"alertname": "LLMHighErrorRate", "severity": "warning"},
             "annotations": {"summary": "errors", "description": f"user {secret} saw errors"},
             "startsAt": "2026-11-26T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://x/graph",
             "fingerprint": "0123456789abcdef"}
    return {"version": "4", "groupKey": "{}:{alertname=\"LLMHighErrorRate\"}", "truncatedAlerts": 0, "status": "firing",
            "receiver": "drill", "groupLabels": {"alertname": "LLMHighErrorRate"}, "commonLabels": alert["labels"],
            "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager:9093", "alerts": [alert]}


def _settled(fetch, description: str) -> list:
    """Poll until the list stops growing for a second (the batch exporters have flushed)."""
    last: list = []

    def stable() -> bool:
        nonlocal last
        current = fetch()
        if current and len(current) == len(last):
            return True
        last = current
        time.sleep(1.0)
        return False

    poll_until(stable, description, 30)
    return last


@pytest.mark.parametrize("capture", ["false", "true"])
def test_no_planted_secret_leaves_any_process(capture, start, drill, tmp_path):
    secret = _secrets(drill.PLANTED)
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(f"monthly_usd: {{total: 1}}\nteams:\n  {KEY_TEAM}: {{key_fingerprints: [{fingerprint(BEARER)}]}}\n", encoding="utf-8")
    guardrails = tmp_path / "guardrails.yaml"
    guardrails.write_text(_flag_only(), encoding="utf-8")
    sink = start("native.otlp_sink")
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BLRP_SCHEDULE_DELAY": "200",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": capture, "LOG_LEVEL": "debug"}
    sim = start("llm_sim", env={**drill.sim_env("0"), **otel, "OTEL_SDK_DISABLED": "false"})
    receiver = start("alert_sink", env=otel)
    app = start("app", env=drill.app_env(sim, sink.url, LLM_TIMEOUT_S="1", LLM_MAX_RETRIES="1", LLM_BUDGETS_FILE=str(budgets),
                                     GUARDRAILS_FILE=str(guardrails), **otel))

    statuses = asyncio.run(_drive(app.url, sim.url, secret))
    assert statuses.get("200", 0) >= 20, statuses
    assert httpx.post(f"{receiver.url}/webhook", json=_webhook(secret), timeout=10).status_code < 300

    # Wait for the app's server span of every request first (a busy machine exports late),
    # then for the stragglers of the other spans and the log records.
    sent = sum(statuses.values())
    poll_until(lambda: sum(1 for s in drill.spans_at(sink.url) if s["service"] == "llm-app" and s["kind"] == "SERVER") >= sent,
               f"the app's server spans of all {sent} requests at the OTLP receiver", 90)
    spans = _settled(lambda: httpx.get(f"{sink.url}/spans", timeout=10).json(), "spans to settle")
    records = _settled(lambda: httpx.get(f"{sink.url}/logs", timeout=10).json(), "log records to settle")

    findings: list[str] = []
    lines = 0
    for proc in (app, sim, receiver):
        for line in proc.log().splitlines():
            lines += 1
            findings += [f"{proc.name} stdout: {kind}: {line[:200]}" for kind in drill.find_planted(line)]
    for item in spans + records:
        text = json.dumps(item)
        findings += [f"otlp {item.get('name', 'log')}: {kind}: {text[:300]}" for kind in drill.find_planted(text)]
    series = 0
    for proc in (app, sim, receiver):
        for line in httpx.get(f"{proc.url}/metrics", timeout=10).text.splitlines():
            if line and not line.startswith("#"):
                series += 1
                findings += [f"{proc.name} /metrics: {kind}: {line[:200]}" for kind in drill.find_planted(line)]

    chat_spans = [s for s in spans if s["name"].startswith("chat ")]
    captured = [s for s in chat_spans if "gen_ai.input.messages" in s["attributes"]]
    print(f"\ncapture={capture}: statuses {statuses}; scanned {lines} stdout lines, {len(spans)} spans "
          f"({len(chat_spans)} chat spans, {len(captured)} with message content), {len(records)} OTLP log records, "
          f"{series} series; findings: {len(findings)}")
    assert not findings, "\n".join(findings[:20])
    # The key was matched (by its fingerprint): the spend is the key's team's.
    app_metrics = httpx.get(f"{app.url}/metrics", timeout=10).text
    by_team = {s.labels["team"]: s.value for f in text_string_to_metric_families(app_metrics) for s in f.samples
               if s.name == "llmapp_cost_usd_total" and s.value > 0}
    assert set(by_team) == {KEY_TEAM}, by_team
    # The scan saw real traffic, and capture did what it says (masked, not simply absent).
    assert lines > 50 and len(records) > 20 and len(chat_spans) >= 10 and series > 50
    # The conversation ids and the evaluation events were there to be scanned (masked where they were secrets).
    conversations = {s["attributes"].get("gen_ai.conversation.id") for s in spans} - {None}
    assert "drill-conversation" in conversations and len(conversations) >= 2, conversations
    evaluations = [r for r in records if r.get("event_name") == "gen_ai.evaluation.result"]
    assert evaluations and any(e["name"] == "gen_ai.evaluation.result" for s in spans for e in s["events"])
    # The guardrails saw the planted secrets and said so, in what they found, not the text.
    guarded = [s for s in spans if s["name"] == "apply_guardrail input" and s["attributes"].get("app.guardrail.detections")]
    triggered = [r for r in records if r["body"] == "guardrail triggered"]
    assert guarded and triggered, (len(guarded), len(triggered))
    if capture == "true":
        assert captured and any("[REDACTED_API_KEY]" in json.dumps(s["attributes"]) for s in captured)
    else:
        assert not captured
