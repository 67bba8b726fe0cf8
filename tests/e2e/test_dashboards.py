"""Every Prometheus query of every dashboard panel returns data from the session's traffic.

Template variables are substituted as Grafana would with "All" selected; queries run as
range queries over the whole session (what a panel shows). Queries on metrics that only
Loki, Tempo or Tempo's metrics generator produce cannot have data without them (native
mode has none of the three); they are listed, not silently passed, and their syntax is
checked by tests/stack/ instead.

The traffic is every catalogue scenario's (the `all_scenarios` fixture): in a whole-folder
run they have already run; run alone, this test stages them first.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"
DASHBOARDS = sorted(p.stem for p in DASHBOARD_DIR.glob("*.json"))
ABSENT_METRICS = re.compile(r"\b(traces_|tempo_|loki_)[a-zA-Z0-9_:]*")
_BUILTINS = {"__rate_interval": "1m", "__interval": "15s"}


def _targets(panels: list[dict]):
    for panel in panels:
        yield from _targets(panel.get("panels") or [])
        for target in panel.get("targets") or []:
            ds = target.get("datasource") or panel.get("datasource") or {}
            kind = ds.get("type") or ds.get("uid") if isinstance(ds, dict) else str(ds)
            if ("prometheus" in str(kind).lower() or "$" in str(kind) or not kind) and target.get("expr"):
                yield panel.get("title", "?"), target["expr"]


def _substitute(expr: str, variables: dict[str, str]) -> str:
    for name in sorted(variables, key=len, reverse=True):
        value = variables[name]
        expr = re.sub(r"\$\{" + re.escape(name) + r"(:[a-z]+)?\}", value, expr)
        expr = expr.replace(f"[[{name}]]", value).replace(f"${name}", value)
    return expr


def _variables(dashboard: dict, duration_s: int) -> dict[str, str]:
    variables = {**_BUILTINS, "__range": f"{duration_s}s", "__range_s": str(duration_s)}
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") in {"query", "custom", "interval", "constant", "textbox"}:
            # "All" for multi-value variables, as a dashboard opens by default.
            variables[var["name"]] = var.get("allValue") or ".*"
    return variables


def test_there_are_dashboards_to_check():
    assert len(DASHBOARDS) >= 3, f"expected the stack's dashboards in {DASHBOARD_DIR}"


# Run alone, the first of these stages every scenario (see all_scenarios): up to ~8 x 10 min.
@pytest.mark.timeout(5400)
@pytest.mark.parametrize("dashboard_file", DASHBOARDS)
def test_every_panel_query_returns_data(stack, e2e_session, all_scenarios, dashboard_file):
    dashboard = json.loads((DASHBOARD_DIR / f"{dashboard_file}.json").read_text())
    end = time.time()
    variables = _variables(dashboard, int(end - e2e_session.started_at))
    empty, exempt = [], []
    for title, expr in _targets(dashboard.get("panels", [])):
        query = _substitute(expr, variables)
        if ABSENT_METRICS.search(query):
            exempt.append(title)
            continue
        resp = httpx.get(
            f"{stack.urls.prometheus}/api/v1/query_range",
            params={"query": query, "start": e2e_session.started_at, "end": end, "step": 15},
            timeout=30,
        )
        assert resp.status_code == 200, f"{title}: {query} -> {resp.status_code} {resp.text[:300]}"
        values = [v for series in resp.json()["data"]["result"] for _, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
        if not values:
            empty.append(f"{title}: {query}")
    print(f"{dashboard_file}: exempt (Loki/Tempo metrics, not in native mode): {exempt}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
