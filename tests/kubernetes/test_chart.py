"""The llm-obs chart loads, lints and renders offline, and what it renders is wired together.

Wiring means: each Service selects its Deployment's pods and names its port, each
ServiceMonitor selects that Service, the app calls the simulator's Service, and
Alertmanager's webhooks reach the alert receiver's Service.
"""

from __future__ import annotations

import helm_python
import pytest


def _by_component(objs, kind):
    return {o.obj["metadata"]["labels"]["app.kubernetes.io/component"]: o.obj for o in objs if o.kind == kind}


class TestSources:
    """The chart reads the repository's own rules, dashboards and routing through symlinks."""

    @pytest.mark.parametrize(("link", "target"), [
        ("files/rules", "prometheus/rules"),
        ("files/dashboards", "grafana/dashboards"),
        ("files/alertmanager", "alertmanager"),
    ])
    def test_symlink_points_at_the_repository_folder(self, repo_root, chart_dir, link, target):
        path = chart_dir / link
        assert path.is_symlink(), f"{link} must be a symlink (a copy would drift)"
        assert path.resolve() == (repo_root / target).resolve()

    def test_packaged_chart_carries_the_files_not_the_links(self, chart_dir, tmp_path):
        """`helm package` follows the links: the archive works without this repository."""
        archive = helm_python.package(chart_dir, destination=tmp_path)
        with helm_python.Chart.load(archive) as chart:
            names = {f["name"] for f in chart.files}
        assert "files/rules/llm-alerts.yml" in names
        assert "files/dashboards/llm-overview.json" in names
        assert not any(n.startswith(("files/rules/tests/", "files/alertmanager/tests/")) or n.endswith(".py") for n in names), sorted(names)


def test_chart_lints_clean(chart_dir, profile, values_of, namespace):
    report = helm_python.lint(chart_dir, values_of(profile), strict=True, namespace=namespace)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


def test_unknown_profile_is_refused(render):
    with pytest.raises(helm_python.HelmError, match="profile must be demo or production"):
        render({"profile": "staging"})


class TestWorkloads:
    """Every Deployment is hardened and sized; Services and ServiceMonitors find it."""

    def test_four_components(self, of_kind):
        assert set(_by_component(of_kind("Deployment"), "Deployment")) == {"app", "llm-sim", "mcp-tools", "alert-sink"}

    def test_pods_are_non_root_read_only_and_bounded(self, of_kind):
        for dep in of_kind("Deployment"):
            pod = dep.obj["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, dep
            assert pod["automountServiceAccountToken"] is False, dep
            for c in pod["containers"]:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, dep
                assert sc["capabilities"]["drop"] == ["ALL"], dep
                assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(c["resources"]["limits"]), dep
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, (dep, probe)
                mounts = {m["mountPath"] for m in c["volumeMounts"]}
                assert "/tmp" in mounts, "the image's working directory must be writable"

    def test_services_select_their_pods(self, of_kind):
        deps = _by_component(of_kind("Deployment"), "Deployment")
        for comp, svc in _by_component(of_kind("Service"), "Service").items():
            pod = deps[comp]["spec"]["template"]
            assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
            ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
            assert svc["spec"]["ports"][0]["targetPort"] in ports

    def test_service_monitors_select_their_services(self, of_kind, namespace):
        svcs = _by_component(of_kind("Service"), "Service")
        for comp, sm in _by_component(of_kind("ServiceMonitor"), "ServiceMonitor").items():
            svc = svcs[comp]
            assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
            assert sm["spec"]["namespaceSelector"]["matchNames"] == [namespace]
            endpoint = sm["spec"]["endpoints"][0]
            assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
            assert endpoint["path"] == "/metrics"
            # the compose job names: rules, dashboards and alert texts read them
            assert endpoint["relabelings"] == [{"action": "replace", "targetLabel": "job", "replacement": comp}]

    def test_app_calls_the_simulator_service(self, of_kind):
        svcs = _by_component(of_kind("Service"), "Service")
        app = _by_component(of_kind("Deployment"), "Deployment")["app"]
        env = {e["name"]: e.get("value") for e in app["spec"]["template"]["spec"]["containers"][0]["env"]}
        sim = svcs["llm-sim"]
        assert env["LLM_BASE_URL"] == f"http://{sim['metadata']['name']}:{sim['spec']['ports'][0]['port']}/v1"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://")

    def test_app_calls_its_tools_on_the_mcp_service_which_answers_that_name(self, of_kind):
        svc = _by_component(of_kind("Service"), "Service")["mcp-tools"]
        deployments = _by_component(of_kind("Deployment"), "Deployment")

        def env(component: str) -> dict:
            return {e["name"]: e.get("value") for e in deployments[component]["spec"]["template"]["spec"]["containers"][0]["env"]}

        assert env("app")["MCP_TOOLS_URL"] == f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}/mcp"
        # The SDK's DNS-rebinding protection must let the Service's own name through.
        assert f"{svc['metadata']['name']}:*" in env("mcp-tools")["MCP_ALLOWED_HOSTS"].split(",")

    def test_alertmanager_webhooks_reach_the_alert_receiver(self, of_kind, namespace):
        sink = _by_component(of_kind("Service"), "Service")["alert-sink"]
        url = f"http://{sink['metadata']['name']}.{namespace}.svc:{sink['spec']['ports'][0]['port']}/webhook"
        (amc,) = of_kind("AlertmanagerConfig")
        hooks = [h["url"] for r in amc.obj["spec"]["receivers"] for h in r["webhookConfigs"]]
        assert hooks and set(hooks) == {url}


def test_kube_prometheus_stack_selects_our_objects(rendered):
    """Rules and ServiceMonitors carry the `release` label kube-prometheus-stack selects on by default."""
    for r in rendered:
        if r.kind in {"PrometheusRule", "ServiceMonitor", "AlertmanagerConfig"}:
            assert r.obj["metadata"]["labels"]["release"] == "kps", r
