"""Stack health (uid llm-stack-health): is the observability stack itself working?

Targets up, telemetry arriving in Loki and Tempo (their own metrics), telemetry the app
could not export, rule evaluation, and alert notifications from Prometheus through
Alertmanager to the receiver. When a dashboard is empty, start here.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as dashboard_models

from .common import TRACE_METRICS_STEP, new_dashboard, or_zero, prom, stat_panel, table_panel, timeseries_panel

__all__ = ["build"]

UID = "llm-stack-health"


def _up_table() -> dashboard.Panel:
    panel = table_panel(
        "Scrape targets",
        "Every Prometheus scrape job and whether its last scrape succeeded (up = 1). A 0 here is what fires TargetDown.",
        [prom("min by (job) (up)", instant=True)],
        width=8,
        height=9,
    )
    return panel.mappings(
        [
            dashboard_models.ValueMap(
                options={
                    "0": dashboard_models.ValueMappingResult(text="DOWN", color="red"),
                    "1": dashboard_models.ValueMappingResult(text="UP", color="green"),
                }
            )
        ]
    )


def build() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "Stack health",
            "The observability stack watching itself: scrape targets, ingestion into Loki and Tempo, the app's "
            "exporter drops, Prometheus rule evaluation and the alert notification path.",
        )
        .with_row(dashboard.Row("Targets"))
        .with_panel(_up_table())
        .with_panel(
            stat_panel(
                "Targets down",
                "Scrape targets whose last scrape failed.",
                [prom("count(up == 0) or vector(0)")],
                decimals=0,
                width=4,
                thresholds=[(None, "green"), (1, "red")],
            )
        )
        .with_panel(
            stat_panel(
                "Watchdog firing",
                "The Watchdog alert always fires; 1 proves the rule evaluation -> Alertmanager path is alive. "
                "0 means alerts cannot reach anyone.",
                [prom('count(ALERTS{alertname="Watchdog", alertstate="firing"}) or vector(0)')],
                decimals=0,
                width=4,
                thresholds=[(None, "red"), (1, "green")],
            )
        )
        .with_panel(
            stat_panel(
                "Active series",
                "Series in Prometheus' head block (memory); a jump usually means a label with too many values.",
                [prom("prometheus_tsdb_head_series")],
                decimals=0,
                width=4,
            )
        )
        .with_panel(
            timeseries_panel(
                "Scrape duration by job",
                "How long each scrape takes; close to the 4 s scrape timeout means the target is overloaded.",
                [prom("max by (job) (scrape_duration_seconds)", "{{job}}")],
                unit="s",
                width=12,
                height=5,
            )
        )
        .with_row(dashboard.Row("Telemetry ingestion"))
        .with_panel(
            timeseries_panel(
                "Loki: log lines received/s",
                "Log records Loki's distributor accepted per second (OTLP from the app and the simulator), and "
                "records it discarded by reason (\"discarded: none\" at 0 until Loki discards anything).",
                [
                    prom("sum(rate(loki_distributor_lines_received_total[$__rate_interval]))", "received", ref="A"),
                    prom(or_zero("sum by (reason) (rate(loki_discarded_samples_total[$__rate_interval]))", "reason"), "discarded: {{reason}}", ref="B"),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Tempo: spans received/s",
                "Spans Tempo's distributor accepted per second, and spans it discarded by reason (\"discarded: none\" at 0 until "
                "Tempo discards anything).",
                [
                    prom("sum(rate(tempo_distributor_spans_received_total[$__rate_interval]))", "received", ref="A"),
                    prom(or_zero("sum by (reason) (rate(tempo_discarded_spans_total[$__rate_interval]))", "reason"), "discarded: {{reason}}", ref="B"),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "App: telemetry dropped/s",
                "Spans and log records the app's OTLP exporters could not deliver (backend down or queue full). "
                "Non-zero while Loki or Tempo is down; \"none\" at 0 while nothing was dropped.",
                [prom(or_zero("sum by (signal) (rate(llmapp_telemetry_dropped_total[$__rate_interval]))", "signal"), "{{signal}}")],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Tempo metrics generator: span calls/s by service",
                "Spans per second counted by Tempo's span-metrics processor (remote-written to Prometheus). Empty "
                "means the generator or the remote-write receiver is not working.",
                [prom("sum by (service) (rate(traces_spanmetrics_calls_total[$__rate_interval]))", "{{service}}", min_step=TRACE_METRICS_STEP)],
                unit="short",
                width=24,
                height=6,
            )
        )
        .with_row(dashboard.Row("Rules and notifications"))
        .with_panel(
            timeseries_panel(
                "Rule evaluations/s by group",
                "Recording and alerting rule evaluations per second, and failed evaluations (should stay 0).",
                [
                    prom("sum by (rule_group) (rate(prometheus_rule_evaluations_total[$__rate_interval]))", "{{rule_group}}", ref="A"),
                    prom(
                        "sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total[$__rate_interval]))",
                        "failed: {{rule_group}}",
                        ref="B",
                    ),
                ],
                unit="short",
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Rule group duration and missed iterations",
                "Time the last evaluation of each group took (must stay below the 5 s interval), and iterations "
                "skipped because the previous one was still running.",
                [
                    prom("max by (rule_group) (prometheus_rule_group_last_duration_seconds)", "{{rule_group}}", ref="A"),
                    prom(
                        "sum by (rule_group) (increase(prometheus_rule_group_iterations_missed_total[$__rate_interval]))",
                        "missed: {{rule_group}}",
                        ref="B",
                    ),
                ],
                unit="s",
                width=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Prometheus -> Alertmanager",
                "Alert notifications Prometheus sent to Alertmanager per second, and the ones that errored or were dropped.",
                [
                    prom("sum(rate(prometheus_notifications_sent_total[$__rate_interval]))", "sent", ref="A"),
                    prom("sum(rate(prometheus_notifications_errors_total[$__rate_interval]))", "errors", ref="B"),
                    prom("sum(rate(prometheus_notifications_dropped_total[$__rate_interval]))", "dropped", ref="C"),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Alertmanager notifications by integration",
                "Notifications Alertmanager sent per second (webhook = the alert receiver), and failed ones by reason.",
                [
                    prom("sum by (integration) (rate(alertmanager_notifications_total[$__rate_interval]))", "sent: {{integration}}", ref="A"),
                    prom(
                        "sum by (integration, reason) (rate(alertmanager_notifications_failed_total[$__rate_interval]))",
                        "failed: {{integration}} {{reason}}",
                        ref="B",
                    ),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Alert receiver: notifications by status",
                "Webhook posts the alert receiver accepted per second, by alert and status (firing/resolved/invalid).",
                [
                    prom(
                        "sum by (alertname, status) (rate(alert_sink_notifications_total[$__rate_interval]))",
                        "{{alertname}} {{status}}",
                    )
                ],
                unit="short",
                width=8,
            )
        )
    )
