"""Source of the Grafana dashboards: Python (grafana-foundation-sdk builders) rendered to grafana/dashboards/*.json.

Edit the modules here, then run `python -m grafana.dashboards_src` (or `make dashboards`)
from the repository root; tests/stack checks that the committed JSON equals what this
renders. The SDK is the build of grafana-foundation-sdk generated for "Grafana next"
(dashboard schemaVersion 41, Grafana 12.x); Grafana 13 migrates it on load.
"""

from __future__ import annotations

from .render import DASHBOARDS, OUTPUT_DIR, render_all, write_all

__all__ = ["DASHBOARDS", "OUTPUT_DIR", "render_all", "write_all"]
