"""Live progress of a scenario run: a rich panel on a terminal, plain lines otherwise (CI, pipes)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Protocol, TextIO

__all__ = ["Snapshot", "Display", "PlainDisplay", "RichDisplay", "make_display"]


@dataclass
class Snapshot:
    """What the run looks like right now (all numbers may be None before there is data)."""

    scenario: str
    elapsed_s: float
    budget_s: float
    sent: int
    client_error_pct: float  # failed share as the load generator saw it
    error_pct: float | None  # app 5xx share, read back from Prometheus
    p95_s: float | None  # app request p95, from Prometheus
    cost_per_hour: float | None  # USD/h, from Prometheus
    alert_states: dict[str, str] = field(default_factory=dict)  # expected alert -> inactive|pending|firing|delivered|resolved
    others: list[str] = field(default_factory=list)  # other alerts seen firing


class Display(Protocol):
    def update(self, snap: Snapshot) -> None: ...
    def event(self, message: str) -> None: ...
    def close(self) -> None: ...


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


class PlainDisplay:
    """One line per state change, and a status line every `every_s` seconds."""

    def __init__(self, out: TextIO = sys.stdout, every_s: float = 10.0) -> None:
        self.out, self.every_s = out, every_s
        self._last = 0.0

    def update(self, snap: Snapshot) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        states = " ".join(f"{k}={v}" for k, v in snap.alert_states.items())
        print(
            f"[{snap.elapsed_s:6.1f}s/{snap.budget_s:.0f}s] sent={snap.sent} err={snap.client_error_pct:.1f}% "
            f"prom_err={_fmt(snap.error_pct, '.1f', '%')} p95={_fmt(snap.p95_s, '.2f', 's')} "
            f"cost={_fmt(snap.cost_per_hour, '.3f', '$/h')} {states}",
            file=self.out,
            flush=True,
        )

    def event(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def close(self) -> None:
        pass


_STATE_STYLE = {"inactive": "dim", "pending": "yellow", "firing": "red", "delivered": "bold green", "resolved": "cyan"}


class RichDisplay:
    """A live-updating panel (rich) with the numbers and each expected alert's state."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self._live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def update(self, snap: Snapshot) -> None:
        from rich.panel import Panel
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("elapsed", f"{snap.elapsed_s:.0f} s of {snap.budget_s:.0f} s budget")
        table.add_row("requests sent", f"{snap.sent}  (failed {snap.client_error_pct:.1f}% as seen by the client)")
        table.add_row("error rate", _fmt(snap.error_pct, ".1f", " %  (app 5xx, Prometheus)"))
        table.add_row("p95 latency", _fmt(snap.p95_s, ".2f", " s  (app requests, Prometheus)"))
        table.add_row("cost rate", _fmt(snap.cost_per_hour, ".3f", " USD/h  (Prometheus)"))
        for name, state in snap.alert_states.items():
            table.add_row(name, f"[{_STATE_STYLE.get(state, '')}]{state}[/]")
        if snap.others:
            table.add_row("other alerts", ", ".join(snap.others))
        self._live.update(Panel(table, title=f"scenario {snap.scenario}"))

    def event(self, message: str) -> None:
        self._live.console.print(message)

    def close(self) -> None:
        self._live.stop()


def make_display(out: TextIO = sys.stdout) -> Display:
    """Rich when writing to a terminal, plain lines otherwise."""
    return RichDisplay() if out.isatty() else PlainDisplay(out)
