"""Cost and tokens (uid llm-cost): spend by model, feature and tier, per request, projected, and token blow-ups."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from .common import (
    FEATURE,
    LLM_ROUTES,
    MODEL,
    TIER,
    new_dashboard,
    prom,
    stat_panel,
    timeseries_panel,
)

__all__ = ["build"]

UID = "llm-cost"

_COST = f"llmapp_cost_usd_total{{{MODEL}, {FEATURE}, {TIER}}}"


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "Cost and tokens",
            "Where the LLM money goes: spend by model, feature and customer tier, per request, projected per day, "
            "and the token usage that drives it. Prices are the demo's illustrative table (demo_app/data/prices.yaml).",
            variables=("model", "feature", "tier"),
        )
        .with_row(dashboard.Row("Spend"))
        .with_panel(
            stat_panel(
                "Spend in range",
                "Estimated USD spent over the selected time range, for the selected model, feature and tier.",
                [prom(f"sum(increase({_COST}[$__range]))")],
                unit="currencyUSD",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Spend per hour",
                "Current spend rate in USD per hour (all models, features and tiers; recording rule).",
                [prom(":llmapp_cost_usd_per_hour:rate1m")],
                unit="currencyUSD",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Projected daily spend",
                "What a full day would cost at the average rate of the last hour: mean USD/hour over 1h times 24.",
                [prom("avg_over_time(:llmapp_cost_usd_per_hour:rate1m[1h]) * 24")],
                unit="currencyUSD",
                decimals=2,
                width=6,
                thresholds=[(None, "green"), (50, "orange"), (100, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Cost per request",
                "Average USD per user request (/v1/ask and /v1/agent): spend rate divided by request rate.",
                [
                    prom(
                        "sum(rate(llmapp_cost_usd_total[$__rate_interval]))"
                        f' / sum(rate(http_server_request_duration_seconds_count{{http_route=~"{LLM_ROUTES}"}}[$__rate_interval]))'
                    )
                ],
                unit="currencyUSD",
                decimals=4,
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by model",
                "USD per hour by requested model (recording rule). sim-large is the expensive one.",
                [prom(f"gen_ai_request_model:llmapp_cost_usd_per_hour:rate1m{{{MODEL}}}", "{{gen_ai_request_model}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by feature",
                "USD per hour by product feature (recording rule).",
                [prom(f"feature:llmapp_cost_usd_per_hour:rate1m{{{FEATURE}}}", "{{feature}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by tier",
                "USD per hour by customer tier (recording rule).",
                [prom(f"user_tier:llmapp_cost_usd_per_hour:rate1m{{{TIER}}}", "{{user_tier}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_row(dashboard.Row("Per request"))
        .with_panel(
            timeseries_panel(
                "Cost per LLM call by model",
                "Average USD per LLM call: spend rate divided by call rate, by requested model.",
                [
                    prom(
                        f"sum by (gen_ai_request_model) (rate(llmapp_cost_usd_total{{{MODEL}}}[$__rate_interval]))"
                        " / sum by (gen_ai_request_model) ("
                        f"rate(gen_ai_client_operation_duration_seconds_count{{{MODEL}}}[$__rate_interval]))",
                        "{{gen_ai_request_model}}",
                    )
                ],
                unit="currencyUSD",
            )
        )
        .with_panel(
            timeseries_panel(
                "Tokens per LLM call by model and type",
                "Mean input and output tokens per call (token-usage histogram sum / count, recording rule).",
                [
                    prom(
                        f"gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage:mean1m{{{MODEL}}}",
                        "{{gen_ai_request_model}} {{gen_ai_token_type}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Tokens/s by model and type",
                "Tokens per second the provider reported, by model and direction (recording rule).",
                [
                    prom(
                        f"gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage_sum:rate1m{{{MODEL}}}",
                        "{{gen_ai_request_model}} {{gen_ai_token_type}}",
                    )
                ],
                stacked=True,
            )
        )
        .with_row(dashboard.Row("Token blow-ups"))
        .with_panel(
            timeseries_panel(
                "Output tokens vs 30m baseline",
                "Mean output tokens per call divided by its 30-minute average (2 minutes ago). Above 1 means answers "
                "got longer than usual; LLMTokenBlowup fires on a large jump.",
                [
                    prom(
                        "gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage:mean1m"
                        f'{{gen_ai_token_type="output", {MODEL}}}'
                        " / gen_ai_request_model_gen_ai_token_type:gen_ai_client_token_usage:mean1m_avg30m_offset2m"
                        f'{{gen_ai_token_type="output", {MODEL}}}',
                        "{{gen_ai_request_model}}",
                    )
                ],
                unit="x",
            )
        )
        .with_panel(
            timeseries_panel(
                "p99 output tokens per call",
                "Largest answers by model (99th percentile of output tokens). Exemplars link to the trace of a long answer.",
                [
                    prom(
                        "histogram_quantile(0.99, sum by (gen_ai_request_model, le) ("
                        f'rate(gen_ai_client_token_usage_bucket{{gen_ai_token_type="output", {MODEL}}}[$__rate_interval])))',
                        "{{gen_ai_request_model}}",
                        exemplar=True,
                    )
                ],
            )
        )
    )
