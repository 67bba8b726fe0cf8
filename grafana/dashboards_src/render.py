"""Render every dashboard builder to deterministic JSON text and write (or check) grafana/dashboards/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import agents, budgets, conversations, cost, errors, overview, rag_quality, slo, stack_health

__all__ = ["DASHBOARDS", "OUTPUT_DIR", "render", "render_all", "write_all"]

OUTPUT_DIR = Path(__file__).resolve().parents[1] / "dashboards"

# uid -> builder. The uids are referenced by alert annotations and by the home dashboard
# setting in compose.yaml: never rename them.
DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "llm-overview": overview.build,
    "llm-cost": cost.build,
    "llm-rag-quality": rag_quality.build,
    "llm-agents": agents.build,
    "llm-slo": slo.build,
    "llm-stack-health": stack_health.build,
    "llm-errors": errors.build,
    "llm-budgets": budgets.build,
    "llm-conversations": conversations.build,
}


def render(builder: dashboard.Dashboard) -> str:
    """JSON text of one dashboard, with stable panel ids and sorted keys (diff-friendly)."""
    model = builder.build()
    # Panel ids must be unique within a dashboard (links, "view panel", alerts refer to
    # them); number them in layout order so they stay stable when panels are added at the end.
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, str]:
    """File name (`<uid>.json`) -> JSON text, for every dashboard."""
    rendered = {}
    for uid, build in DASHBOARDS.items():
        builder = build()
        text = render(builder)
        if json.loads(text)["uid"] != uid:
            raise ValueError(f"dashboard registered as {uid!r} renders uid {json.loads(text)['uid']!r}")
        rendered[f"{uid}.json"] = text
    return rendered


def write_all(output_dir: Path = OUTPUT_DIR) -> list[Path]:
    """Write every dashboard and delete stale generated files; returns the paths written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rendered = render_all()
    for stale in output_dir.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for name, text in rendered.items():
        path = output_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
