"""Agents and tools (uid llm-agents): steps per run, tool calls, per-agent latency, the MCP tool server, slow traces, service graph."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from .common import (
    TRACE_METRICS_STEP,
    heatmap_panel,
    new_dashboard,
    prom,
    service_graph_panel,
    stat_panel,
    timeseries_panel,
    traces_panel,
)

__all__ = ["build"]

UID = "llm-agents"


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "Agents and tools",
            "The /v1/agent supervisor and its workers: how many steps a run takes, how it ends, which tools fail, "
            "which agent is slow, with links to the slowest traces and the service graph Tempo derives from spans.",
        )
        .with_row(dashboard.Row("Runs"))
        .with_panel(
            stat_panel(
                "Agent runs/s",
                "Completed agent runs per second (every run records its step count once).",
                [prom("sum(rate(llmapp_agent_steps_count[$__rate_interval]))")],
                unit="reqps",
                decimals=2,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Runs hitting the step limit",
                "Share of runs stopped by the step limit instead of finishing: a sign of looping agents.",
                [
                    prom(
                        'sum(rate(llmapp_agent_steps_count{outcome="step_limit"}[$__rate_interval]))'
                        " / sum(rate(llmapp_agent_steps_count[$__rate_interval]))"
                    )
                ],
                unit="percentunit",
                decimals=1,
                width=6,
                thresholds=[(None, "green"), (0.05, "orange"), (0.2, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Mean steps per run",
                "Average number of LLM turns per agent run.",
                [prom("sum(rate(llmapp_agent_steps_sum[$__rate_interval])) / sum(rate(llmapp_agent_steps_count[$__rate_interval]))")],
                decimals=1,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Tool call errors",
                "Share of tool calls that ended in an error (recording rule).",
                [
                    prom(
                        'sum(gen_ai_tool_name_outcome:llmapp_agent_tool_calls:rate1m{outcome="error"})'
                        " / sum(gen_ai_tool_name_outcome:llmapp_agent_tool_calls:rate1m)"
                    )
                ],
                unit="percentunit",
                decimals=1,
                width=6,
                thresholds=[(None, "green"), (0.05, "orange"), (0.2, "red")],
            )
        )
        .with_panel(
            timeseries_panel(
                "Agent runs/s by outcome",
                "Runs per second by how they ended: ok, error, or step_limit.",
                [prom("sum by (outcome) (rate(llmapp_agent_steps_count[$__rate_interval]))", "{{outcome}}")],
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            heatmap_panel(
                "Steps per run",
                "Distribution of steps (LLM turns) per agent run over time.",
                [prom("sum by (le) (increase(llmapp_agent_steps_bucket[$__rate_interval]))", heatmap_buckets=True)],
            )
        )
        .with_row(dashboard.Row("Tools and latency"))
        .with_panel(
            timeseries_panel(
                "Tool calls/s by tool and outcome",
                "Tool calls made by agents per second (recording rule).",
                [prom("gen_ai_tool_name_outcome:llmapp_agent_tool_calls:rate1m", "{{gen_ai_tool_name}} {{outcome}}")],
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Agent latency p95 by agent",
                "95th percentile duration of one invocation per agent (supervisor includes its workers). Raw "
                "histogram so the exemplars link to traces.",
                [
                    prom(
                        "histogram_quantile(0.95, sum by (gen_ai_agent_name, le) ("
                        "rate(llmapp_agent_duration_seconds_bucket[$__rate_interval])))",
                        "{{gen_ai_agent_name}}",
                        exemplar=True,
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "Span latency p95 (from traces)",
                "95th percentile of agent and tool spans, computed by Tempo's metrics generator from the spans "
                "themselves (traces_spanmetrics_*), independent of the app's own metrics.",
                [
                    prom(
                        "histogram_quantile(0.95, sum by (span_name, le) ("
                        'rate(traces_spanmetrics_latency_bucket{span_name=~"invoke_agent.*|execute_tool.*"}[$__rate_interval])))',
                        "{{span_name}}",
                        exemplar=True,
                        min_step=TRACE_METRICS_STEP,
                    )
                ],
                unit="s",
                width=24,
            )
        )
        .with_row(dashboard.Row("MCP tool server"))
        .with_panel(
            timeseries_panel(
                "MCP tools/call latency p95, client and server",
                "95th percentile of one tools/call as the agents' MCP client sees it (mcp.client.operation.duration) "
                "and as the tool server handles it (mcp.server.operation.duration). The gap is transport and "
                "protocol; a slow tool raises both. Exemplars open the call's trace.",
                [
                    prom(
                        "histogram_quantile(0.95, sum by (gen_ai_tool_name, le) ("
                        "rate(mcp_client_operation_duration_seconds_bucket[$__rate_interval])))",
                        "{{gen_ai_tool_name}} client",
                        exemplar=True,
                    ),
                    prom(
                        "histogram_quantile(0.95, sum by (gen_ai_tool_name, le) ("
                        "rate(mcp_server_operation_duration_seconds_bucket[$__rate_interval])))",
                        "{{gen_ai_tool_name}} server",
                        exemplar=True,
                    ),
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "MCP tools/call per second by tool and error type",
                "Calls the tool server handled, by tool; error_type tool_error is a tool that answered isError=true "
                "(the model reads the error), _OTHER one that crashed. Calls that never reached the server count "
                "only on the client side, as error_type _OTHER of mcp_client_operation_duration_seconds.",
                [
                    prom(
                        "sum by (gen_ai_tool_name, error_type) (rate(mcp_server_operation_duration_seconds_count[$__rate_interval]))",
                        "{{gen_ai_tool_name}} {{error_type}}",
                    ),
                ],
                unit="reqps",
                stacked=True,
            )
        )
        .with_row(dashboard.Row("Traces"))
        .with_panel(
            traces_panel(
                "Slowest agent runs",
                "Recent supervisor runs that took longer than 2 s (TraceQL on the invoke_agent spans); sort by "
                "duration and click a trace id to see every step, tool call and LLM call.",
                '{span.gen_ai.operation.name = "invoke_agent" && span.gen_ai.agent.name = "supervisor" && duration > 2s}'
                " | select(span.app.agent.steps, span.app.agent.outcome)",
            )
        )
        .with_panel(
            service_graph_panel(
                "Service graph",
                "Who calls whom, with request rate and error share per edge, from Tempo's service graph metrics "
                "(traces_service_graph_request_total in Prometheus).",
            )
        )
        .with_panel(
            timeseries_panel(
                "Service graph requests/s",
                "Requests per second between services as Tempo sees them in traces (client -> server).",
                [
                    prom(
                        "sum by (client, server) (rate(traces_service_graph_request_total[$__rate_interval]))",
                        "{{client}} -> {{server}}",
                        min_step=TRACE_METRICS_STEP,
                    )
                ],
                unit="reqps",
                width=24,
            )
        )
    )
