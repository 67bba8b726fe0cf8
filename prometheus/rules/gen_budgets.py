"""Generate the spend-budget recording and alert rules, demo and production, from the budgets file.

    python prometheus/rules/gen_budgets.py                    # rewrite rules/budgets.yml and rules/production/budgets.yml
    python prometheus/rules/gen_budgets.py --budgets my.yaml  # ... from another budgets file
    python prometheus/rules/gen_budgets.py --check            # exit 1 if a committed file differs

The budgets are --budgets FILE, else $LLM_BUDGETS_FILE (the file the app uses), else the bundled
demo_app/data/budgets.yaml; the committed rule files are the bundled file's, and the promtool
tests in rules/tests/ expect them.

Prometheus has no calendar: a budget "month" is a rolling window of fixed length, the budget
window of the profile. Production: 30 days (the last 30 days of spend against the monthly
budget). Demo: 1 hour (time compressed 720x), so a scenario can burn a team's "month" while you
watch. Load one file or the other, never both: they record the same series names.

Per scope (the whole app, each feature, user tier and team that has a budget) the rules record,
with the labels `scope` (total, feature, user_tier, team) and `scope_value` (the feature, tier or
team; absent for total):
- `scope:llmapp_budget_usd:month` the budget per month (from the file);
- `scope:llmapp_cost_usd:increase_month` the spend over the budget window;
- `scope:llmapp_budget:used_ratio` that spend / the budget (1 = all of it);
- `scope:llmapp_cost_usd:projected_month` the spend of a whole window at the current rate
  (the rate over the profile's projection window x the window length);
- `scope:llmapp_budget:seconds_left` how long until the budget is gone at the current rate (0 when
  it is already spent; +Inf when nothing is being spent);
- `scope:llmapp_budget:burn_rate_current` and `scope:llmapp_budget:burn_rate<window>`: spend rate /
  (budget / window length), i.e. how many times faster than the budget allows (1 = exactly on
  budget), over the projection window and over each window of the burn alerts.

Alerts (the multiwindow, multi-burn-rate pattern of the SRE workbook, applied to money instead
of errors): LLMBudgetBurnFast pages (critical) and LLMBudgetBurnSlow opens a ticket (info) when a
scope burns its budget `factor` times too fast over a long AND a short window; LLMBudgetProjectedOverrun
(info) when the current rate would spend more than the budget in a whole window. Spend is the
app's llmapp_cost_usd_total (it alone carries feature, user_tier and team; the computed cost of
models.yml has only the model).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere: demo_app is importable

from demo_app.budgets import DEFAULT_BUDGETS_FILE, ENV_VAR, SCOPES, load_budgets  # noqa: E402 - after the sys.path line

__all__ = ["BURN_ALERTS", "PROFILES", "PROJECTION", "Profile", "duration", "render", "resolve_budgets"]

OUTPUTS = {"demo": HERE / "budgets.yml", "production": HERE / "production" / "budgets.yml"}
# Each alert's runbook: <base>#<alert name in lower case> (see gen_slo.py for why the default).
RUNBOOK = "{{ with $externalLabels.runbook_base_url }}{{ . }}{{ else }}http://localhost:8082/runbooks{{ end }}"
DASHBOARD = "http://localhost:3000/d/llm-budgets"

_COST = "llmapp_cost_usd_total"
# The label of llmapp_cost_usd_total each scope reads (total: the sum of everything).
SCOPE_LABEL: Mapping[str, str | None] = {"total": None, "feature": "feature", "user_tier": "user_tier", "team": "team"}
assert tuple(SCOPE_LABEL) == SCOPES, "gen_budgets.py and demo_app/budgets.py must agree on the scopes"

BUDGET = "scope:llmapp_budget_usd:month"
SPENT = "scope:llmapp_cost_usd:increase_month"
USED = "scope:llmapp_budget:used_ratio"
PROJECTED = "scope:llmapp_cost_usd:projected_month"
SECONDS_LEFT = "scope:llmapp_budget:seconds_left"
BURN_CURRENT = "scope:llmapp_budget:burn_rate_current"
_ON = "on (scope, scope_value)"


@dataclass(frozen=True)
class Windows:
    """The long and short window and the `for:` of one burn alert in one profile, in seconds."""

    long_s: int
    short_s: int
    for_s: int


@dataclass(frozen=True)
class BurnAlert:
    """One row of the burn-rate table: alert when both windows burn faster than `factor`."""

    name: str
    severity: str
    factor: float
    production: Windows
    demo: Windows
    means: str  # for humans: the annotation says what firing means


# The table. Production rows are the SRE workbook's for a 30-day budget (the same as gen_slo.py):
# - Fast (pages): 14.4x over 1h and still over 5m = 2% of the month's budget in one hour; at that
#   pace the whole budget is gone in 30d / 14.4 = 2.1 days, so someone must act today. `for: 2m`
#   keeps one expensive minute from paging.
# - Slow (ticket): 6x over 6h and still over 30m = 5% of the budget in six hours; gone in 5 days:
#   a working-hours problem. (The workbook's third row, 1x over 3 days, is what
#   LLMBudgetProjectedOverrun says more directly: see PROJECTION.)
# Demo rows: the demo month is 1 hour, 720x shorter, but windows cannot shrink 720x (1h -> 5s is a
# single 5 s scrape; a rate needs at least 4 scrapes, tests/rules checks it). So the demo keeps the
# FACTORS - they keep their meaning, "spending N times faster than the budget allows", i.e. the
# budget is gone in month / N (fast: 4.2 minutes, slow: 10 minutes) - and picks windows that fit
# inside that time and still average over enough scrapes: long windows of 2m (fast) and 5m (slow)
# smooth over single expensive requests (a sim-large call costs about 1% of the smallest demo
# budget's month), short windows of 30s (6 scrapes) and 1m say the burn is still going on, so the
# alert resolves within a minute of the burn stopping. The price of compressing the windows less
# than the month: when a demo alert fires, a larger share of the month's budget is already spent
# (fast: 14.4 x 2m / 60m = 48%, slow: 6 x 5m / 60m = 50%, against 2% and 5% in production).
# `for:` is the workbook's in production; in the demo 30s (fast) and 1m (slow): long enough that
# one bad evaluation does not page, short enough for the budget-burn scenario's time budget.
BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert(
        "LLMBudgetBurnFast",
        "critical",
        14.4,
        production=Windows(long_s=3600, short_s=300, for_s=120),
        demo=Windows(long_s=120, short_s=30, for_s=30),
        means="the whole budget of a month would be gone in",
    ),
    BurnAlert(
        "LLMBudgetBurnSlow",
        "info",
        6.0,
        production=Windows(long_s=6 * 3600, short_s=1800, for_s=900),
        demo=Windows(long_s=300, short_s=60, for_s=60),
        means="the whole budget of a month would be gone in",
    ),
)


@dataclass(frozen=True)
class Projection:
    """The window the "current rate" is measured over (projection, time left, current burn rate)
    and the `for:` of LLMBudgetProjectedOverrun, in one profile."""

    window_s: int
    for_s: int


# LLMBudgetProjectedOverrun fires when the spend rate over the projection window, kept up for a
# whole budget window, would exceed the budget (a burn rate above 1). Production: the rate of the
# last day (a day smooths the daily traffic cycle; shorter windows would call every busy afternoon
# an overrun) held for an hour. Demo: the last 5 minutes (1/12 of the demo month; the day
# compressed 720x would be 2m, the fast alert's own window, and as jumpy) held for 2 minutes, so
# that under a strong burn the page (fast burn) comes first and inhibits this ticket, as in
# production. A ticket (info): the month is not over, someone has days (demo: minutes) to react.
PROJECTION: Mapping[str, Projection] = {
    "production": Projection(window_s=86400, for_s=3600),
    "demo": Projection(window_s=300, for_s=120),
}


@dataclass(frozen=True)
class Profile:
    name: str
    month_s: int  # the budget window: what a "month" is in this profile
    header: str

    def windows(self, row: BurnAlert) -> Windows:
        return row.production if self.name == "production" else row.demo

    @property
    def projection(self) -> Projection:
        return PROJECTION[self.name]


PROFILES: tuple[Profile, ...] = (
    Profile(
        "demo",
        3600,
        "Demo budget rules: a budget \"month\" is 1 hour (time compressed 720x), so the budget-burn\n"
        "# scenario burns a team's month within minutes. The burn-rate factors are production's; the\n"
        "# windows are the shortest that hold enough 5 s scrapes (see the table in gen_budgets.py).\n"
        "# Real 30-day windows: production/budgets.yml.",
    ),
    Profile(
        "production",
        30 * 86400,
        "Production budget rules: a budget \"month\" is a rolling 30 days; the SRE workbook's\n"
        "# multiwindow burn-rate pairs (1h/5m at 14.4x pages, 6h/30m at 6x tickets) and a projected\n"
        "# overrun on the last day's rate. Use this file INSTEAD of rules/budgets.yml (same series\n"
        "# names); it is not loaded by the demo.",
    ),
)


def resolve_budgets(value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """A path; unset: $LLM_BUDGETS_FILE, else the bundled demo_app/data/budgets.yaml."""
    env = os.environ if environ is None else environ
    value = (value or env.get(ENV_VAR, "")).strip()
    return Path(value) if value else DEFAULT_BUDGETS_FILE


def duration(seconds: int) -> str:
    """Seconds as a Prometheus duration: 150 -> "2m30s", 2592000 -> "30d"."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _human(seconds: float) -> str:
    """For comments and annotations: 151200 -> "42h", 250 -> "4.2 minutes"."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.1f} minutes"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _labels(scope: str, value: str) -> str:
    return f"{{scope: {scope}}}" if scope == "total" else f"{{scope: {scope}, scope_value: {_quoted(value)}}}"


def _spend(scope: str, func: str, window: str) -> str:
    """USD (increase) or USD per second (rate) of llmapp_cost_usd_total per value of the scope,
    its label renamed to scope_value (so one alert expression covers every scope)."""
    label = SCOPE_LABEL[scope]
    inner = f"{func}({_COST}[{window}])"
    if label is None:
        return f"sum({inner})"
    return f'sum by (scope_value) (label_replace({inner}, "scope_value", "$1", "{label}", "(.*)"))'


def _rate_record(window: str) -> str:
    return f"scope:llmapp_cost_usd:rate{window}"


def _burn_record(window: str) -> str:
    return f"scope:llmapp_budget:burn_rate{window}"


def _budget_group(monthly: Mapping[str, Mapping[str, float]]) -> list[str]:
    lines = [
        "  - name: llm-budget-constants",
        "    rules:",
        "      # The budget of each scope per month (demo_app/data/budgets.yaml, monthly_usd), in USD.",
    ]
    for scope in SCOPES:
        for value, usd in monthly.get(scope, {}).items():
            lines += [f"      - record: {BUDGET}", f"        expr: vector({usd:g})", f"        labels: {_labels(scope, value)}"]
    return lines


def _spend_group(profile: Profile, windows: list[str]) -> list[str]:
    month = duration(profile.month_s)
    lines = [
        "  - name: llm-budget-spend",
        "    rules:",
        f"      # Spend over the budget window (the last {month}: this profile's \"month\"), per scope.",
    ]
    for scope in SCOPES:
        lines += [f"      - record: {SPENT}", f"        expr: {_spend(scope, 'increase', month)}", f"        labels: {{scope: {scope}}}"]
    lines.append("      # USD per second per scope over each window the projection and the alerts use.")
    for window in windows:
        for scope in SCOPES:
            lines += [
                f"      - record: {_rate_record(window)}",
                f"        expr: {_spend(scope, 'rate', window)}",
                f"        labels: {{scope: {scope}}}",
            ]
    return lines


def _derived_group(profile: Profile, windows: list[str]) -> list[str]:
    month_s = profile.month_s
    current = _rate_record(duration(profile.projection.window_s))
    lines = [
        "  - name: llm-budget-status",
        "    rules:",
        "      # Share of the budget spent over the budget window (1 = all of it).",
        f"      - record: {USED}",
        f"        expr: {SPENT} / {_ON} {BUDGET}",
        f"      # A whole window's spend at the rate of the last {duration(profile.projection.window_s)} (the \"current rate\").",
        f"      - record: {PROJECTED}",
        f"        expr: {current} * {month_s}",
        "      # Seconds until the budget is gone at the current rate: what is left of it / the rate",
        "      # (0 when already spent, +Inf while nothing is spent).",
        f"      - record: {SECONDS_LEFT}",
        "        expr: |",
        f"          clamp_min({BUDGET} - {_ON} {SPENT}, 0)",
        f"          / {_ON}",
        f"          {current}",
        "      # Burn rate: spend rate / (budget / window length); 1 = on budget, 14.4 = the budget of a",
        "      # month gone in 1/14.4 of it. Over the current-rate window (dashboards) and each alert window.",
        f"      - record: {BURN_CURRENT}",
        f"        expr: {current} / {_ON} ({BUDGET} / {month_s})",
    ]
    for window in windows:
        lines += [
            f"      - record: {_burn_record(window)}",
            f"        expr: {_rate_record(window)} / {_ON} ({BUDGET} / {month_s})",
        ]
    return lines


def _scope_text() -> str:
    # "team batch", "feature qa" or "total" (no scope_value) in annotations.
    return "{{ $labels.scope }}{{ with $labels.scope_value }} {{ . }}{{ end }}"


# Summaries are one-liners (tests/rules: at most 120 characters of template).
_SHORT = "{{ $labels.scope }} {{ $labels.scope_value }}"


def _burn_alert(row: BurnAlert, profile: Profile) -> list[str]:
    w = profile.windows(row)
    long_w, short_w = duration(w.long_s), duration(w.short_s)
    month = "30-day month" if profile.name == "production" else "1-hour demo month"
    share = f"{row.factor * w.long_s / profile.month_s:.0%}"
    return [
        f"      - alert: {row.name}",
        "        expr: |",
        f"          {_burn_record(long_w)} > {row.factor:g}",
        f"          and {_ON}",
        f"          {_burn_record(short_w)} > {row.factor:g}",
        f"        for: {duration(w.for_s)}",
        "        labels:",
        f"          severity: {row.severity}",
        "        annotations:",
        f"          summary: \"{_SHORT} budget burns {{{{ $value | printf \\\"%.1f\\\" }}}}x too fast ({long_w} window)\"",
        "          description: >-",
        f"            The {_scope_text()} budget is being spent {{{{ $value | printf \"%.1f\" }}}}x faster than it",
        f"            allows over the last {long_w}, and still above {row.factor:g}x over the last {short_w}. At",
        f"            {row.factor:g}x {row.means} {_human(profile.month_s / row.factor)} (a {month}); this",
        f"            window alone spent about {share} of the month's budget.",
        f"          runbook_url: '{RUNBOOK}#{row.name.lower()}'",
        f"          dashboard_url: {DASHBOARD}",
    ]


def _projection_alert(profile: Profile) -> list[str]:
    p = profile.projection
    month = "30 days" if profile.name == "production" else "the 1-hour demo month"
    return [
        "      - alert: LLMBudgetProjectedOverrun",
        "        expr: |",
        f"          {PROJECTED}",
        f"          > {_ON}",
        f"          {BUDGET}",
        f"        for: {duration(p.for_s)}",
        "        labels:",
        "          severity: info",
        "        annotations:",
        f"          summary: \"{_SHORT} heads for {{{{ $value | printf \\\"%.2f\\\" }}}} USD a month, over its budget\"",
        "          description: >-",
        f"            At the spend rate of the last {duration(p.window_s)}, {_scope_text()} would spend",
        f"            {{{{ $value | printf \"%.2f\" }}}} USD over {month}, more than its monthly budget",
        "            (demo_app/data/budgets.yaml). Not urgent yet: the burn-rate alerts page when it is.",
        f"          runbook_url: '{RUNBOOK}#llmbudgetprojectedoverrun'",
        f"          dashboard_url: {DASHBOARD}",
    ]


def _seconds(text: str) -> int:
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total


def render(monthly: Mapping[str, Mapping[str, float]], profile: Profile, source: Path) -> str:
    """The rule file for one profile, as text."""
    spans = {profile.projection.window_s} | {s for row in BURN_ALERTS for s in (profile.windows(row).long_s, profile.windows(row).short_s)}
    windows = sorted((duration(s) for s in spans), key=_seconds)
    alert_windows = sorted(
        {duration(s) for row in BURN_ALERTS for s in (profile.windows(row).long_s, profile.windows(row).short_s)}, key=_seconds
    )
    lines = [
        "# GENERATED by prometheus/rules/gen_budgets.py from the budgets file - do not edit by hand; edit",
        "# the budgets file and run `python prometheus/rules/gen_budgets.py` (`make rules`; tests/rules/",
        "# fails if this file drifts).",
        f"# Budgets: {_display_path(source)}",
        "#",
        "# " + profile.header,
        "#",
        "# Every series carries `scope` (total, feature, user_tier, team) and, except total,",
        "# `scope_value` (which feature, tier or team). Spend is the app's llmapp_cost_usd_total.",
        "",
        "groups:",
    ]
    lines += _budget_group(monthly)
    lines.append("")
    lines += _spend_group(profile, windows)
    lines.append("")
    lines += _derived_group(profile, alert_windows)
    lines.append("")
    lines += ["  - name: llm-budget-alerts", "    rules:"]
    for row in BURN_ALERTS:
        lines += _burn_alert(row, profile)
    lines += _projection_alert(profile)
    return "\n".join(lines) + "\n"


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(HERE.parents[1]).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", help=f"budgets file (default: ${ENV_VAR}, else {_display_path(DEFAULT_BUDGETS_FILE)})")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs instead of writing it")
    args = parser.parse_args(argv)
    source = resolve_budgets(args.budgets)
    monthly = load_budgets(source).monthly_usd
    stale = []
    for profile in PROFILES:
        path, text = OUTPUTS[profile.name], render(monthly, profile, source)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} from {_display_path(source)}")
    for path in stale:
        print(f"{path} differs from the budgets file {_display_path(source)}: run python {Path(__file__).as_posix()}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
