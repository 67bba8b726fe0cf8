"""LLM conversations (uid llm-conversations): recent conversations, then one conversation's turns in order.

A conversation is the /v1/ask requests that sent the same `conversation_id`. No metric has the
id (one series per conversation would be unbounded), so everything here comes from traces
(TraceQL on `gen_ai.conversation.id`) and logs (LogQL on the `gen_ai_conversation_id`
structured metadata: Loki stores OTLP log attributes as structured metadata, dots turned into
underscores). Pick a conversation by clicking its id in the recent-conversations table (or
type it into the variable); its turns' traces, tokens, cost, quality and log lines follow,
oldest first.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard, loki, stat
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_models

from .common import LOKI, logs_panel, new_dashboard, stat_panel, traces_panel

__all__ = ["build", "RECENT", "TURNS", "LLM_CALLS", "EVALUATIONS", "CONVERSATION_LOGS", "EVALUATION_LOGS", "TOTALS"]

UID = "llm-conversations"

_ID = 'span.gen_ai.conversation.id = "$conversation_id"'
# Every request that named a conversation: one row per server span with its id and turn.
RECENT = (
    '{ span.gen_ai.conversation.id != "" && kind = server }'
    " | select(span.gen_ai.conversation.id, span.app.conversation.turn, span.app.feature, span.app.cost_usd)"
)
# The selected conversation: its turns (one trace each), its LLM calls and its quality scores.
TURNS = (
    f"{{ {_ID} && kind = server }}"
    " | select(span.app.conversation.turn, span.app.cost_usd, span.http.response.status_code, span.app.feature)"
)
LLM_CALLS = (
    f'{{ {_ID} && span.gen_ai.operation.name = "chat" }}'
    " | select(span.gen_ai.response.model, span.gen_ai.usage.input_tokens, span.gen_ai.usage.output_tokens,"
    " span.gen_ai.usage.cache_read.input_tokens)"
)
EVALUATIONS = (
    f'{{ {_ID} && name = "evaluate answer" }}'
    " | select(span.gen_ai.evaluation.faithfulness, span.gen_ai.evaluation.relevancy, span.gen_ai.response.id)"
)
_LINES = '{service_name="demo-app"} | gen_ai_conversation_id="$conversation_id"'
CONVERSATION_LOGS = _LINES
EVALUATION_LOGS = f'{_LINES} | gen_ai_evaluation_name=~".+"'
# Totals over the dashboard's range from the app's "llm call" lines (each LLM call's tokens and
# cost; a retried attempt that failed has neither, so only answered calls count).
TOTALS = {
    field: f'sum(sum_over_time({_LINES} | {field}!="" | unwrap {field} [$__range]))'
    for field in ("input_tokens", "output_tokens", "cost_usd")
}
# Clicking a conversation id: this dashboard for that conversation, time range kept.
_PICK = "/d/llm-conversations?${__url_time_range}&var-conversation_id=${__value.raw}"


def _loki_stat(title: str, description: str, expr: str, *, unit: str = "short", decimals: int | None = None) -> stat.Panel:
    query = loki.Dataquery().expr(expr).ref_id("A").query_type("instant").instant(True)
    panel = stat_panel(title, description, [query], unit=unit, width=8, decimals=decimals).datasource(LOKI)
    return panel.graph_mode(common.BigValueGraphMode.NONE)


def _oldest_first(panel):
    # Turns in the order they were asked: Tempo's search lists the newest first.
    return panel.sort_by([common_builders.TableSortByFieldState().display_name("Start time").desc(False)])


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "LLM conversations",
            "Whole conversations rather than single requests: recent conversations (TraceQL on gen_ai.conversation.id), "
            "then the selected conversation's turns in order with their traces, tokens, cost, quality and log lines. "
            "No metric carries a conversation id: everything here is read from traces and logs.",
            variables=("conversation_id",),
        )
        .with_row(dashboard.Row("Recent conversations"))
        .with_panel(
            traces_panel(
                "Recent conversations",
                "The latest /v1/ask requests that named a conversation (one row per turn: conversation id, turn number, "
                "feature, cost). Click a conversation id to show that conversation below.",
                RECENT,
                limit=50,
            ).override_by_regexp(
                ".*conversation.id.*",
                [dashboard_models.DynamicConfigValue(id_val="links", value=[{"title": "Show this conversation", "url": _PICK}])],
            )
        )
        .with_row(dashboard.Row("Conversation $conversation_id"))
        .with_panel(
            _loki_stat(
                "Input tokens",
                "Input tokens of every answered LLM call of the conversation in the time range (its history included: "
                "each turn sends the earlier ones), summed from the app's 'llm call' log lines.",
                TOTALS["input_tokens"],
            )
        )
        .with_panel(
            _loki_stat(
                "Output tokens",
                "Output tokens of every answered LLM call of the conversation in the time range ('llm call' log lines).",
                TOTALS["output_tokens"],
            )
        )
        .with_panel(
            _loki_stat(
                "Cost",
                "Estimated spend of the conversation's LLM calls in the time range (catalogue prices; 'llm call' log lines' "
                "cost_usd, the same numbers as the server spans' app.cost_usd).",
                TOTALS["cost_usd"],
                unit="currencyUSD",
                decimals=4,
            )
        )
        .with_panel(
            _oldest_first(
                traces_panel(
                    "Turns, oldest first",
                    "One trace per turn of the selected conversation, in the order they were asked: turn number, cost, "
                    "status and feature of each request. Click a trace id to open the turn's trace.",
                    TURNS,
                    limit=100,
                )
            )
        )
        .with_panel(
            traces_panel(
                "LLM calls and tokens",
                "Every LLM call (chat span) of the conversation: the model that answered, input, output and cached input "
                "tokens (retries and fallbacks are calls of their own).",
                LLM_CALLS,
                limit=100,
                width=12,
            )
        )
        .with_panel(
            traces_panel(
                "Quality per turn",
                "The heuristic faithfulness and relevancy scores of each turn's answer (the evaluate answer span) and "
                "the response they evaluated.",
                EVALUATIONS,
                limit=100,
                width=12,
            )
        )
        .with_panel(
            logs_panel(
                "Log lines of the conversation, oldest first",
                "Every app log line logged inside the conversation's requests (LLM calls, answers, evaluation results), "
                "oldest first. No question or answer text: ids, numbers and outcomes only. Expand a line and follow "
                "trace_id to its trace.",
                CONVERSATION_LOGS,
            ).sort_order(common.LogsSortOrder.ASCENDING)
        )
        .with_panel(
            logs_panel(
                "Evaluation results",
                "The gen_ai.evaluation.result events of the conversation as log records: evaluation name, score, "
                "pass/fail label (threshold 0.5) and an explanation made of numbers, oldest first.",
                EVALUATION_LOGS,
                height=8,
            ).sort_order(common.LogsSortOrder.ASCENDING)
        )
    )
