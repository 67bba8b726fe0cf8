"""Every alert's runbook_url opens its section, on the native stack (Debian's Prometheus and Alertmanager).

Most alerts never fire in a quiet stack, so Prometheus is given a copy of every alerting
rule that fires at once (`expr: vector(1)`, same name, same annotations) and renders their
annotations itself; the test follows each link to the alert receiver's /runbooks page and
finds the alert's anchor there. Watchdog, which really fires, shows the link as Alertmanager
receives it, without the runbook_base_url external label among its labels.
"""

from __future__ import annotations

import glob
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import httpx
import pytest
import yaml

from demo_app.native import NativeStack
from demo_app.native.config import render_prometheus
from demo_app.procs import poll_until

PROBE = {"probe": "runbook-link"}


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids |= {value for name, value in attrs if name == "id" and value}


def _element_ids(url: str) -> set[str]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    parser = _Ids()
    parser.feed(response.text)
    return parser.ids


def _probe_group(rule_files: list[str]) -> tuple[dict, set[str]]:
    """One rule group firing a copy of every alert of `rule_files`, and the alert names."""
    rules = []
    for pattern in rule_files:
        for path in sorted(glob.glob(pattern)):
            for group in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["groups"]:
                rules += [
                    {"alert": r["alert"], "expr": "vector(1)", "labels": {"severity": "info", **PROBE}, "annotations": r["annotations"]}
                    for r in group["rules"]
                    if "alert" in r
                ]
    return {"groups": [{"name": "runbook-link-probe", "rules": rules}]}, {r["alert"] for r in rules}


def test_native_mode_keeps_a_runbook_site_on_another_host(repo_root, tmp_path):
    config = yaml.safe_load((repo_root / "prometheus" / "prometheus.yml").read_text())
    config["global"]["external_labels"]["runbook_base_url"] = "https://wiki.example.com/llm/runbooks"
    src = tmp_path / "prometheus.yml"
    src.write_text(yaml.safe_dump(config))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yml").write_text("groups: []\n")
    rendered, _ = render_prometheus(src, {"alert-sink": "127.0.0.1:18082", "alertmanager": "127.0.0.1:19093", "app": "x:1",
                                          "llm-sim": "x:2", "mcp-tools": "x:4", "prometheus": "x:3"})
    assert rendered["global"]["external_labels"]["runbook_base_url"] == "https://wiki.example.com/llm/runbooks"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with NativeStack(tmp_path_factory.mktemp("native"), latency_scale=0.0, seed=7) as s:
        yield s


@pytest.mark.e2e
def test_every_alerts_runbook_link_opens_its_section(stack, tmp_path):
    urls = stack.urls
    config_path = stack.state_dir / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    probe, names = _probe_group(config["rule_files"])
    assert len(names) >= 14
    (tmp_path / "probe.yml").write_text(yaml.safe_dump(probe))
    config["rule_files"].append(str(tmp_path / "probe.yml"))
    # The copies stay in Prometheus: nothing of them reaches Alertmanager or the receiver.
    config["alerting"]["alert_relabel_configs"].append({"source_labels": ["probe"], "regex": PROBE["probe"], "action": "drop"})
    config_path.write_text(yaml.safe_dump(config))
    assert httpx.post(f"{urls.prometheus}/-/reload", timeout=30).status_code == 200

    def probe_links() -> dict[str, str] | None:
        active = httpx.get(f"{urls.prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
        links = {a["labels"]["alertname"]: a["annotations"]["runbook_url"] for a in active if a["labels"].get("probe") == PROBE["probe"]}
        return links if set(links) == names else None

    links = poll_until(probe_links, "every probe alert active in Prometheus", 60)
    pages: dict[str, set[str]] = {}
    for name, link in sorted(links.items()):
        page, anchor = urldefrag(link)
        assert page == f"{urls.sink}/runbooks", f"{name}: {link} is not the native receiver's page"
        assert anchor == name.lower(), f"{name}: {link}"
        ids = pages.setdefault(page, _element_ids(page))
        assert anchor in ids, f"{name}: {page} has no element with id {anchor!r}"

    # The real Watchdog as Alertmanager has it: same link, and no runbook_base_url label.
    def watchdog() -> dict | None:
        alerts = httpx.get(f"{urls.alertmanager}/api/v2/alerts", params={"filter": 'alertname="Watchdog"'}, timeout=10).json()
        return alerts[0] if alerts else None

    alert = poll_until(watchdog, "Watchdog in Alertmanager", 100)
    assert alert["annotations"]["runbook_url"] == f"{urls.sink}/runbooks#watchdog"
    assert "runbook_base_url" not in alert["labels"] and "probe" not in alert["labels"], alert["labels"]
    received = httpx.get(f"{urls.alertmanager}/api/v2/alerts", timeout=10).json()
    assert not [a for a in received if a["labels"].get("probe")], "a probe alert reached Alertmanager"
