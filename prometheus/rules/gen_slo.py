"""Generate the SLO recording and burn-rate alert rules, demo and production, from one table.

    python prometheus/rules/gen_slo.py           # rewrite rules/slo.yml and rules/production/slo.yml
    python prometheus/rules/gen_slo.py --check   # exit 1 if a committed file differs from the table

The alerts are the multiwindow, multi-burn-rate alerts of the Google SRE workbook
("Alerting on SLOs"): an alert fires when the error budget burns `factor` times faster
than sustainable over a long window AND still does over a short window (so it resets soon
after the problem stops). The production file uses the workbook's windows for a 30-day
budget. The demo file divides every window and `for:` by DEMO_COMPRESSION (12), so a
sustained error burst fires the fast-burn alert within a few minutes instead of an hour;
the burn-rate factors stay the same, so the alerts still mean "2% (5%) of the budget spent"
- of a budget period compressed to 2.5 days. Load one file or the other, never both: they
record the same series names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SLOS", "BURN_ALERTS", "DEMO_COMPRESSION", "PROFILES", "render", "duration"]

HERE = Path(__file__).resolve().parent
OUTPUTS = {"demo": HERE / "slo.yml", "production": HERE / "production" / "slo.yml"}
# Each alert's runbook: <base>#<alert name in lower case>. The base is the external label
# runbook_base_url (prometheus.yml), or the alert receiver's page when it is not set (promtool
# 2.42 cannot set external labels in a test, so the unit tests see this default).
RUNBOOK = "{{ with $externalLabels.runbook_base_url }}{{ . }}{{ else }}http://localhost:8082/runbooks{{ end }}"
DASHBOARD = "http://localhost:3000/d/llm-slo"

BUDGET_PERIOD_S = 30 * 86400  # the SLO period the workbook factors are computed for
DEMO_COMPRESSION = 12

# The user-facing LLM endpoints the SLOs cover.
ROUTES = ("/v1/ask", "/v1/agent")
# Latency objective per route, in seconds. Each must be a bucket boundary of
# http_server_request_duration_seconds (contract bucket set `http_duration`): a histogram
# can only count "faster than X" exactly at a boundary. An agent run makes several LLM
# calls, so it gets a larger budget than a single question.
LATENCY_THRESHOLDS_S: dict[str, int | float] = {"/v1/ask": 5, "/v1/agent": 10}

_COUNT = "http_server_request_duration_seconds_count"
_BUCKET = "http_server_request_duration_seconds_bucket"
_ROUTES_RE = "|".join(ROUTES)


def _le_regex(seconds: int | float) -> str:
    # Prometheus 2.x keeps `le` as the client wrote it ("5" or "5.0"), 3.x normalises it
    # to "5.0": match both, never the integer form alone.
    text = f"{seconds:g}"
    return text.replace(".", "\\\\.") if "." in text else text + "(\\\\.0)?"


def _availability_errors(window: str) -> str:
    # Until the first 5xx there is no 5xx series at all: `or 0 * ...` makes the ratio an
    # explicit 0 instead of "no data", so the SLI and its dashboard exist from the start.
    total = f'sum(rate({_COUNT}{{http_route=~"{_ROUTES_RE}"}}[{window}]))'
    return (
        f"(\n"
        f'  sum(rate({_COUNT}{{http_route=~"{_ROUTES_RE}", http_response_status_code=~"5.."}}[{window}]))\n'
        f"  or\n"
        f"  0 * {total}\n"
        f")\n"
        f"/\n"
        f"{total}"
    )


def _latency_errors(window: str) -> str:
    fast = "\n    or\n".join(
        f'    rate({_BUCKET}{{http_route="{route}", le=~"{_le_regex(limit)}"}}[{window}])'
        for route, limit in LATENCY_THRESHOLDS_S.items()
    )
    return (
        f"1 - (\n"
        f"  sum(\n{fast}\n  )\n"
        f"  /\n"
        f'  sum(rate({_COUNT}{{http_route=~"{_ROUTES_RE}"}}[{window}]))\n'
        f")"
    )


@dataclass(frozen=True)
class SLO:
    """One service level objective: what counts as bad, and the share that must be good."""

    name: str  # value of the `slo` label on every series and alert
    alert_prefix: str
    objective: float
    good_means: str  # for humans: annotations and comments
    errors: Callable[[str], str]  # window -> PromQL of the share of bad requests


SLOS: tuple[SLO, ...] = (
    SLO(
        "availability",
        "LLMAvailabilitySLO",
        0.99,
        "99% of /v1/ask and /v1/agent requests answer without a 5xx",
        _availability_errors,
    ),
    SLO(
        "latency",
        "LLMLatencySLO",
        0.95,
        "95% of requests are served within 5s (/v1/ask) or 10s (/v1/agent)",
        _latency_errors,
    ),
)


@dataclass(frozen=True)
class BurnAlert:
    """One row of the workbook table: alert when both windows burn faster than `factor`."""

    suffix: str  # FastBurn / SlowBurn, appended to the SLO's alert prefix
    severity: str
    long_s: int
    short_s: int
    factor: float
    for_s: int
    in_demo: bool  # the 3-day ticket row means nothing on a demo that runs for minutes


# SRE workbook, table 5-8 (30-day budget): 2% of the budget in 1h pages, 5% in 6h and
# 10% in 3d open a ticket. `for:` keeps one bad evaluation from paging.
BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert("FastBurn", "critical", 3600, 300, 14.4, 120, in_demo=True),
    BurnAlert("SlowBurn", "warning", 6 * 3600, 1800, 6, 900, in_demo=True),
    BurnAlert("SlowBurn", "info", 3 * 86400, 6 * 3600, 1, 3 * 3600, in_demo=False),
)


@dataclass(frozen=True)
class Profile:
    name: str
    compression: int
    header: str

    def alerts(self) -> tuple[BurnAlert, ...]:
        rows = BURN_ALERTS if self.compression == 1 else tuple(a for a in BURN_ALERTS if a.in_demo)
        c = self.compression
        return tuple(
            BurnAlert(a.suffix, a.severity, a.long_s // c, a.short_s // c, a.factor, a.for_s // c, a.in_demo)
            for a in rows
        )


PROFILES: tuple[Profile, ...] = (
    Profile(
        "demo",
        DEMO_COMPRESSION,
        "Demo SLO rules: the SRE workbook windows compressed 12x (1h -> 5m, 5m -> 25s, 6h -> 30m,\n"
        "# 30m -> 2m30s; `for:` likewise), so a sustained error burst fires FastBurn within\n"
        "# minutes. Burn-rate factors are unchanged. Real windows: production/slo.yml.",
    ),
    Profile(
        "production",
        1,
        "Production SLO rules: the SRE workbook's multiwindow, multi-burn-rate alerts for a\n"
        "# 30-day error budget (1h/5m at 14.4x pages, 6h/30m at 6x and 3d/6h at 1x open tickets).\n"
        "# Use this file INSTEAD of rules/slo.yml (same series names); it is not loaded by the demo.",
    ),
)


def duration(seconds: int) -> str:
    """Seconds as a Prometheus duration: 150 -> "2m30s", 259200 -> "3d"."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def _recording_group(slo: SLO, windows: list[str]) -> list[str]:
    lines = [
        f"  - name: slo-{slo.name}",
        "    rules:",
        f"      # Objective: {slo.good_means}.",
        "      - record: slo:objective:ratio",
        f"        expr: vector({slo.objective:g})",
        f"        labels: {{slo: {slo.name}}}",
    ]
    for window in windows:
        lines += [
            f"      # Share of bad requests over {window}, and how many times faster than",
            "      # sustainable that spends the budget (1 = exactly on budget).",
            f"      - record: slo:sli_error:ratio_rate{window}",
            "        expr: |",
            _indent(slo.errors(window), 10),
            f"        labels: {{slo: {slo.name}}}",
            f"      - record: slo:burn_rate:ratio_rate{window}",
            f'        expr: slo:sli_error:ratio_rate{window}{{slo="{slo.name}"}} / (1 - {slo.objective:g})',
            f"        labels: {{slo: {slo.name}}}",
        ]
    return lines


def _alert(slo: SLO, row: BurnAlert, profile: Profile) -> list[str]:
    name = slo.alert_prefix + row.suffix
    long_w, short_w = duration(row.long_s), duration(row.short_s)
    budget = "30-day budget"
    if profile.compression != 1:
        budget += f" (compressed {profile.compression}x to {duration(BUDGET_PERIOD_S // profile.compression)})"
    # The share of the budget is the same in both profiles: windows and period shrink alike.
    share = f"{row.factor * row.long_s * profile.compression / BUDGET_PERIOD_S:.0%}"
    return [
        f"      - alert: {name}",
        "        expr: |",
        f'          slo:burn_rate:ratio_rate{long_w}{{slo="{slo.name}"}} > {row.factor:g}',
        "          and",
        f'          slo:burn_rate:ratio_rate{short_w}{{slo="{slo.name}"}} > {row.factor:g}',
        f"        for: {duration(row.for_s)}",
        "        labels:",
        f"          severity: {row.severity}",
        "        annotations:",
        f'          summary: "{slo.name.capitalize()} error budget burns {{{{ $value | printf \\"%.1f\\" }}}}x too fast ({long_w} window)"',
        "          description: >-",
        f"            The {slo.name} SLO ({slo.good_means}) has burned its error budget",
        f'            {{{{ $value | printf "%.1f" }}}}x faster than sustainable over the last {long_w} and still burns',
        f"            above {row.factor:g}x over the last {short_w}: at this pace {share} of the {budget}",
        f"            is spent within {long_w}.",
        f"          runbook_url: '{RUNBOOK}#{name.lower()}'",
        f"          dashboard_url: {DASHBOARD}",
    ]


def render(profile: Profile) -> str:
    """The rule file for one profile, as text."""
    alerts = profile.alerts()
    windows = sorted({duration(s) for a in alerts for s in (a.long_s, a.short_s)}, key=_seconds)
    lines = [
        "# GENERATED by prometheus/rules/gen_slo.py from its table - do not edit by hand; change the",
        "# table and run `python prometheus/rules/gen_slo.py` (tests/rules/ fails if this file drifts).",
        "#",
        "# " + profile.header,
        "#",
        "# Burn rate = share of bad requests / (1 - objective). Each alert needs both windows",
        "# above the factor: the long one proves the burn is significant, the short one that it",
        "# is still going on (so the alert resolves minutes after the problem stops).",
        "",
        "groups:",
    ]
    for slo in SLOS:
        lines += _recording_group(slo, windows)
        lines.append("")
    lines += ["  - name: slo-alerts", "    rules:"]
    for slo in SLOS:
        for row in alerts:
            lines += _alert(slo, row, profile)
    return "\n".join(lines) + "\n"


def _seconds(text: str) -> int:
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs instead of writing it")
    args = parser.parse_args(argv)
    stale = []
    for profile in PROFILES:
        path, text = OUTPUTS[profile.name], render(profile)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} differs from gen_slo.py's table: run python {Path(__file__).as_posix()}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
