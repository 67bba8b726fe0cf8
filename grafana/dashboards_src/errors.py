"""LLM errors (uid llm-errors): error ratios by model, feature and type, first/last seen per type, error logs, failed traces.

Read top to bottom, each part leads to the next: a ratio panel or the error-type table sets
the dashboard's error type (click a series or a row), which filters the error log lines and
the failed traces below; a log line links to its trace (the Loki data source's derived field),
a failed trace to its error lines here (the trace id variable) and, from a span, to all of its
logs (the Tempo data source's trace-to-logs). Alert LLMNewErrorType points here.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, stat
from grafana_foundation_sdk.models import dashboard as dashboard_models

from .common import (
    FEATURE,
    MODEL,
    logs_panel,
    new_dashboard,
    prom,
    stat_panel,
    table_panel,
    timeseries_panel,
    traces_panel,
)

__all__ = ["build", "ERROR_LOGS", "FAILED_TRACES"]

UID = "llm-errors"

_CALLS = "gen_ai_client_operation_duration_seconds_count"
_REQUESTS = "llmapp_requests_total"
_TYPE = 'error_type=~"$error_type"'
# The request's one ERROR line (contract log_levels) and every other line of the error type,
# for the selected trace (all by default; `0*` lets a shortened trace id match, see common.py).
ERROR_LOGS = (
    '{service_name=~"demo-app|llm-sim"} | severity_text=~"(?i)error|critical|fatal|warn(ing)?"'
    ' | error_type=~"$error_type" | trace_id=~"0*${trace_id:raw}"'
)
FAILED_TRACES = '{ status = error && span.error.type =~ "$error_type" }'
# Clicking a series or a row: this dashboard again, its time range kept, filtered to that type.
_BY_TYPE = "/d/llm-errors?${__url_time_range}&${model:queryparam}&${feature:queryparam}&var-error_type=${__field.labels.error_type}"
_BY_TRACE = "/d/llm-errors?${__url_time_range}&${error_type:queryparam}&var-trace_id=${__data.fields.traceID}"


def _link(title: str, url: str) -> dashboard.DashboardLink:
    # Field data links take title/url/targetBlank; the SDK builds them with its DashboardLink type.
    return dashboard.DashboardLink(title).type(dashboard_models.DashboardLinkType.LINK).url(url).target_blank(False)


def _ratio(numerator: str, denominator: str, by: str) -> str:
    """Share of `denominator` (per `by`) that `numerator` (per `by` and error_type) is."""
    return (
        f"sum by ({by}, error_type) (rate({numerator}[$__rate_interval]))"
        f" / on ({by}) group_left sum by ({by}) (rate({denominator}[$__rate_interval]))"
    )


def _seen(func: str) -> str:
    """Unix time (ms, for Grafana's dateTime unit) of the first/last 15 s step in the range with a
    failure of each error type: timestamp() of the steps where the type's count grew."""
    grew = f'sum by (error_type) (increase({_CALLS}{{error_type!="", {MODEL}, {_TYPE}}}[1m])) > 0'
    return f"1000 * {func}((timestamp({grew}))[$__range:15s])"


def _failed_share(title: str, description: str, metric: str, selector: str) -> stat.Panel:
    """A stat of the share of `metric` (a count) with a non-empty error_type, within `selector`."""
    return stat_panel(
        title,
        description,
        [prom(f'sum(rate({metric}{{error_type!="", {selector}}}[$__rate_interval])) / sum(rate({metric}{{{selector}}}[$__rate_interval]))')],
        unit="percentunit",
        decimals=2,
        width=8,
        thresholds=[(None, "green"), (0.01, "orange"), (0.05, "red")],
    )


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "LLM errors",
            "What fails and since when: error ratios by model, feature and error type, when each error type was first "
            "and last seen, the error log lines and the failed traces, each filtered by the error type you click.",
            variables=("model", "feature", "error_type", "trace_id"),
        )
        .with_row(dashboard.Row("Error ratios"))
        .with_panel(
            _failed_share(
                "Requests failed",
                "Share of admitted /v1/ask and /v1/agent requests that ended in a 5xx for their caller, after retries "
                "and fallback (llmapp_requests_total, selected models and features).",
                _REQUESTS,
                f"{MODEL}, {FEATURE}",
            )
        )
        .with_panel(
            _failed_share(
                "LLM calls failed",
                "Share of LLM call attempts that failed (retried ones too), selected models.",
                _CALLS,
                MODEL,
            )
        )
        .with_panel(
            stat_panel(
                "Error types in range",
                "How many different error types failed LLM calls in the selected time range (selected models).",
                [prom(f'count(sum by (error_type) (increase({_CALLS}{{error_type!="", {MODEL}}}[$__range])) > 0) or vector(0)', instant=True)],
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "LLM call error ratio by model and error type",
                "Share of each model's call attempts failing, per error type. Click a series to filter the logs and "
                "traces below by its error type.",
                [prom(_ratio(f'{_CALLS}{{error_type!="", {MODEL}, {_TYPE}}}', f"{_CALLS}{{{MODEL}}}", "gen_ai_request_model"),
                      "{{gen_ai_request_model}} {{error_type}}")],
                unit="percentunit",
            ).data_links([_link("Show this error type", _BY_TYPE)])
        )
        .with_panel(
            timeseries_panel(
                "Request error ratio by feature and error type",
                "Share of each feature's requests that failed their caller, per error type (llmapp_requests_total). "
                "Click a series to filter the logs and traces below by its error type.",
                [prom(_ratio(f'{_REQUESTS}{{error_type!="", {MODEL}, {FEATURE}, {_TYPE}}}', f"{_REQUESTS}{{{MODEL}, {FEATURE}}}", "feature"),
                      "{{feature}} {{error_type}}")],
                unit="percentunit",
            ).data_links([_link("Show this error type", _BY_TYPE)])
        )
        .with_panel(
            timeseries_panel(
                "Request error ratio by requested model",
                "Share of the requests for each model (before fallback) that failed their caller, per error type.",
                [prom(_ratio(f'{_REQUESTS}{{error_type!="", {MODEL}, {FEATURE}, {_TYPE}}}', f"{_REQUESTS}{{{MODEL}, {FEATURE}}}", "gen_ai_request_model"),
                      "{{gen_ai_request_model}} {{error_type}}")],
                unit="percentunit",
                width=24,
            ).data_links([_link("Show this error type", _BY_TYPE)])
        )
        .with_row(dashboard.Row("Error types"))
        .with_panel(
            table_panel(
                "First and last seen per error type",
                "For each error type of failed LLM calls in the selected range: when it was first and last seen (15 s "
                "resolution) and how many calls failed with it. A type first seen minutes ago is what LLMNewErrorType "
                "alerts on. Click a row to filter the logs and traces below.",
                [
                    prom(_seen("min_over_time"), ref="first", instant=True),
                    prom(_seen("max_over_time"), ref="last", instant=True),
                    prom(f'sum by (error_type) (increase({_CALLS}{{error_type!="", {MODEL}, {_TYPE}}}[$__range]))', ref="count", instant=True),
                ],
                width=24,
            )
            .with_transformation(dashboard_models.DataTransformerConfig(id_val="merge", options={}))
            .with_transformation(
                dashboard_models.DataTransformerConfig(
                    id_val="organize",
                    options={
                        "excludeByName": {"Time": True},
                        "indexByName": {"error_type": 0, "Value #first": 1, "Value #last": 2, "Value #count": 3},
                        "renameByName": {"Value #first": "first seen", "Value #last": "last seen", "Value #count": "failed calls"},
                    },
                )
            )
            .override_by_regexp("first seen|last seen", [dashboard_models.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")])
            .data_links([_link("Show this error type", "/d/llm-errors?${__url_time_range}&${model:queryparam}&var-error_type=${__data.fields.error_type}")])
        )
        .with_row(dashboard.Row("Guardrails"))
        .with_panel(
            timeseries_panel(
                "Guardrail detections/s by guardrail and action",
                "Texts in which a guardrail found something (llmapp_guardrail_detections_total), per guardrail, stage "
                "and action: block (a 400 or a refusal), redact, flag. Blocked requests are not errors above.",
                [prom("sum by (guardrail, stage, action) (rate(llmapp_guardrail_detections_total[$__rate_interval]))",
                      "{{stage}} {{guardrail}} {{action}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Blocked texts/s by stage",
                "Questions (input) and answers (output) the guardrails blocked; LLMGuardrailBlockSurge fires above 0.2/s "
                "(1-minute rate) for 30 s.",
                [prom('sum by (stage) (rate(llmapp_guardrail_detections_total{action="block"}[1m]))', "{{stage}}")],
                unit="reqps",
            )
        )
        .with_row(dashboard.Row("Logs and traces"))
        .with_panel(
            logs_panel(
                "Error log lines",
                "ERROR lines (one per request that failed its caller: error type, model, route, request id, trace id) "
                "and WARNING lines (retried attempts, fallbacks, failed tools) of the selected error type, and of "
                "one trace when the trace id variable is set. Expand a line and follow trace_id to the trace.",
                ERROR_LOGS,
            )
        )
        .with_panel(
            traces_panel(
                "Failed traces",
                "Recent traces with a span in error status of the selected error type (TraceQL). Click a trace id to "
                "open it (its spans carry the exception events with stack traces); click another cell to see that "
                "trace's error lines above.",
                FAILED_TRACES,
            ).data_links([_link("Error lines of this trace", _BY_TRACE)])
        )
    )
