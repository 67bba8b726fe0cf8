"""Where the stack's parts answer: the urls.json a native stack writes and the load generator reads.

A neutral module: `demo_app.native` writes this format and `demo_app.loadgen` reads it, so
neither imports the other.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

__all__ = ["StackUrls", "URLS_FILE"]

URLS_FILE = "urls.json"  # written by `python -m demo_app.native up` into its state directory


@dataclass(frozen=True)
class StackUrls:
    """Base URLs (no trailing slash) of every part a scenario talks to."""

    app: str
    sim: str
    prometheus: str
    alertmanager: str
    sink: str
    tools: str  # the agents' MCP tool server (its /faults; MCP itself at /mcp)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"{f.name} URL must start with http:// or https://, got {value!r}")
            object.__setattr__(self, f.name, value.rstrip("/"))

    @classmethod
    def from_state_dir(cls, state_dir: Path) -> StackUrls:
        """Read `<state_dir>/urls.json`; extra keys (grafana, otlp...) are ignored."""
        path = Path(state_dir) / URLS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path} not found: start the native stack first (python -m demo_app.native up)") from None
        return cls(**{f.name: raw[f.name] for f in fields(cls)})

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
