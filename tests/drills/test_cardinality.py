"""Under the full scenario mix the app exports fewer than 1,000 active series (the issue's label budget).

bench/scenario_mix.py drives every endpoint, feature, tier, team (by field and by API key),
model, streaming, agents, every fault kind (cache_bust included) and every prompt version through a real app and
simulator; afterwards every sample line on the app's /metrics is one active series. The test
also checks that the mix really spent under every team and recorded cached input tokens, so
the count includes the team label and the cache metrics with values, not only at zero. Label values are checked strictly, so a value outside the
contract would also show up here, as a 500.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo_app.budgets import OTHER_TEAM, load_budgets
from demo_app.prompts import load_prompts

BUDGET = 1000
_SUFFIX = re.compile(r"_(bucket|sum|count)$")
# bench/ is not an installed package: run the mix the way the benchmarks do, from the repo root.
_MIX = "import json, sys; from bench.scenario_mix import {name}; print(json.dumps({name}({args})))"


def _bench(drill, name: str, *args: str) -> dict:
    code = _MIX.format(name=name, args=", ".join(f"sys.argv[{i + 1}]" for i in range(len(args))))
    out = subprocess.run([drill.python, "-c", code, *args], cwd=drill.root, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.timeout(400)  # generous: a slow machine makes the mix slower, never different
def test_full_mix_stays_under_the_series_budget(start, drill) -> None:
    sim = start("llm_sim", env=drill.sim_env("0"))
    # The agents' tools over MCP, as in compose: the client's duration histogram counts too.
    tools = start("mcp_tools", env={"OTEL_SDK_DISABLED": "true"})
    # OTLP to a closed port, as in bench/cardinality.py: exports fail, so the dropped-telemetry series count too.
    dead_otlp = f"http://127.0.0.1:{drill.free_port()}"
    env = drill.app_env(sim, dead_otlp, TELEMETRY_EXPORT_TIMEOUT_S="0.5", MCP_TOOLS_URL=f"{tools.url}/mcp", **_bench(drill, "mix_app_env"))
    app = start("app", env=env)

    statuses = _bench(drill, "run_mix", app.url, sim.url)
    assert "500" not in statuses, f"the app failed (a label outside the contract?): {statuses}\n{app.log()[-3000:]}"
    assert {"200", "422", "429"} <= set(statuses), f"the mix did not reach its outcomes: {statuses}"

    text = httpx.get(f"{app.url}/metrics", timeout=10).text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    values = [s for family in text_string_to_metric_families(text) for s in family.samples]
    spent = {s.labels["team"] for s in values if s.name == "llmapp_cost_usd_total" and s.value > 0}
    assert spent == {*load_budgets().teams, OTHER_TEAM}, f"the mix spent under {spent} only"
    cached = sum(s.value for s in values if s.name == "gen_ai_client_inference_usage_cache_read_input_tokens_total")
    saved = sum(s.value for s in values if s.name == "llmapp_cache_savings_usd_total")
    assert cached > 0 and saved > 0, (cached, saved)
    assert any(s.name == "mcp_client_operation_duration_seconds_count" and s.value > 0 for s in values), "no tool call went over MCP"
    # Every version the prompt files define was live for a pass (ROLLOUTS) and scored.
    scored = {s.labels["prompt_version"] for s in values if s.name == "llmapp_quality_score_count" and s.value > 0}
    assert scored == set(load_prompts().all_versions()), f"quality scored under prompt versions {scored} only"
    by_family = Counter(_SUFFIX.sub("", re.split(r"[{ ]", line, maxsplit=1)[0]) for line in samples)
    print(f"\n{len(samples)} series after {sum(statuses.values())} requests {statuses}")
    for family, count in by_family.most_common():
        print(f"  {count:5d}  {family}")
    assert len(samples) < BUDGET, f"{len(samples)} active series, budget {BUDGET}: {dict(by_family.most_common())}"
