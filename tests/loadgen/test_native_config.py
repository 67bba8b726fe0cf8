"""Native configs are derived from the compose ones: only addresses and paths change, nothing else."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest
import yaml

from demo_app.native.config import ABSENT_SERVICES, render_alertmanager, render_prometheus, resolve_repo_path, write_yaml

ADDRESSES = {
    "app": "127.0.0.1:18000",
    "llm-sim": "127.0.0.1:18081",
    "alert-sink": "127.0.0.1:18082",
    "mcp-tools": "127.0.0.1:18084",
    "prometheus": "127.0.0.1:19090",
    "alertmanager": "127.0.0.1:19093",
}


@pytest.fixture(scope="module")
def prom(repo_root: Path):
    src = repo_root / "prometheus" / "prometheus.yml"
    original = yaml.safe_load(src.read_text())
    rendered, rewrite = render_prometheus(src, ADDRESSES)
    return original, rendered, rewrite


@pytest.fixture(scope="module")
def am(repo_root: Path):
    src = repo_root / "alertmanager" / "alertmanager.yml"
    original = yaml.safe_load(src.read_text())
    rendered, rewrite = render_alertmanager(src, ADDRESSES)
    return original, rendered, rewrite


def _without_targets(job: dict) -> dict:
    return {k: v for k, v in job.items() if k != "static_configs"}


def test_prometheus_keeps_everything_but_addresses(prom):
    original, rendered, rewrite = prom
    assert set(original) == set(rendered)
    runbooks = {"runbook_base_url": f"http://{ADDRESSES['alert-sink']}/runbooks"}  # the receiver's address
    assert rendered["global"] == {**original["global"], "external_labels": {**original["global"]["external_labels"], **runbooks}}
    kept = {j["job_name"]: j for j in rendered["scrape_configs"]}
    for job in original["scrape_configs"]:
        hosts = {t.rpartition(":")[0] for sc in job["static_configs"] for t in sc["targets"]}
        if hosts <= ABSENT_SERVICES:
            assert job["job_name"] not in kept and job["job_name"] in rewrite.dropped_jobs
        else:
            assert _without_targets(kept[job["job_name"]]) == _without_targets(job)
    targets = {t for j in rendered["scrape_configs"] for sc in j["static_configs"] for t in sc["targets"]}
    assert targets == set(ADDRESSES.values())
    am_targets = [t for a in rendered["alerting"]["alertmanagers"] for sc in a["static_configs"] for t in sc["targets"]]
    assert am_targets == [ADDRESSES["alertmanager"]]


def test_prometheus_loads_exactly_the_same_rule_files(prom, repo_root):
    original, rendered, _ = prom
    base = repo_root / "prometheus"
    before = sorted(Path(p).resolve() for pattern in original["rule_files"] for p in glob.glob(str(base / pattern)))
    after = sorted(Path(p).resolve() for pattern in rendered["rule_files"] for p in glob.glob(pattern))
    assert before and before == after
    assert all(Path(p).is_absolute() for p in rendered["rule_files"])


def test_generated_prometheus_config_passes_promtool(prom, tmp_path, require_tool, repo_root):
    _, rendered, _ = prom
    path = tmp_path / "prometheus.yml"
    write_yaml(path, rendered, repo_root / "prometheus" / "prometheus.yml")
    proc = subprocess.run([require_tool("promtool"), "check", "config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_alertmanager_keeps_routes_and_inhibitions_and_moves_only_webhooks(am):
    original, rendered, rewrite = am
    assert rendered["route"] == original["route"]
    assert rendered.get("inhibit_rules") == original.get("inhibit_rules")
    assert [r["name"] for r in rendered["receivers"]] == [r["name"] for r in original["receivers"]]
    for before, after in zip(original["receivers"], rendered["receivers"], strict=True):
        for hook_before, hook_after in zip(before.get("webhook_configs", []), after.get("webhook_configs", []), strict=True):
            assert {k: v for k, v in hook_after.items() if k != "url"} == {k: v for k, v in hook_before.items() if k != "url"}
            assert hook_after["url"].startswith(f"http://{ADDRESSES['alert-sink']}/")
    assert rewrite.urls


def test_generated_alertmanager_config_passes_amtool(am, tmp_path, require_tool, repo_root):
    _, rendered, _ = am
    path = tmp_path / "alertmanager.yml"
    write_yaml(path, rendered, repo_root / "alertmanager" / "alertmanager.yml")
    proc = subprocess.run([require_tool("amtool"), "check-config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _write(tmp_path: Path, cfg: dict) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "a.yml").write_text("groups: []\n")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_container_rule_paths_resolve_by_their_longest_existing_suffix(tmp_path):
    path = _write(tmp_path, {"rule_files": ["/etc/prometheus/rules/*.yml"], "scrape_configs": []})
    rendered, _ = render_prometheus(path, ADDRESSES)
    assert rendered["rule_files"] == [str((tmp_path / "rules" / "*.yml").resolve())]
    with pytest.raises(FileNotFoundError):
        resolve_repo_path("/etc/prometheus/alerts/*.yml", tmp_path)


def test_absent_services_are_dropped_and_unknown_hosts_refused(tmp_path):
    cfg = {
        "scrape_configs": [
            {"job_name": "mixed", "static_configs": [{"targets": ["app:8000", "tempo:3200"], "labels": {"team": "x"}}]},
            {"job_name": "tempo", "static_configs": [{"targets": ["tempo:3200"]}]},
        ],
        "remote_write": [{"url": "http://tempo:3200/api/v1/write"}],
    }
    rendered, rewrite = render_prometheus(_write(tmp_path, cfg), ADDRESSES)
    assert rendered["scrape_configs"] == [{"job_name": "mixed", "static_configs": [{"targets": [ADDRESSES["app"]], "labels": {"team": "x"}}]}]
    assert "remote_write" not in rendered and rewrite.dropped_jobs == ["tempo"]
    cfg["scrape_configs"].append({"job_name": "db", "static_configs": [{"targets": ["postgres:5432"]}]})
    with pytest.raises(ValueError, match="postgres"):
        render_prometheus(_write(tmp_path, cfg), ADDRESSES)


def test_service_discovery_jobs_are_refused_not_silently_kept(tmp_path):
    cfg = {"scrape_configs": [{"job_name": "dns", "dns_sd_configs": [{"names": ["app"]}]}]}
    with pytest.raises(ValueError, match="service discovery"):
        render_prometheus(_write(tmp_path, cfg), ADDRESSES)
