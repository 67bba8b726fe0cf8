"""Live progress of a run: app error %, p95 and cost rate read back from Prometheus, alert state changes."""

from __future__ import annotations

import asyncio
import time

from demo_app.loadgen.display import Display, Snapshot
from demo_app.loadgen.driver import Stats
from demo_app.loadgen.observe import StackClient
from demo_app.loadgen.watch import AlertWatch

__all__ = ["PROGRESS_QUERIES", "Progress", "read_progress"]

# What the progress display reads back from Prometheus (raw contract metrics, so it works
# whatever recording rules exist). Windows are 4x+ the 5 s demo scrape interval.
_APP_ROUTES = 'http_route=~"/v1/.+"'
PROGRESS_QUERIES = {
    "error_pct": (
        # `or vector(0)`: before the first 5xx there is no error series at all, and 0% is the truth.
        f'100 * (sum(rate(http_server_request_duration_seconds_count{{{_APP_ROUTES},http_response_status_code=~"5.."}}[1m])) or vector(0))'
        f" / sum(rate(http_server_request_duration_seconds_count{{{_APP_ROUTES}}}[1m]))"
    ),
    "p95_s": f"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{_APP_ROUTES}}}[1m])))",
    "cost_per_hour": "3600 * sum(rate(llmapp_cost_usd_total[1m]))",
}
REFRESH_S = 5.0  # how often the Prometheus numbers are read again (the display updates every poll)


async def read_progress(client: StackClient) -> dict[str, float | None]:
    """Every PROGRESS_QUERIES value now (None where a query failed or had no data)."""
    values = await asyncio.gather(*(client.scalar(q) for q in PROGRESS_QUERIES.values()), return_exceptions=True)
    return {k: (None if isinstance(v, BaseException) else v) for k, v in zip(PROGRESS_QUERIES, values, strict=True)}


class Progress:
    """Shows each expected alert's state changes as events, and a status snapshot on every `show()`."""

    def __init__(self, client: StackClient, watch: AlertWatch, stats: Stats, budget_s: float, display: Display) -> None:
        self._client, self._watch, self._stats, self._budget_s, self._display = client, watch, stats, budget_s, display
        self._numbers: dict[str, float | None] = {}
        self._read_at = 0.0
        self._states = {str(t.alert): t.state for t in watch.timelines}

    async def show(self) -> None:
        if time.monotonic() - self._read_at >= REFRESH_S:
            self._numbers, self._read_at = await read_progress(self._client), time.monotonic()
        watch = self._watch
        for t in watch.timelines:
            if t.state != self._states[str(t.alert)]:
                self._states[str(t.alert)] = t.state
                self._display.event(f"{watch.elapsed():6.1f}s  {t.alert} -> {t.state}")
        self._display.update(
            Snapshot(
                scenario=watch.scenario.name,
                elapsed_s=watch.elapsed(),
                budget_s=self._budget_s,
                sent=self._stats.sent,
                client_error_pct=self._stats.error_pct,
                error_pct=self._numbers.get("error_pct"),
                p95_s=self._numbers.get("p95_s"),
                cost_per_hour=self._numbers.get("cost_per_hour"),
                alert_states=dict(self._states),
                others=sorted(watch.others_fired),
            )
        )
