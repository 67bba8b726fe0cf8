"""LLM overview (uid llm-overview): the home dashboard - traffic, errors, latency, tokens, cost, alerts, error logs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as dashboard_models

from .common import (
    COST_BY_MODEL,
    FEATURE,
    LLM_ROUTES,
    MODEL,
    TIER,
    alerts_table_panel,
    logs_panel,
    new_dashboard,
    prom,
    stat_panel,
    timeseries_panel,
)

__all__ = ["build"]

UID = "llm-overview"
# Where a browser finds the error tracker in the compose stack (127.0.0.1:${BUGSINK_PORT}).
TRACKER_URL = "http://localhost:8083/"


def _latency_quantile(quantile: str) -> str:
    # Raw histogram (not the p95 recording rule) so Prometheus returns the trace_id exemplars.
    return (
        f"histogram_quantile({quantile}, sum by (gen_ai_request_model, le) ("
        f"rate(gen_ai_client_operation_duration_seconds_bucket{{{MODEL}}}[$__rate_interval])))"
    )


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "LLM overview",
            "Health of the LLM app at a glance: traffic, errors, latency, tokens, spend, firing alerts and error logs.",
            variables=("model", "feature", "tier"),
        )
        .with_row(dashboard.Row("Right now"))
        .with_panel(
            stat_panel(
                "Requests/s",
                "User requests per second to /v1/ask and /v1/agent (http.server.request.duration count).",
                [prom(f'sum(rate(http_server_request_duration_seconds_count{{http_route=~"{LLM_ROUTES}"}}[$__rate_interval]))')],
                unit="reqps",
                decimals=2,
            )
        )
        .with_panel(
            stat_panel(
                "LLM call errors",
                "Share of LLM calls that failed in the last minute, all selected models (error.type set).",
                [
                    prom(
                        f'sum(rate(gen_ai_client_operation_duration_seconds_count{{{MODEL}, error_type!=""}}[1m]))'
                        f" / sum(rate(gen_ai_client_operation_duration_seconds_count{{{MODEL}}}[1m]))"
                    )
                ],
                unit="percentunit",
                decimals=1,
                thresholds=[(None, "green"), (0.02, "orange"), (0.05, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "p95 LLM latency",
                "95th percentile duration of LLM calls across the selected models.",
                [
                    prom(
                        "histogram_quantile(0.95, sum by (le) ("
                        f"rate(gen_ai_client_operation_duration_seconds_bucket{{{MODEL}}}[$__rate_interval])))"
                    )
                ],
                unit="s",
                decimals=2,
                thresholds=[(None, "green"), (5, "orange"), (10, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Spend per hour",
                "Estimated LLM spend in USD per hour at the current rate, two ways. computed: tokens x the model "
                "catalogue's prices, for the selected models (any app; the token metric has no feature or tier). "
                "app-reported: the app's own llmapp_cost_usd_total, for the selected model, feature and tier.",
                [
                    prom(f"sum({COST_BY_MODEL}{{{MODEL}}})", "computed", ref="A"),
                    prom(f"sum(rate(llmapp_cost_usd_total{{{MODEL}, {FEATURE}, {TIER}}}[$__rate_interval])) * 3600", "app-reported", ref="B"),
                ],
                unit="currencyUSD",
                decimals=2,
            ).links(
                [
                    dashboard.DashboardLink("Budgets and spend: budget used, projected month, burn rate, caching")
                    .type(dashboard_models.DashboardLinkType.LINK)
                    .url("/d/llm-budgets?${__url_time_range}")
                ]
            )
        )
        .with_panel(
            stat_panel(
                "In flight",
                "Requests the app is serving right now on its LLM endpoints.",
                [prom("sum(llmapp_requests_in_flight)")],
                decimals=0,
            )
        )
        .with_panel(
            stat_panel(
                "Firing alerts",
                "Alerts firing in Prometheus now (the always-firing Watchdog excluded). Details in the table below.",
                [prom('count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)')],
                decimals=0,
                thresholds=[(None, "green"), (1, "red")],
            )
        )
        .with_row(dashboard.Row("Traffic and errors"))
        .with_panel(
            timeseries_panel(
                "LLM calls/s by model",
                "LLM API calls per second by requested model; each retry and each fallback is its own call.",
                [prom(f"gen_ai_request_model:gen_ai_client_operation_duration_seconds_count:rate1m{{{MODEL}}}", "{{gen_ai_request_model}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "LLM call error %",
                "Share of LLM calls that failed, by requested model (recording rule, 1m window).",
                [prom(f"gen_ai_request_model:gen_ai_client_operation_errors:ratio_rate1m{{{MODEL}}}", "{{gen_ai_request_model}}")],
                unit="percentunit",
                max_value=1,
            )
        )
        .with_panel(
            timeseries_panel(
                "HTTP 5xx % by route",
                "Share of user requests answered with a 5xx status, by route (recording rule, 1m window).",
                [prom("http_route:http_server_request_errors:ratio_rate1m", "{{http_route}}")],
                unit="percentunit",
                max_value=1,
            )
        )
        .with_panel(
            timeseries_panel(
                "Rate-limit events/s",
                "Requests refused for rate limiting: source=app is our token bucket per tier, source=provider is an HTTP 429 from the LLM provider.",
                [prom(f"source_user_tier:llmapp_rate_limit_events:rate1m{{{TIER}}}", "{{source}} / {{user_tier}}")],
                unit="reqps",
            )
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            timeseries_panel(
                "LLM latency p50 / p95 / p99 by model",
                "Duration of LLM calls by requested model. Exemplars (dots) link to an example trace in Tempo.",
                [
                    prom(_latency_quantile("0.50"), "p50 {{gen_ai_request_model}}", ref="A", exemplar=True),
                    prom(_latency_quantile("0.95"), "p95 {{gen_ai_request_model}}", ref="B", exemplar=True),
                    prom(_latency_quantile("0.99"), "p99 {{gen_ai_request_model}}", ref="C", exemplar=True),
                ],
                unit="s",
                width=24,
                height=9,
            )
        )
        .with_row(dashboard.Row("Tokens and spend"))
        .with_panel(
            timeseries_panel(
                "Tokens/s by type",
                "Input and output tokens per second reported by the provider (gen_ai.client.token.usage).",
                [
                    prom(
                        "sum by (gen_ai_token_type) ("
                        f"gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_sum:rate1m{{{MODEL}}})",
                        "{{gen_ai_token_type}}",
                    )
                ],
                unit="short",
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by model",
                "Estimated USD per hour by requested model, computed from token usage and the model catalogue's prices "
                "(recording rule; illustrative prices for the simulator).",
                [prom(f"{COST_BY_MODEL}{{{MODEL}}}", "{{gen_ai_request_model}}")],
                unit="currencyUSD",
                stacked=True,
            )
        )
        .with_row(dashboard.Row("Alerts and logs"))
        .with_panel(
            alerts_table_panel(
                "Firing alerts",
                "Every firing alert with its severity and model. Runbook links are in each alert's annotations (Alertmanager UI).",
            )
        )
        .with_panel(
            timeseries_panel(
                "In-flight requests by route",
                "Concurrent requests per LLM endpoint; a rising line with flat throughput means requests are queueing.",
                [prom("sum by (http_route) (llmapp_requests_in_flight)", "{{http_route}}")],
            )
        )
        .with_panel(
            logs_panel(
                "Recent error logs",
                "Error-level log records of the app and the simulator (OTLP logs in Loki). Expand a line and follow trace_id to the trace.",
                '{service_name=~"demo-app|llm-sim"} | severity_text=~"(?i)error|critical|fatal"',
            ).links(
                [
                    dashboard.DashboardLink("LLM errors: ratios, error types, logs and failed traces")
                    .type(dashboard_models.DashboardLinkType.LINK)
                    .url("/d/llm-errors?${__url_time_range}&${model:queryparam}&${feature:queryparam}"),
                    # The tracker is another site (Bugsink on BUGSINK_PORT of .env, default 8083):
                    # an absolute URL, opened in a new tab.
                    dashboard.DashboardLink("Error tracker (Bugsink): issues by error type, each event linked to its trace")
                    .type(dashboard_models.DashboardLinkType.LINK)
                    .url(TRACKER_URL)
                    .target_blank(True),
                ]
            )
        )
    )
