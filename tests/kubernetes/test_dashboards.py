"""The dashboard ConfigMaps hold exactly the JSON of grafana/dashboards/, labelled for Grafana's sidecar."""

from __future__ import annotations

import json
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"


def _dashboard_maps(of_kind):
    return [r for r in of_kind("ConfigMap") if r.obj["metadata"]["labels"].get("grafana_dashboard") == "1"]


def test_one_configmap_per_dashboard_with_the_same_bytes(of_kind):
    maps = _dashboard_maps(of_kind)
    found = {}
    for cm in maps:
        ((key, text),) = cm.obj["data"].items()
        found[key] = text
    assert set(found) == {p.name for p in DASHBOARDS.glob("*.json")}
    for name, text in found.items():
        assert text == (DASHBOARDS / name).read_text(encoding="utf-8"), name


def test_configmaps_fit_and_name_a_folder(of_kind):
    for cm in _dashboard_maps(of_kind):
        # A ConfigMap holds at most 1 MiB; a dashboard near that would not apply.
        assert sum(len(v.encode()) for v in cm.obj["data"].values()) < 512 * 1024, cm
        assert cm.obj["metadata"]["annotations"]["grafana_folder"] == "LLM"
        assert json.loads(next(iter(cm.obj["data"].values())))["uid"]
