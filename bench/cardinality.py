"""Label cardinality: the app's active series after the full scenario mix, and the ingest rate it causes.

Drives bench/scenario_mix.py (every endpoint, feature, tier, model, streaming, agents, every
fault kind) through the app, then counts the series on its /metrics by metric family. A series
is one exposed sample line: a histogram with 14 buckets costs 17 series per label set
(buckets + +Inf + _sum + _count). The budget is fewer than 1,000 for the app.

The ingest rate comes from a real Prometheus (Debian's 2.42 here) scraping the app, the
simulator and itself at the stack's 5 s interval with the stack's rule files loaded:
rate(prometheus_tsdb_head_samples_appended_total[...]) in samples/s.

    python -m bench.cardinality
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench._common import RAW_DIR, RESULTS_DIR, ROOT, machine_info, start_module
from bench.scenario_mix import mix_app_env, run_mix
from demo_app.procs import Proc, find_tool, free_port, poll_until, start_process

__all__ = ["count_series", "measure", "to_markdown", "main", "BUDGET"]

BUDGET = 1000
_PROM_CONFIG = ROOT / "prometheus" / "prometheus.yml"


def count_series(exposition: str) -> dict[str, int]:
    """Series per metric family in a text exposition (every sample line is one series)."""
    counts: Counter = Counter()
    for family in text_string_to_metric_families(exposition):
        name = family.name + ("_total" if family.type == "counter" else "")
        counts[name] += len(family.samples)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _scrape_interval_s() -> float:
    """The stack's global scrape interval, so the ingest rate is the stack's (default 5 s)."""
    try:
        raw = yaml.safe_load(_PROM_CONFIG.read_text())["global"]["scrape_interval"]
        return float(re.fullmatch(r"(\d+)s", raw).group(1))  # type: ignore[union-attr]  # no match raises, caught below
    except Exception:  # any unreadable config: fall back to the demo's documented interval
        return 5.0


def _start_prometheus(log_dir: Path, targets: dict[str, str], interval_s: float) -> Proc:
    """Debian's prometheus scraping `targets` (job -> host:port) with the stack's rule files."""
    binary = find_tool("prometheus")
    port = free_port()
    data = log_dir / "prometheus-data"
    data.mkdir(parents=True, exist_ok=True)
    rules = sorted(str(p) for p in (ROOT / "prometheus" / "rules").glob("*.yml"))
    config = {
        "global": {"scrape_interval": f"{int(interval_s)}s", "evaluation_interval": f"{int(interval_s)}s"},
        "rule_files": rules,
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [t]}]} for job, t in targets.items()]
        + [{"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
    }
    config_path = log_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{port}"
    return start_process(
        "prometheus",
        [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
         "--enable-feature=exemplar-storage"],
        log_dir,
        ready_url=f"{url}/-/ready",
        url=url,
        port=port,
    )


def _query(prom_url: str, expr: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{prom_url}/api/v1/query", params={"query": expr}, timeout=10)
    resp.raise_for_status()
    return resp.json()["data"]["result"]


def measure(ingest_window_s: float = 40.0) -> dict[str, Any]:
    """Start simulator, app and Prometheus, run the mix, count series, measure the ingest rate."""
    log_dir = RAW_DIR / "cardinality"
    interval = _scrape_interval_s()
    with ExitStack() as stack:
        sim = stack.enter_context(
            start_module("demo_app.llm_sim", log_dir, {"LLM_SIM_LATENCY_SCALE": "0", "LLM_SIM_SEED": "3", "OTEL_SDK_DISABLED": "true"})
        )
        # The agents' tools over MCP, as in compose.
        tools = stack.enter_context(start_module("demo_app.mcp_tools", log_dir, {"OTEL_SDK_DISABLED": "true"}))
        # OTLP pointed at a closed port: exports fail, so the dropped-telemetry series exist too.
        dead_otlp = f"http://127.0.0.1:{free_port()}"
        app = stack.enter_context(
            start_module("demo_app.app", log_dir, {"LLM_BASE_URL": f"{sim.url}/v1", "OTEL_EXPORTER_OTLP_ENDPOINT": dead_otlp,
                                                   "TELEMETRY_EXPORT_TIMEOUT_S": "0.5", "MCP_TOOLS_URL": f"{tools.url}/mcp", **mix_app_env()})
        )
        targets = {"app": f"127.0.0.1:{app.port}", "llm-sim": f"127.0.0.1:{sim.port}"}
        prom = stack.enter_context(_start_prometheus(log_dir, targets, interval))
        t0 = time.monotonic()
        statuses = run_mix(app.url, sim.url)
        mix_s = time.monotonic() - t0
        app_series = count_series(httpx.get(f"{app.url}/metrics", timeout=10).text)
        sim_series = count_series(httpx.get(f"{sim.url}/metrics", timeout=10).text)

        # Let Prometheus scrape the final label set for a while, then read its own counters.
        window = max(ingest_window_s, 4 * interval)
        time.sleep(window)
        rng = f"{int(window - interval)}s"
        rate = poll_until(
            lambda: _query(prom.url, f"rate(prometheus_tsdb_head_samples_appended_total[{rng}])"),
            "Prometheus ingest rate",
            30,
        )
        per_job = {
            r["metric"]["job"]: float(r["value"][1])
            for r in _query(prom.url, "scrape_samples_post_metric_relabeling")
        }
        head_series = float(_query(prom.url, "prometheus_tsdb_head_series")[0]["value"][1])
    ingest = sum(float(r["value"][1]) for r in rate)
    return {
        "machine": machine_info(),
        "mix_statuses": statuses,
        "mix_seconds": round(mix_s, 1),
        "app_series_by_family": app_series,
        "app_series_total": sum(app_series.values()),
        "sim_series_by_family": sim_series,
        "sim_series_total": sum(sim_series.values()),
        "budget": BUDGET,
        "within_budget": sum(app_series.values()) < BUDGET,
        "scrape_interval_s": interval,
        "samples_per_scrape_by_job": per_job,
        "prometheus_head_series": head_series,
        "ingest_samples_per_s": round(ingest, 1),
        "ingest_note": "rate(prometheus_tsdb_head_samples_appended_total) of a Prometheus scraping app, llm-sim and itself, "
        "with the stack's rule files (recording rules append samples too)",
    }


def to_markdown(result: dict[str, Any]) -> str:
    """The cardinality section of bench/results/README.md."""
    lines = [
        "## Label cardinality",
        "",
        f"Active series on the app's `/metrics` after the full scenario mix (every endpoint, feature, tier, model, "
        f"streaming, agents and every fault kind; {sum(v for k, v in result['mix_statuses'].items())} requests, "
        f"statuses {result['mix_statuses']}).",
        "",
        "| metric family | series |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {count} |" for name, count in result["app_series_by_family"].items()]
    lines += [
        f"| **total (app)** | **{result['app_series_total']}** (budget < {result['budget']}: "
        f"{'met' if result['within_budget'] else 'EXCEEDED'}) |",
        f"| total (llm-sim) | {result['sim_series_total']} |",
        "",
        f"Prometheus ingest: **{result['ingest_samples_per_s']} samples/s** at a {result['scrape_interval_s']:.0f} s "
        f"scrape interval ({result['ingest_note']}); head series {result['prometheus_head_series']:.0f}; samples per "
        f"scrape by job: {', '.join(f'{j} {v:.0f}' for j, v in sorted(result['samples_per_scrape_by_job'].items()))}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    t0 = time.monotonic()
    result = measure()
    result["wall_s"] = round(time.monotonic() - t0, 1)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "cardinality.json").write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
