"""RAG and quality (uid llm-rag-quality): faithfulness and relevancy, prompt versions side by side, retrieval latency, documents, top score."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from .common import FEATURE, bar_gauge_panel, heatmap_panel, new_dashboard, prom, stat_panel, timeseries_panel

__all__ = ["build"]

UID = "llm-rag-quality"


def _score_distribution(metric: str) -> str:
    # How many answers landed in each score bucket over the selected range.
    return f'sum by (le) (increase(llmapp_quality_score_bucket{{metric="{metric}", {FEATURE}}}[$__range]))'


# Answers per second per feature and prompt version: every /v1/ask answer is scored once per
# metric, so the faithfulness count is the denominator of "per answered request".
_ANSWERS = f'sum by (feature, prompt_version) (rate(llmapp_quality_score_count{{metric="faithfulness", {FEATURE}}}[$__rate_interval]))'


def _per_answer(numerator: str, by: str = "feature, prompt_version") -> str:
    """`numerator` (a rate of the app's cost or token counter, agent turns excluded) per answered request."""
    return f'sum by ({by}) (rate({numerator}{{{FEATURE}, prompt_version!=""}}[$__rate_interval])) / on (feature, prompt_version) group_left {_ANSWERS}'


def _versions_row(board: dashboard.Dashboard) -> dashboard.Dashboard:
    """Prompt versions side by side: quality, cost and tokens per answered request of each live (or recently live) version."""
    return (
        board.with_row(dashboard.Row("Prompt versions"))
        .with_panel(
            timeseries_panel(
                "Faithfulness by prompt version",
                "Mean faithfulness per feature and prompt version (2m window, the LLMQualityDrop input; threshold 0.5). "
                "After a rollout (PUT /admin/prompts/{name}) the new version's line starts beside the old one's.",
                [prom(f'metric_feature_prompt_version:llmapp_quality_score:mean2m{{metric="faithfulness", {FEATURE}}}', "{{feature}} {{prompt_version}}")],
                unit="percentunit",
                max_value=1,
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cost per answered request by prompt version",
                "USD per answered /v1/ask request per feature and prompt version: the app's own llmapp_cost_usd_total "
                "(every LLM call, retries included) over the scored answers.",
                [prom(_per_answer("llmapp_cost_usd_total"), "{{feature}} {{prompt_version}}")],
                unit="currencyUSD",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Tokens per answered request by prompt version",
                "Input and output tokens per answered /v1/ask request per feature and prompt version (llmapp_tokens_total "
                "over the scored answers): a version that drops or adds context shows here first.",
                [
                    prom(
                        _per_answer("llmapp_tokens_total", "feature, prompt_version, gen_ai_token_type"),
                        "{{feature}} {{prompt_version}} {{gen_ai_token_type}}",
                    )
                ],
                width=8,
            )
        )
    )


def build() -> dashboard.Dashboard:
    board = (
        new_dashboard(
            UID,
            "RAG and quality",
            "Retrieval (BM25 over the bundled corpus) and answer quality. Quality scores are the demo's heuristics "
            "(0..1): faithfulness = how much of the answer the retrieved context supports, relevancy = overlap "
            "with the question.",
            variables=("feature",),
        )
        .with_row(dashboard.Row("Answer quality"))
        .with_panel(
            stat_panel(
                "Faithfulness (mean)",
                "Mean faithfulness of answers over the last 2 minutes, selected features (recording rule).",
                [prom(f'avg(metric_feature:llmapp_quality_score:mean2m{{metric="faithfulness", {FEATURE}}})')],
                unit="percentunit",
                decimals=2,
                width=6,
                thresholds=[(None, "red"), (0.5, "orange"), (0.7, "green")],
            )
        )
        .with_panel(
            stat_panel(
                "Relevancy (mean)",
                "Mean relevancy of answers over the last 2 minutes, selected features (recording rule).",
                [prom(f'avg(metric_feature:llmapp_quality_score:mean2m{{metric="relevancy", {FEATURE}}})')],
                unit="percentunit",
                decimals=2,
                width=6,
                thresholds=[(None, "red"), (0.5, "orange"), (0.7, "green")],
            )
        )
        .with_panel(
            stat_panel(
                "Low-faithfulness answers",
                "Share of answers with faithfulness at or below 0.5 over the selected range.",
                [
                    prom(
                        f'sum(increase(llmapp_quality_score_bucket{{metric="faithfulness", le="0.5", {FEATURE}}}[$__range]))'
                        f' / sum(increase(llmapp_quality_score_count{{metric="faithfulness", {FEATURE}}}[$__range]))'
                    )
                ],
                unit="percentunit",
                decimals=1,
                width=6,
                thresholds=[(None, "green"), (0.1, "orange"), (0.25, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Scored answers/s",
                "Answers scored per second (quality is computed for every /v1/ask answer).",
                [prom(f'sum(metric_feature:llmapp_quality_score_count:rate2m{{metric="faithfulness", {FEATURE}}})')],
                unit="reqps",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            timeseries_panel(
                "Quality trend by feature",
                "Mean faithfulness and relevancy per feature (2m window). A drop that coincides with low retrieval "
                "scores points at retrieval, not the model.",
                [prom(f"metric_feature:llmapp_quality_score:mean2m{{{FEATURE}}}", "{{metric}} / {{feature}}")],
                unit="percentunit",
                max_value=1,
                width=24,
            )
        )
        .with_panel(
            bar_gauge_panel(
                "Faithfulness distribution",
                "Answers per faithfulness bucket over the selected range (upper bucket bound shown).",
                [prom(_score_distribution("faithfulness"), heatmap_buckets=True, instant=True)],
            )
        )
        .with_panel(
            bar_gauge_panel(
                "Relevancy distribution",
                "Answers per relevancy bucket over the selected range (upper bucket bound shown).",
                [prom(_score_distribution("relevancy"), heatmap_buckets=True, instant=True)],
            )
        )
    )
    return (
        _versions_row(board)
        # Retrieval metrics carry no feature label (one index serves every feature), so the
        # $feature variable does not filter this row.
        .with_row(dashboard.Row("Retrieval"))
        .with_panel(
            timeseries_panel(
                "Retrieval latency p50 / p95",
                "Time to retrieve documents for one question (BM25), all features. p95 from the recording rule, "
                "p50 from the raw histogram.",
                [
                    prom(
                        "histogram_quantile(0.50, sum by (le) (rate(llmapp_rag_retrieval_duration_seconds_bucket[$__rate_interval])))",
                        "p50",
                        ref="A",
                    ),
                    prom(":llmapp_rag_retrieval_duration_seconds:p95_1m", "p95", ref="B"),
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "Documents returned (mean)",
                "Average number of documents retrieval returned per question. Zero means the question matched nothing.",
                [
                    prom(
                        "sum(rate(llmapp_rag_documents_returned_sum[$__rate_interval]))"
                        " / sum(rate(llmapp_rag_documents_returned_count[$__rate_interval]))",
                        "mean",
                    )
                ],
            )
        )
        .with_panel(
            heatmap_panel(
                "Documents returned per question",
                "Distribution of the number of retrieved documents over time (histogram buckets).",
                [
                    prom(
                        "sum by (le) (increase(llmapp_rag_documents_returned_bucket[$__rate_interval]))",
                        heatmap_buckets=True,
                    )
                ],
            )
        )
        .with_panel(
            heatmap_panel(
                "Top BM25 score",
                "Distribution of the best document's BM25 score per question; a shift to low scores means questions "
                "the corpus cannot answer well.",
                [
                    prom(
                        "sum by (le) (increase(llmapp_rag_top_score_bucket[$__rate_interval]))",
                        heatmap_buckets=True,
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Top BM25 score (mean)",
                "Average score of the best retrieved document per question.",
                [
                    prom(
                        "sum(rate(llmapp_rag_top_score_sum[$__rate_interval]))"
                        " / sum(rate(llmapp_rag_top_score_count[$__rate_interval]))",
                        "mean",
                    )
                ],
                width=24,
            )
        )
    )
