"""Bad input: the alert receiver survives fuzzing, and oversized bodies are refused before they are read.

The app's own fuzzing lives in tests/app/test_schemathesis.py and its 413 checks in
tests/app/test_validation.py; the receiver's fixed refusals in tests/alerting/. What these add:
  - schemathesis over the receiver's OpenAPI schema (GET/DELETE /alerts, /healthz): no 5xx;
  - hypothesis-generated Alertmanager payloads, mutated field by field, at POST /webhook:
    no 5xx, the receiver still answers, and its alertname label stays inside the contract;
  - "refused early": a request that declares a huge Content-Length but sends only a few bytes
    gets its 413 at once from the app and the receiver, instead of the server waiting for
    (or buffering) the rest; a chunked upload is cut off at the limit.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo_app.contract import load_contract

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
LABELS = st.dictionaries(st.text(min_size=1, max_size=30), st.text(max_size=60), max_size=6)
TIMES = st.sampled_from(["2026-11-26T10:00:00Z", "0001-01-01T00:00:00Z", "2026-11-26T10:00:00.123456789+01:00"]) | st.text(max_size=30)


@st.composite
def alert(draw) -> dict:
    labels = draw(LABELS)
    if draw(st.booleans()):
        labels["alertname"] = draw(st.sampled_from(["Watchdog", "LLMHighErrorRate"]) | st.text(max_size=50))
    return {"status": draw(st.sampled_from(["firing", "resolved"]) | st.text(max_size=10)), "labels": labels,
            "annotations": draw(LABELS), "startsAt": draw(TIMES), "endsAt": draw(TIMES),
            "generatorURL": draw(st.text(max_size=40)), "fingerprint": draw(st.text(max_size=20))}


@st.composite
def webhook_payload(draw) -> object:
    """An Alertmanager v4 notification, with a few fields replaced by arbitrary JSON."""
    alerts = draw(st.lists(alert(), min_size=0, max_size=5))
    body = {"version": "4", "groupKey": draw(st.text(max_size=60)), "truncatedAlerts": draw(st.integers(-5, 5)),
            "status": draw(st.sampled_from(["firing", "resolved"])), "receiver": draw(st.text(max_size=30)),
            "groupLabels": draw(LABELS), "commonLabels": draw(LABELS), "commonAnnotations": draw(LABELS),
            "externalURL": "http://alertmanager:9093", "alerts": alerts}
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(JSON_VALUES)
    return draw(st.just(body) | JSON_VALUES) if draw(st.integers(0, 9)) == 0 else body


def test_receiver_schema_fuzzing_finds_no_5xx(start, tmp_path):
    receiver = start("alert_sink")
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{receiver.url}/openapi.json",
         "--checks", "not_a_server_error,content_type_conformance,response_schema_conformance",
         "--max-examples", "40", "--seed", "2", "--phases", "examples,coverage,fuzzing",
         "--generation-database", "none", "--request-timeout", "10", "--workers", "1", "--no-color"],
        capture_output=True, text=True, timeout=300,
        cwd=tmp_path,  # schemathesis keeps a .schemathesis/ cache in its working directory: not in the tree
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated and int(generated.group(1)) >= 30, result.stdout[-2000:]
    print(f"\nschemathesis against the receiver: {generated.group(1)} cases")


def test_mutated_webhook_payloads_never_get_5xx(start):
    receiver = start("alert_sink")
    statuses: dict[int, int] = {}
    client = httpx.Client(base_url=receiver.url, timeout=10)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(payload=webhook_payload())
    def post(payload: object) -> None:
        status = client.post("/webhook", content=json.dumps(payload), headers={"Content-Type": "application/json"}).status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500

    post()
    print(f"\nwebhook fuzzing: responses by status {statuses}")
    assert statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0  # both paths were exercised
    assert client.get("/alerts").status_code == 200 and receiver.alive()
    alertname = load_contract().labels["alertname"]
    values = re.findall(r'alertname="((?:[^"\\]|\\.)*)"', client.get("/metrics").text)
    assert values and all(alertname.allows(v) for v in values), sorted(set(values))


def _declared_but_not_sent(port: int, path: str, declared: int) -> int:
    """Send headers declaring `declared` bytes plus 100 bytes of body; the status of the answer.

    The socket timeout is the assertion: a server that waited for the whole body would not
    answer within it.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode() + b"{" + b" " * 99
        )
        head = sock.recv(4096).decode("latin-1")
    return int(head.split()[1])


def test_oversized_bodies_are_refused_early(start, drill):
    sim = start("llm_sim", env=drill.sim_env("0"))
    app = start("app", env=drill.app_env(sim, None))
    receiver = start("alert_sink")
    for proc, path in ((app, "/v1/ask"), (receiver, "/webhook")):
        assert _declared_but_not_sent(proc.port, path, 50 * 2**20) == 413, proc.name

        def chunks():  # no Content-Length: 4 MiB in 64 KiB pieces, cut off at the limit
            for _ in range(64):
                yield b" " * 65536

        response = httpx.post(f"{proc.url}{path}", content=chunks(), headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 413, (proc.name, response.status_code)
        assert httpx.get(f"{proc.url}/healthz", timeout=5).status_code == 200
