"""Every rendered object is valid: built-in kinds against the Kubernetes JSON schemas
(kubernetes-validate, strict: unknown fields are errors), the Prometheus Operator kinds
against the operator's CRD models (tests/kubernetes/crdcheck), nothing left unchecked.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest schemas
# kubernetes-validate ships.
KUBE_VERSIONS = ("1.25.0", kubernetes_validate.latest_version() + ".0")
OPERATOR_GROUP = "monitoring.coreos.com/"


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_builtin_objects_match_the_kubernetes_schemas(rendered, kube_version):
    builtin = [r for r in rendered if not r.obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert {r.kind for r in builtin} == {"Deployment", "Service", "ConfigMap"}
    errors = []
    for r in builtin:
        try:
            kubernetes_validate.validate(r.obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{r} ({r.template}): {exc}")
    assert not errors, "\n".join(errors)


def test_operator_objects_match_the_crd_models(rendered, crd_check):
    ours = [r for r in rendered if r.obj["apiVersion"].startswith(OPERATOR_GROUP)]
    assert {r.kind for r in ours} == {"PrometheusRule", "ServiceMonitor", "AlertmanagerConfig"}
    results = crd_check([(str(r), r.obj) for r in ours])
    assert not {k: v for k, v in results.items() if v}, results


class TestCheckersCanFail:
    """Both checkers reject a broken object, so a pass above means something."""

    def test_kubernetes_validate_rejects_an_unknown_field(self, of_kind):
        dep = copy.deepcopy(of_kind("Deployment")[0].obj)
        dep["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFS"] = True
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(dep, KUBE_VERSIONS[-1], strict=True)

    def test_crd_check_rejects_bad_values_and_unknown_fields(self, of_kind, crd_check):
        sm = copy.deepcopy(of_kind("ServiceMonitor")[0].obj)
        sm["spec"]["endpoints"][0]["scrapeInterval"] = sm["spec"]["endpoints"][0].pop("interval")
        rule = copy.deepcopy(of_kind("PrometheusRule")[0].obj)
        rule["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
        amc = copy.deepcopy(of_kind("AlertmanagerConfig")[0].obj)
        amc["spec"]["route"]["routes"][0]["matchers"][0]["matchType"] = "~="
        results = crd_check([("sm", sm), ("rule", rule), ("amc", amc)])
        assert any("scrapeInterval" in e for e in results["sm"]), results
        assert any("/for must match pattern" in e for e in results["rule"]), results
        assert any("matchType" in e for e in results["amc"]), results
