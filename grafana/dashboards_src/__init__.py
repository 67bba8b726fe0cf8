"""Source of the Grafana dashboards: Python (grafana-foundation-sdk builders) rendered to grafana/dashboards/*.json.

Edit the modules here, then run `python -m grafana.dashboards_src` (or `make dashboards`)
from the repository root; tests/stack checks that the committed JSON equals what this
renders. The SDK is the build of grafana-foundation-sdk generated for "Grafana next"
(dashboard schemaVersion 41, Grafana 12.x); Grafana 13 migrates it on load.
"""

from __future__ import annotations

from importlib.metadata import version

# The generated JSON depends on the SDK build, so it is pinned exactly. PyPI numbers the
# builds with epochs that make pip prefer the one generated for Grafana 10.1 (schemaVersion
# 36, different module layout) unless this version is asked for by name.
SDK_VERSION = "1769699241"
if version("grafana-foundation-sdk") != SDK_VERSION:
    raise ImportError(
        f"grafana/dashboards_src needs grafana-foundation-sdk=={SDK_VERSION} (the Grafana-next build), "
        f"found {version('grafana-foundation-sdk')}: pip install 'grafana-foundation-sdk=={SDK_VERSION}'"
    )

from .render import DASHBOARDS, OUTPUT_DIR, render_all, write_all  # noqa: E402 - after the version check

__all__ = ["DASHBOARDS", "OUTPUT_DIR", "SDK_VERSION", "render_all", "write_all"]
