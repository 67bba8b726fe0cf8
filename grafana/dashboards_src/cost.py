"""Cost and tokens (uid llm-cost): spend by model, feature and tier, per request, projected, and token blow-ups.

Two sources of spend, and each panel says which it shows:
- computed in Prometheus (prometheus/rules/models.yml): tokens of the semconv token-usage
  histogram x the model catalogue's prices, for any app - spend in range, per hour, projected,
  per request, by model, by token type, per call;
- the app's own llmapp_cost_usd_total, which alone carries `feature` and `user_tier` - spend by
  feature and by tier, and the comparison line.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from .common import (
    COST_BY_MODEL,
    COST_BY_TYPE,
    COST_TOTAL,
    FEATURE,
    LLM_ROUTES,
    MODEL,
    TIER,
    UNPRICED_TOKENS,
    new_dashboard,
    or_zero,
    prom,
    stat_panel,
    timeseries_panel,
    token_cost_usd,
)

__all__ = ["build"]

UID = "llm-cost"

_COMPUTED = "Computed in Prometheus from the token-usage histogram and the model catalogue's prices (any app)."
_APP_REPORTED = (
    "The app's own llmapp_cost_usd_total: the token metric has no feature or tier, so this panel needs an app"
    " that reports its cost."
)


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "Cost and tokens",
            "Where the LLM money goes: spend by model, feature and customer tier, per request, projected per day, "
            "and the token usage that drives it. Spend is computed from token usage and the model catalogue's prices "
            "(demo_app/data/models/, illustrative for the simulator); by feature and tier it is the app's own cost counter.",
            variables=("model", "feature", "tier"),
        )
        .with_row(dashboard.Row("Spend"))
        .with_panel(
            stat_panel(
                "Spend in range",
                f"Estimated USD spent over the selected time range, for the selected models. {_COMPUTED}",
                [prom(f"sum({token_cost_usd('increase', '$__range')})")],
                unit="currencyUSD",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Spend per hour",
                f"Current spend rate in USD per hour for the selected models (recording rule). {_COMPUTED}",
                [prom(f"sum({COST_BY_MODEL}{{{MODEL}}})")],
                unit="currencyUSD",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Projected daily spend",
                "What a full day would cost at the average rate of the last hour: mean USD/hour over 1h times 24 (all "
                f"models). {_COMPUTED}",
                [prom(f"avg_over_time({COST_TOTAL}[1h]) * 24")],
                unit="currencyUSD",
                decimals=2,
                width=6,
                thresholds=[(None, "green"), (50, "orange"), (100, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Cost per request",
                f"Average USD per user request (/v1/ask and /v1/agent): spend rate divided by request rate. {_COMPUTED}",
                [
                    prom(
                        f"sum({token_cost_usd('rate', '$__rate_interval')})"
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
                f"USD per hour by requested model (recording rule). {_COMPUTED} sim-large is the expensive one.",
                [prom(f"{COST_BY_MODEL}{{{MODEL}}}", "{{gen_ai_request_model}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by feature",
                f"USD per hour by product feature (recording rule). {_APP_REPORTED}",
                [prom(f"feature:llmapp_cost_usd_per_hour:rate1m{{{FEATURE}}}", "{{feature}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by tier",
                f"USD per hour by customer tier (recording rule). {_APP_REPORTED}",
                [prom(f"user_tier:llmapp_cost_usd_per_hour:rate1m{{{TIER}}}", "{{user_tier}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by token type",
                f"USD per hour on input (prompt) and output (completion) tokens. {_COMPUTED} Cached prompt tokens count "
                "as input and are priced as input (the token metric does not tell them apart).",
                [prom(f"sum by (gen_ai_token_type) ({COST_BY_TYPE}{{{MODEL}}})", "{{gen_ai_token_type}}")],
                unit="currencyUSD",
                width=8,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Computed vs app-reported spend",
                "Total USD per hour two ways: computed (tokens x catalogue prices, recording rule) and the app's own "
                "llmapp_cost_usd_total. They agree unless the provider serves prompt tokens from its cache (the app "
                "prices them lower), a model has no price (the app counts it at 0, the computed cost leaves it out) "
                "or an app does not report cost at all (no second line).",
                [
                    prom(COST_TOTAL, "computed", ref="A"),
                    prom(":llmapp_cost_usd_per_hour:rate1m", "app-reported", ref="B"),
                ],
                unit="currencyUSD",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Unpriced tokens/s by model",
                "Tokens per second of models the model catalogue has no price for: their spend is missing from every "
                "computed cost panel. Add a price_per_million to the catalogue and run `make rules`. 0 (none) when "
                "every model is priced.",
                [
                    prom(
                        or_zero(f"sum by (gen_ai_request_model) ({UNPRICED_TOKENS}{{{MODEL}}})", "gen_ai_request_model"),
                        "{{gen_ai_request_model}}",
                    )
                ],
                width=8,
            )
        )
        .with_row(dashboard.Row("Per request"))
        .with_panel(
            timeseries_panel(
                "Cost per LLM call by model",
                f"Average USD per LLM call: spend rate divided by call rate, by requested model (recording rules). {_COMPUTED}",
                [
                    prom(
                        f"{COST_BY_MODEL}{{{MODEL}}} / 3600"
                        " / on (gen_ai_request_model)"
                        f" gen_ai_request_model:gen_ai_client_operation_duration_seconds_count:rate1m{{{MODEL}}}",
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
