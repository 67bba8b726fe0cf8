"""Grafana's data sources reach the cluster as the compose stack provisions them.

The chart's datasource ConfigMap is grafana/provisioning/datasources/datasources.yaml with
only each URL (and Prometheus' scrape interval) changed: same uids, exemplar destinations,
derived fields, trace-to-logs and trace-to-metrics links, so every dashboard and cross-link
that works on compose points at the same data sources here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().parents[2] / "grafana" / "provisioning" / "datasources" / "datasources.yaml"


def _rendered(of_kind) -> dict:
    (cm,) = [r for r in of_kind("ConfigMap") if r.obj["metadata"]["labels"].get("grafana_datasource") == "1"]
    ((name, text),) = cm.obj["data"].items()
    assert name.endswith(".yaml")
    return yaml.safe_load(text)


def test_only_urls_and_scrape_interval_differ(of_kind, merged_values):
    rendered = _rendered(of_kind)
    source = yaml.safe_load(SOURCE.read_text())
    urls = merged_values["grafanaDatasources"]["urls"]
    interval = merged_values["serviceMonitor"]["interval"]
    assert [d["uid"] for d in rendered["datasources"]] == [d["uid"] for d in source["datasources"]]
    for got, want in zip(rendered["datasources"], source["datasources"], strict=True):
        assert got["url"] == urls[want["uid"]]
        if want["type"] == "prometheus":
            assert got["jsonData"]["timeInterval"] == interval
            want = {**want, "jsonData": {**want["jsonData"], "timeInterval": interval}}
        assert {k: v for k, v in got.items() if k != "url"} == {k: v for k, v in want.items() if k != "url"}
    assert {k: v for k, v in rendered.items() if k != "datasources"} == {k: v for k, v in source.items() if k != "datasources"}


def test_cross_links_name_existing_uids(of_kind):
    """Every datasourceUid a link refers to is one of the provisioned uids."""
    rendered = _rendered(of_kind)
    uids = {d["uid"] for d in rendered["datasources"]}

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasourceUid":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = set(refs(rendered))
    assert found and found <= uids, found - uids
