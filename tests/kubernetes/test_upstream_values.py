"""The values files for the upstream charts are pinned, consistent with each other and with
the compose stack's pins. The upstream charts themselves cannot be rendered here (no chart
repository is reachable), so what is checked is what our files say: exact chart versions,
image tags equal to .env, and every in-cluster URL naming a Service of the install plan.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

VALUES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "values"
_PLAN_FILE = yaml.safe_load((VALUES / "charts.yaml").read_text())
PLAN = _PLAN_FILE["releases"]
PREREQUISITES = _PLAN_FILE.get("prerequisites", [])
# host.namespace.svc[.cluster.local][:port] anywhere in a file
SVC = re.compile(r"(?P<scheme>https?://)?(?P<host>[a-z0-9-]+\.[a-z0-9-]+\.svc)(?:\.cluster\.local)?(?::(?P<port>\d+))?")


def _env(repo_root: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (repo_root / ".env").read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def _values(name: str) -> dict:
    return yaml.safe_load((VALUES / name).read_text())


def _services() -> dict[str, str]:
    """host -> port of every Service the plan declares (cluster.local suffix dropped)."""
    out = {}
    for release in PLAN + PREREQUISITES:
        for endpoint in release["services"].values():
            m = SVC.fullmatch(endpoint)
            assert m and m["port"], endpoint
            out.setdefault(m["host"], set()).add(m["port"])
    return out


@pytest.mark.parametrize("release", PLAN, ids=lambda r: r["name"])
def test_release_is_pinned_and_has_its_values(release, chart_dir):
    assert re.fullmatch(r"\d+\.\d+\.\d+", release["version"]), release
    assert (VALUES / release["values"]).is_file()
    if release["repository"]:
        assert release["repository"].startswith("https://")
    else:  # ours
        assert release["version"] == yaml.safe_load((chart_dir / "Chart.yaml").read_text())["version"]


def test_loki_and_tempo_come_from_grafana_community():
    repos = {r["chart"]: r["repository"] for r in PLAN}
    assert repos["loki"] == repos["tempo-distributed"] == "https://grafana-community.github.io/helm-charts"


def test_every_in_cluster_url_names_a_planned_service(chart_dir):
    services = _services()
    files = [VALUES / r["values"] for r in PLAN if r["repository"]] + [chart_dir / "values.yaml"]
    seen = 0
    for path in files:
        for m in SVC.finditer(path.read_text()):
            port = m["port"] or ("80" if m["scheme"] == "http://" else None)
            assert m["host"] in services, f"{path.name}: {m.group(0)} is not a Service of charts.yaml"
            assert port is None or port in services[m["host"]], f"{path.name}: {m.group(0)} has no such port"
            seen += 1
    assert seen >= 8


def test_image_tags_follow_env(repo_root):
    env = _env(repo_root)
    kps = _values("kube-prometheus-stack.yaml")
    assert f"prom/prometheus:{kps['prometheus']['prometheusSpec']['image']['tag']}" == env["PROMETHEUS_IMAGE"]
    assert f"prom/alertmanager:{kps['alertmanager']['alertmanagerSpec']['image']['tag']}" == env["ALERTMANAGER_IMAGE"]
    assert f"grafana/grafana:{kps['grafana']['image']['tag']}" == env["GRAFANA_IMAGE"]
    assert f"grafana/loki:{_values('loki.yaml')['loki']['image']['tag']}" == env["LOKI_IMAGE"]
    assert f"grafana/tempo:{_values('tempo-distributed.yaml')['tempo']['image']['tag']}" == env["TEMPO_IMAGE"]


class TestKubePrometheusStack:
    """It picks up the llm-obs objects and keeps what the compose Prometheus does."""

    spec = _values("kube-prometheus-stack.yaml")

    def test_selects_objects_of_other_releases(self):
        prom = self.spec["prometheus"]["prometheusSpec"]
        for key in ("serviceMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues"):
            assert prom[key] is False

    def test_alertmanager_config_is_selected_without_namespace_matcher(self, rendered_profiles):
        am = self.spec["alertmanager"]["alertmanagerSpec"]
        assert am["alertmanagerConfigMatcherStrategy"] == {"type": "None"}
        (amc,) = [r for r in rendered_profiles("demo") if r.kind == "AlertmanagerConfig"]
        assert am["alertmanagerConfigSelector"]["matchLabels"].items() <= amc.obj["metadata"]["labels"].items()

    def test_compose_features_carried_over(self, repo_root):
        prom = self.spec["prometheus"]["prometheusSpec"]
        assert "exemplar-storage" in prom["enableFeatures"]
        assert prom["enableRemoteWriteReceiver"] is True
        compose = yaml.safe_load((repo_root / "prometheus" / "prometheus.yml").read_text())
        assert set(prom["externalLabels"]) == set(compose["global"]["external_labels"])
        assert prom["additionalAlertRelabelConfigs"] == compose["alerting"]["alert_relabel_configs"]
        assert prom["externalLabels"]["runbook_base_url"].startswith("http://llm-obs-alert-sink.llm.svc:8082/")

    def test_own_watchdog_and_targetdown_replace_the_charts(self, repo_root):
        assert self.spec["defaultRules"]["rules"]["general"] is False
        stack = yaml.safe_load((repo_root / "prometheus" / "rules" / "stack.yml").read_text())
        names = {r.get("alert") for g in stack["groups"] for r in g["rules"]}
        assert {"Watchdog", "TargetDown"} <= names

    def test_sidecars_match_the_chart_labels(self, rendered_profiles):
        sidecar = self.spec["grafana"]["sidecar"]
        maps = [r.obj for r in rendered_profiles("demo") if r.kind == "ConfigMap"]
        for kind in ("dashboards", "datasources"):
            label, value = sidecar[kind]["label"], sidecar[kind]["labelValue"]
            assert any(m["metadata"]["labels"].get(label) == value for m in maps), kind
        folder = sidecar["dashboards"]["folderAnnotation"]
        assert all(folder in m["metadata"].get("annotations", {}) for m in maps if "grafana_dashboard" in m["metadata"]["labels"])
        assert sidecar["datasources"]["defaultDatasourceEnabled"] is False


def test_loki_keeps_the_compose_schema_and_metadata(repo_root):
    loki = _values("loki.yaml")["loki"]
    compose = yaml.safe_load((repo_root / "loki" / "loki.yaml").read_text())
    (want,) = compose["schema_config"]["configs"]
    (got,) = loki["schemaConfig"]["configs"]
    assert (got["store"], got["schema"], got["index"]) == (want["store"], want["schema"], want["index"])
    assert got["object_store"] == loki["storage"]["type"] == "s3"
    assert loki["limits_config"]["allow_structured_metadata"] is True
    assert loki["auth_enabled"] is compose["auth_enabled"] is False
    assert _values("loki.yaml")["deploymentMode"] in {"SimpleScalable", "Distributed"}


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    else:
        yield prefix, node


def test_tempo_native_keys_are_those_of_the_compose_config(repo_root):
    """structuredConfig is Tempo's own config: only key paths (and values) that tempo/tempo.yaml,
    checked against the Tempo 3.0 reference in tests/stack, already uses."""
    compose = dict(_paths(yaml.safe_load((repo_root / "tempo" / "tempo.yaml").read_text())))
    ours = dict(_paths(_values("tempo-distributed.yaml")["tempo"]["structuredConfig"]))
    assert ours
    for path, value in ours.items():
        assert path in compose, f"{'.'.join(path)} is not a key of tempo/tempo.yaml"
        assert compose[path] == value, f"{'.'.join(path)}: {value!r} here, {compose[path]!r} in compose"


def test_tempo_3_runs_the_kafka_architecture():
    tempo = _values("tempo-distributed.yaml")
    assert tempo["ingest"]["kafka"]["address"] in {s for p in PREREQUISITES for s in p["services"].values()}
    assert tempo["blockBuilder"]["enabled"] and tempo["liveStore"]["enabled"] and tempo["backendScheduler"]["enabled"]
    # one block-builder and one live-store per partition
    assert tempo["blockBuilder"]["replicas"] == tempo["liveStore"]["replicas"]
    # Tempo 3 removed the ingester and compactor (and their 2.x keys would be ignored or fatal)
    assert not {"ingester", "compactor"} & set(tempo)


def test_tempo_remote_writes_exemplars_to_prometheus():
    tempo = _values("tempo-distributed.yaml")
    (rw,) = tempo["metricsGenerator"]["config"]["storage"]["remote_write"]
    assert rw["url"].endswith("/api/v1/write") and rw["send_exemplars"] is True
    generator = tempo["overrides"]["defaults"]["metrics_generator"]
    # span metrics come from the gateway, before sampling (see otel-gateway.yaml)
    assert generator["processors"] == ["service-graphs"]
    assert generator["trace_id_label_name"] == "trace_id"
    assert tempo["storage"]["trace"]["backend"] == "s3"


# kube-prometheus-stack copies most prometheusSpec / alertmanagerSpec keys into the
# Prometheus / Alertmanager objects unchanged; these are the ones it handles itself.
CHART_ONLY = {
    "prometheus": {"serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues",
                   "image", "storageSpec", "additionalAlertRelabelConfigs"},
    "alertmanager": {"image"},
}


@pytest.mark.parametrize(("section", "kind"), [("prometheus", "Prometheus"), ("alertmanager", "Alertmanager")])
def test_spec_keys_are_fields_of_the_operator_objects(section, kind, crd_check):
    """The keys passed through to the Prometheus/Alertmanager objects exist in the CRD, with valid values."""
    spec = _values("kube-prometheus-stack.yaml")[section][f"{section}Spec"]
    passed = {k: v for k, v in spec.items() if k not in CHART_ONLY[section]}
    assert passed
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": "kps"}, "spec": passed}
    assert crd_check([(kind, obj)]) == {kind: []}
