"""Shared building blocks of the LLM dashboards: data sources, variables, links and panel helpers.

Every dashboard module builds its panels from these helpers, so the look (units, legends,
exemplars) and the wiring (data source UIDs, template variables, links between dashboards)
are decided once. The UIDs match grafana/provisioning/datasources/datasources.yaml.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import (
    bargauge,
    dashboard,
    heatmap,
    logs,
    loki,
    nodegraph,
    prometheus,
    stat,
    table,
    tempo,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models import tempo as tempo_models

__all__ = [
    "PROMETHEUS",
    "LOKI",
    "TEMPO",
    "TAG",
    "LLM_ROUTES",
    "MODEL",
    "FEATURE",
    "TIER",
    "TRACE_METRICS_STEP",
    "COST_BY_MODEL",
    "COST_BY_TYPE",
    "COST_TOTAL",
    "UNPRICED_TOKENS",
    "token_cost_usd",
    "new_dashboard",
    "prom",
    "or_zero",
    "timeseries_panel",
    "stat_panel",
    "table_panel",
    "bar_gauge_panel",
    "heatmap_panel",
    "logs_panel",
    "traces_panel",
    "service_graph_panel",
    "alerts_table_panel",
]

PROMETHEUS = common.DataSourceRef(type_val="prometheus", uid="prometheus")
LOKI = common.DataSourceRef(type_val="loki", uid="loki")
TEMPO = common.DataSourceRef(type_val="tempo", uid="tempo")

# Every dashboard carries this tag; the "LLM dashboards" link lists all of them.
TAG = "llm"

# The app's user-facing routes (the HTTP SLIs count these, not /healthz or /metrics).
LLM_ROUTES = "/v1/ask|/v1/agent"

# Label matchers for the template variables, to paste into PromQL selectors.
MODEL = 'gen_ai_request_model=~"$model"'
FEATURE = 'feature=~"$feature"'
TIER = 'user_tier=~"$tier"'

# Tempo's metrics generator writes traces_spanmetrics_* and traces_service_graph_* every 15 s
# (its default collection interval, not set in tempo/tempo.yaml), while Prometheus' own scrapes
# are 5 s. Queries on those series set this as their "Min step": Grafana then takes it as the
# scrape interval, so `$__rate_interval` is at least 4 x 15 s = 1m and every window holds
# several samples (with the data source's 5 s it would be 20 s, and most points empty).
TRACE_METRICS_STEP = "15s"

# Spend computed in Prometheus (prometheus/rules/models.yml, generated from the model catalogue):
# the semconv token-usage histogram times the catalogue's USD per token, for any app that emits
# gen_ai_client_token_usage. By model only (the token metric has no feature or tier); models
# without a price have no cost, their tokens per second are UNPRICED_TOKENS.
COST_BY_MODEL = "gen_ai_request_model:gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
COST_BY_TYPE = "gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
COST_TOTAL = ":gen_ai_client_token_usage_cost_usd_per_hour:rate1m"
UNPRICED_TOKENS = "gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_sum:rate1m_unpriced"
_PRICE = "gen_ai_request_model_gen_ai_token_type:llm_model_price_usd_per_token:catalogue"


def token_cost_usd(func: str, window: str) -> str:
    """USD by model and token type: `func` (increase or rate) of the token histogram's sum x price."""
    return (
        f"sum by (gen_ai_request_model, gen_ai_token_type) ({func}(gen_ai_client_token_usage_sum{{{MODEL}}}[{window}]))"
        f" * on (gen_ai_request_model, gen_ai_token_type) {_PRICE}"
    )


def _variable(name: str, label: str, metric: str, label_name: str, description: str) -> dashboard.QueryVariable:
    """A multi-value Prometheus label variable with an "All" option that matches everything."""
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(PROMETHEUS)
        .query(f"label_values({metric}, {label_name})")
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        # "All" becomes `.*` (not a long alternation of every value), so a value that appears
        # after the dashboard loaded is included too.
        .all_value(".*")
        .current(dashboard_models.VariableOption(selected=True, text="All", value="$__all"))
    )


_VARIABLES = {
    "model": lambda: _variable(
        "model",
        "Model",
        "gen_ai_client_operation_duration_seconds_count",
        "gen_ai_request_model",
        "Requested model (gen_ai.request.model).",
    ),
    "feature": lambda: _variable(
        "feature", "Feature", "llmapp_cost_usd_total", "feature", "Product feature that made the request."
    ),
    "tier": lambda: _variable("tier", "Tier", "llmapp_cost_usd_total", "user_tier", "Customer tier of the caller."),
    "error_type": lambda: _variable(
        "error_type",
        "Error type",
        "gen_ai_client_operation_duration_seconds_count",  # successful calls have no error_type
        "error_type",
        "Class of the error (error.type: the openai SDK exception) of failed LLM calls.",
    ),
    # One trace's error lines: the Errors dashboard's traces table sets it (var-trace_id=<id>).
    # `.*` (all traces) by default; queries write `0*${trace_id:raw}` so that a trace id given
    # without its leading zeros (as Tempo's search may give it) still matches the 32-character
    # one Loki stores, and :raw keeps Grafana from escaping the regex.
    "trace_id": lambda: (
        dashboard.TextBoxVariable("trace_id")
        .label("Trace id")
        .description("Show the error lines of one trace (32 hex characters, or fewer without the leading zeros); .* for all.")
        .default_value(".*")
        .current(dashboard_models.VariableOption(selected=True, text=".*", value=".*"))
    ),
    # One conversation's id (gen_ai.conversation.id), exact: the conversations dashboard's
    # recent-conversations table sets it (var-conversation_id=<id>). No metric has the id,
    # so it cannot be a label_values() variable; empty shows no conversation.
    "conversation_id": lambda: (
        dashboard.TextBoxVariable("conversation_id")
        .label("Conversation id")
        .description("The conversation to show (the conversation_id a client sent to /v1/ask); click one in Recent conversations.")
        .default_value("")
        .current(dashboard_models.VariableOption(selected=True, text="", value=""))
    ),
}


def new_dashboard(
    uid: str, title: str, description: str, *, variables: tuple[str, ...] = ()
) -> dashboard.Dashboard:
    """A dashboard with the common settings: tag, time range, refresh, cross-links.

    `variables` names the template variables the dashboard's queries use ("model",
    "feature", "tier"); the links between dashboards carry their values along.
    """
    builder = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        # One dropdown-free row of links to every LLM dashboard, keeping the time range and
        # the selected model/feature/tier when you jump.
        .link(
            dashboard.DashboardLink("LLM dashboards")
            .type(dashboard_models.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(False)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for name in variables:
        builder = builder.with_variable(_VARIABLES[name]())
    return builder


def prom(
    expr: str,
    legend: str = "",
    *,
    ref: str = "A",
    exemplar: bool = False,
    instant: bool = False,
    heatmap_buckets: bool = False,
    min_step: str | None = None,
) -> prometheus.Dataquery:
    """One PromQL query.

    `exemplar=True` asks Prometheus for the trace_id exemplars stored with the raw histogram
    series (a recording rule has none). `heatmap_buckets=True` returns one series per `le`
    bucket, de-accumulated by Grafana for a heatmap or distribution panel. `min_step` is the
    query's "Min step" for series written less often than Prometheus scrapes
    (TRACE_METRICS_STEP); `$__rate_interval` is at least four of it.
    """
    query = prometheus.Dataquery().expr(expr).ref_id(ref).legend_format(legend or "__auto")
    if min_step:
        query = query.interval(min_step)
    if exemplar:
        query = query.exemplar(True)
    if heatmap_buckets:
        query = query.format(prometheus_models.PromQueryFormat.HEATMAP).legend_format("{{le}}")
    if instant:
        query = query.instant()
        if not heatmap_buckets:
            query = query.format(prometheus_models.PromQueryFormat.TABLE)
    else:
        query = query.range()
    return query


def or_zero(expr: str, label: str) -> str:
    """`expr` or, when it has no series at all, a 0 labelled `label="none"`.

    For counters that only exist after their first increment (Loki's and Tempo's discards,
    the app's dropped telemetry): a healthy stack shows 0 instead of "No data". `or on()`
    adds the 0 only when `expr` is empty, so a real series never gets a 0 next to it.
    """
    return f'{expr} or on() label_replace(vector(0), "{label}", "none", "", "")'


def _with_targets(panel, targets):
    for target in targets:
        panel = panel.with_target(target)
    return panel


def timeseries_panel(
    title: str,
    description: str,
    targets: list,
    *,
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    min_value: float | None = 0,
    max_value: float | None = None,
    stacked: bool = False,
) -> timeseries.Panel:
    """A time series with a table legend (mean, max, last) under the graph."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING))
    )
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    return _with_targets(panel, targets)


def stat_panel(
    title: str,
    description: str,
    targets: list,
    *,
    unit: str = "short",
    width: int = 4,
    height: int = 4,
    decimals: int | None = None,
    thresholds: list[tuple[float | None, str]] | None = None,
) -> stat.Panel:
    """A single big number (last value), colored by `thresholds` [(from, color), ...]."""
    steps = thresholds or [(None, "green")]
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(height)
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(
            dashboard.ThresholdsConfig()
            .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
            .steps([dashboard_models.Threshold(value=value, color=color) for value, color in steps])
        )
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    return _with_targets(panel, targets)


def table_panel(title: str, description: str, targets: list, *, width: int = 12, height: int = 8) -> table.Panel:
    """A table of instant query results (labels as columns)."""
    return _with_targets(
        table.Panel().title(title).description(description).datasource(PROMETHEUS).span(width).height(height),
        targets,
    )


def bar_gauge_panel(
    title: str, description: str, targets: list, *, unit: str = "short", width: int = 12, height: int = 8
) -> bargauge.Panel:
    """Horizontal bars: good for distributions (one bar per histogram bucket) and rankings."""
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .span(width)
        .height(height)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return _with_targets(panel, targets)


def heatmap_panel(
    title: str, description: str, targets: list, *, unit: str = "short", width: int = 12, height: int = 8
) -> heatmap.Panel:
    """A heatmap of a Prometheus histogram: query with format=heatmap, one series per `le` bucket."""
    panel = (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .span(width)
        .height(height)
        # The buckets come from the histogram itself; Grafana must not re-bucket them.
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(unit))
        .show_value(common.VisibilityMode.NEVER)
    )
    return _with_targets(panel, targets)


def logs_panel(title: str, description: str, expr: str, *, width: int = 24, height: int = 10) -> logs.Panel:
    """Log lines from Loki, newest first, with their structured metadata (trace_id links to Tempo)."""
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .datasource(LOKI)
        .span(width)
        .height(height)
        .show_time(True)
        .wrap_log_message(True)
        .enable_log_details(True)
        .sort_order(common.LogsSortOrder.DESCENDING)
        .with_target(loki.Dataquery().expr(expr).ref_id("A").query_type("range"))
    )


def traces_panel(title: str, description: str, traceql: str, *, limit: int = 20, width: int = 24, height: int = 10):
    """A table of traces from a TraceQL search; each trace id opens the trace view."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .span(width)
        .height(height)
        .with_target(
            tempo.TempoQuery()
            .ref_id("A")
            .query_type("traceql")
            .query(traceql)
            .limit(limit)
            .table_type(tempo_models.SearchTableType.TRACES)
        )
    )


def service_graph_panel(title: str, description: str, *, width: int = 24, height: int = 12) -> nodegraph.Panel:
    """Tempo's service map: nodes and edges from the traces_service_graph_* metrics in Prometheus."""
    return (
        nodegraph.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .span(width)
        .height(height)
        .with_target(tempo.TempoQuery().ref_id("A").query_type("serviceMap"))
    )


def alerts_table_panel(title: str, description: str, *, width: int = 12, height: int = 8) -> table.Panel:
    """Firing alerts from Prometheus' ALERTS series, one row per alert with its labels.

    The ALERTS series needs no extra data source and shows exactly what Prometheus sends to
    Alertmanager; the Watchdog (always firing by design) is left out.
    """
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .span(width)
        .height(height)
        .with_target(prom('ALERTS{alertstate="firing", alertname!="Watchdog"}', instant=True))
        .with_transformation(
            dashboard_models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True, "Value": True, "__name__": True, "alertstate": True},
                    "indexByName": {"alertname": 0, "severity": 1, "gen_ai_request_model": 2},
                },
            )
        )
    )
