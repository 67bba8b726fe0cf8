"""Prometheus and Alertmanager restarts and reloads on the native stack: rules, routes and alerts survive.

One native stack (the compose configs, Debian's binaries). Watchdog is always firing, so it
is the alert that must survive:
  - Alertmanager restart: Watchdog comes back (Prometheus re-sends it within its resend delay);
  - Prometheus restart: Alertmanager keeps Watchdog meanwhile, the same rules are loaded and
    healthy, Watchdog fires again; the receiver got at least as many notifications as before,
    and nothing crashed;
  - Prometheus /-/reload with a changed threshold: the new expression is served by
    /api/v1/rules; a broken rule file is refused and the old rules keep running;
  - Alertmanager /-/reload with a changed route: the new config is served; a broken one is
    refused and the old routing keeps running.
"""

from __future__ import annotations

import glob
import re
import shutil
import time

import httpx
import pytest
import yaml

from demo_app.native import NativeStack
from demo_app.procs import poll_until, start_process

pytestmark = pytest.mark.e2e
CHANGED_THRESHOLD = "0.4242"


def _rules(prom_url: str) -> dict[str, dict]:
    groups = httpx.get(f"{prom_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    return {r["name"]: r for g in groups for r in g["rules"]}


def _am_alerts(am_url: str, name: str) -> list[dict]:
    return [a for a in httpx.get(f"{am_url}/api/v2/alerts", timeout=10).json() if a["labels"].get("alertname") == name]


def _gauge(url: str, metric: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(metric + " ") or line.startswith(metric + "{"):
            return float(line.split()[-1])
    raise AssertionError(f"{metric} not found at {url}/metrics")


def _restart(stack: NativeStack, name: str, ready_path: str = "/-/ready") -> None:
    """Stop one component and start the same command line again on the same port and data dir."""
    old = stack.procs[name]
    argv = [str(a) for a in old.popen.args]
    old.stop()
    stack.procs[name] = start_process(
        name, argv, stack.state_dir / "logs", ready_url=old.url + ready_path, url=old.url, port=old.port, timeout=60
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with NativeStack(tmp_path_factory.mktemp("native"), latency_scale=0.0, seed=5) as s:
        yield s


def test_restarts_keep_rules_and_the_firing_watchdog(stack):
    urls = stack.urls
    poll_until(lambda: _rules(urls.prometheus).get("Watchdog", {}).get("state") == "firing", "Watchdog firing", 60)
    # Prometheus evaluates its first round before it has discovered Alertmanager, so the first
    # Watchdog notification is dropped and re-sent after --rules.alert.resend-delay (15 s).
    delivered = poll_until(
        lambda: httpx.get(f"{urls.sink}/alerts", params={"alertname": "Watchdog"}, timeout=10).json()["count"],
        "Watchdog delivered to the receiver", 100,
    )
    before = _rules(urls.prometheus)

    # Alertmanager restart: it keeps silences and its notification log on disk but not the
    # alerts; Prometheus re-sends every firing alert within the resend delay.
    started = time.monotonic()
    _restart(stack, "alertmanager")
    poll_until(lambda: _am_alerts(urls.alertmanager, "Watchdog"), "Watchdog back in Alertmanager", 100)
    am_back_s = time.monotonic() - started

    # Prometheus restart: Alertmanager keeps the alert meanwhile (Prometheus sent it with an
    # end time several resend delays ahead), and the restarted Prometheus loads the same rules.
    _restart(stack, "prometheus")
    assert _am_alerts(urls.alertmanager, "Watchdog"), "Alertmanager lost Watchdog while Prometheus restarted"
    poll_until(lambda: _rules(urls.prometheus).get("Watchdog", {}).get("state") == "firing",
               "Watchdog firing after the Prometheus restart", 60)
    after = _rules(urls.prometheus)
    assert set(after) == set(before)
    assert {n: r["query"] for n, r in after.items()} == {n: r["query"] for n, r in before.items()}
    # Each group runs on its own ticker: when Watchdog's group has fired, the other groups may
    # not have been evaluated yet (health "unknown", no lastError). Poll until every rule has
    # been evaluated once; a rule that errors shows health "err" with its lastError.
    after = poll_until(lambda: (r := _rules(urls.prometheus)) and all(x["health"] != "unknown" for x in r.values()) and r,
                       "every rule evaluated after the Prometheus restart", 60)
    assert all(r["health"] == "ok" for r in after.values()), {n: (r["health"], r.get("lastError")) for n, r in after.items()}
    count = httpx.get(f"{urls.sink}/alerts", params={"alertname": "Watchdog"}, timeout=10).json()["count"]
    print(f"\nWatchdog back in Alertmanager {am_back_s:.0f} s after its restart; {len(after)} rules reloaded; "
          f"Watchdog notifications at the receiver: {delivered} before the restarts, {count} after")
    assert count >= delivered
    assert all(p.alive() for p in stack.procs.values()), {n: p.alive() for n, p in stack.procs.items()}


def test_prometheus_reload_applies_a_changed_threshold_and_refuses_a_broken_file(stack, tmp_path):
    urls = stack.urls
    config_path = stack.state_dir / "prometheus.yml"
    original_config = config_path.read_text()
    config = yaml.safe_load(original_config)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for pattern in config["rule_files"]:
        for source in sorted(glob.glob(pattern)):
            shutil.copy(source, rules_dir)
    alerts_file = next(p for p in rules_dir.glob("*.yml") if "alert: LLMHighErrorRate" in p.read_text())
    text = alerts_file.read_text()
    head, rest = text.split("alert: LLMHighErrorRate", 1)
    alerts_file.write_text(head + "alert: LLMHighErrorRate" + re.sub(r">\s*0\.05\b", f"> {CHANGED_THRESHOLD}", rest, count=1))
    config["rule_files"] = [str(rules_dir / "*.yml")]
    try:
        config_path.write_text(yaml.safe_dump(config))
        assert httpx.post(f"{urls.prometheus}/-/reload", timeout=30).status_code == 200
        rule = _rules(urls.prometheus)["LLMHighErrorRate"]
        assert CHANGED_THRESHOLD in rule["query"], rule["query"]
        assert _gauge(urls.prometheus, "prometheus_config_last_reload_successful") == 1

        alerts_file.write_text(alerts_file.read_text() + "\n  - this is: [not a rule group\n")
        assert httpx.post(f"{urls.prometheus}/-/reload", timeout=30).status_code >= 500
        assert _gauge(urls.prometheus, "prometheus_config_last_reload_successful") == 0
        assert CHANGED_THRESHOLD in _rules(urls.prometheus)["LLMHighErrorRate"]["query"]  # old rules keep running
        # The copied files are new rule groups (a group is keyed by its file), so alert state
        # starts over: Watchdog (for: 0s) fires again at the next evaluation.
        poll_until(lambda: _rules(urls.prometheus)["Watchdog"]["state"] == "firing", "Watchdog firing on the reloaded rules", 30)
    finally:
        config_path.write_text(original_config)
        httpx.post(f"{urls.prometheus}/-/reload", timeout=30)
    assert CHANGED_THRESHOLD not in _rules(urls.prometheus)["LLMHighErrorRate"]["query"]
    assert stack.procs["prometheus"].alive()


def test_alertmanager_reload_applies_a_changed_route_and_refuses_a_broken_file(stack):
    urls = stack.urls
    config_path = stack.state_dir / "alertmanager.yml"
    original = config_path.read_text()
    config = yaml.safe_load(original)
    config["route"]["group_interval"] = "7m"  # distinctive: no shipped config uses it
    try:
        config_path.write_text(yaml.safe_dump(config))
        assert httpx.post(f"{urls.alertmanager}/-/reload", timeout=30).status_code == 200
        status = httpx.get(f"{urls.alertmanager}/api/v2/status", timeout=10).json()
        assert "group_interval: 7m" in status["config"]["original"]
        assert _gauge(urls.alertmanager, "alertmanager_config_last_reload_successful") == 1

        config_path.write_text(original + "\nroute: [this is not a route\n")
        assert httpx.post(f"{urls.alertmanager}/-/reload", timeout=30).status_code >= 400
        assert _gauge(urls.alertmanager, "alertmanager_config_last_reload_successful") == 0
        status = httpx.get(f"{urls.alertmanager}/api/v2/status", timeout=10).json()
        assert "group_interval: 7m" in status["config"]["original"]  # the last good config still routes
    finally:
        config_path.write_text(original)
        httpx.post(f"{urls.alertmanager}/-/reload", timeout=30)
    poll_until(lambda: _am_alerts(urls.alertmanager, "Watchdog"), "Watchdog still active after the reloads", 90)
    assert stack.procs["alertmanager"].alive()
