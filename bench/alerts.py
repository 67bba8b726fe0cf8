"""Time to alert: a file of scenario-run records (bench/results/time-to-alert.json) as a table.

The file is a JSON list of run records appended by
`python -m demo_app.loadgen run NAME --stack .native --results bench/results/time-to-alert.json`;
`make bench` stages its scenarios that way, and the e2e tests append theirs only when asked,
to the file named by E2E_RESULTS (`make test` writes nothing into the tree). Several runs of
one scenario are summarised as the latest run plus the range over all runs.

    python -m bench.alerts [path]      # default: $E2E_RESULTS if set, else bench/results/time-to-alert.json
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench._common import RESULTS_DIR, ROOT

__all__ = ["TIME_TO_ALERT", "summarise", "to_markdown", "main"]

TIME_TO_ALERT = RESULTS_DIR / "time-to-alert.json"


def _shown(path: Path) -> str:
    """The path relative to the repository when it is inside it (as the README shows it)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scenario: the latest run's timings and the delivered-time range over all runs."""
    by_scenario: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_scenario[str(record.get("scenario", "?"))].append(record)
    rows = []
    for scenario, runs in sorted(by_scenario.items()):
        runs.sort(key=lambda r: str(r.get("started_at", "")))
        latest = runs[-1]
        delivered = [float(r["seconds_to_delivered"]) for r in runs if r.get("seconds_to_delivered") is not None]
        rows.append(
            {
                "scenario": scenario,
                "alert": latest.get("expected_alert", ""),
                "budget_s": latest.get("budget_s"),
                "pending_s": latest.get("seconds_to_pending"),
                "firing_s": latest.get("seconds_to_firing"),
                "delivered_s": latest.get("seconds_to_delivered"),
                "ok": bool(latest.get("ok", latest.get("within_budget", False))),
                "runs": len(runs),
                "delivered_range_s": [min(delivered), max(delivered)] if delivered else None,
                "started_at": latest.get("started_at", ""),
            }
        )
    return rows


def to_markdown(rows: list[dict[str, Any]], source: Path = TIME_TO_ALERT) -> str:
    """The time-to-alert section of bench/results/README.md."""
    lines = ["## Time to alert", ""]
    if not rows:
        return "\n".join(
            [
                *lines,
                f"No runs recorded yet in `{_shown(source)}`. "
                "Produce them with `make bench`, with `make native-up` and "
                "`make load-native SCENARIO=<name> ARGS='--results bench/results/time-to-alert.json'`, "
                "or from the e2e tests with `E2E_RESULTS=<file> pytest tests/e2e` (then `python -m bench.alerts <file>`).",
                "",
            ]
        )
    lines += [
        "From the moment the fault is injected to the notification at the alert receiver, on the native stack "
        "(Debian Prometheus + Alertmanager, the stack's rule and routing files). Latest run per scenario; "
        "`range` is the delivered time over all recorded runs.",
        "",
        "| scenario | alert | pending s | firing s | delivered s | budget s | ok | runs | range s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rng = r["delivered_range_s"]
        lines.append(
            f"| {r['scenario']} | `{r['alert']}` | {_seconds(r['pending_s'])} | {_seconds(r['firing_s'])} | "
            f"**{_seconds(r['delivered_s'])}** | {_seconds(r['budget_s'])} | {'yes' if r['ok'] else 'NO'} | {r['runs']} | "
            f"{'-' if rng is None else f'{rng[0]:.1f}-{rng[1]:.1f}'} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("E2E_RESULTS") or TIME_TO_ALERT)
    records = json.loads(path.read_text()) if path.exists() else []
    print(to_markdown(summarise(records), path))


if __name__ == "__main__":
    main()
