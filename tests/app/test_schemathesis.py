"""Schemathesis against the running app's OpenAPI schema: no input gets a 5xx or breaks the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys

MAX_EXAMPLES = 50  # per operation in the fuzzing phase; bounded so the folder stays fast
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection,positive_data_acceptance"
)


def test_fuzzed_requests_never_get_5xx(start_app, tmp_path) -> None:
    # Rate limits out of the way: a 429 is a legitimate answer but hides what the input does.
    generous = {f"RATE_LIMIT_{tier}_{what}": "100000" for tier in ("FREE", "PRO", "ENTERPRISE") for what in ("PER_S", "BURST")}
    app = start_app("schemathesis", {**generous, "OTEL_SDK_DISABLED": "true"})
    result = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{app.url}/openapi.json",
            "--checks", CHECKS,
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", "1",
            "--phases", "examples,coverage,fuzzing",  # no --max-time: it makes fuzzing repeat until spent
            "--generation-database", "none",
            "--request-timeout", "20",
            "--workers", "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=tmp_path,  # schemathesis keeps a .schemathesis/ cache in its working directory
    )
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"schemathesis found problems:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated and int(generated.group(1)) >= 100, tail
    lines = [json.loads(line) for line in app.log().splitlines() if line.startswith("{")]
    served = [e for e in lines if e.get("event") == "request"]
    assert not [e for e in served if int(e.get("status_code", 0)) >= 500], "the app logged a 5xx"
    print(f"\nschemathesis: {generated.group(1)} cases generated, {len(served)} requests served by the app")
