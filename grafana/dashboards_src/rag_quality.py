"""RAG and quality (uid llm-rag-quality): retrieval latency, documents, top score, faithfulness and relevancy."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from .common import FEATURE, bar_gauge_panel, heatmap_panel, new_dashboard, prom, stat_panel, timeseries_panel

__all__ = ["build"]

UID = "llm-rag-quality"


def _score_distribution(metric: str) -> str:
    # How many answers landed in each score bucket over the selected range.
    return f'sum by (le) (increase(llmapp_quality_score_bucket{{metric="{metric}", {FEATURE}}}[$__range]))'


def build() -> dashboard.Dashboard:
    return (
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
