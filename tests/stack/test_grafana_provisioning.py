"""Grafana provisioning: fixed data source UIDs, their cross-links, and the dashboards folder."""

from __future__ import annotations

import re

import pytest
import yaml


@pytest.fixture(scope="module")
def datasources(repo_root) -> dict[str, dict]:
    path = repo_root / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    return {source["uid"]: source for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]}


def _referenced_uids(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "datasourceUid"] + [u for v in node.values() for u in _referenced_uids(v)]
    if isinstance(node, list):
        return [u for item in node for u in _referenced_uids(item)]
    return []


def test_fixed_uids_and_urls_of_the_compose_services(datasources, services):
    expected = {
        "prometheus": ("prometheus", "http://prometheus:9090"),
        "loki": ("loki", "http://loki:3100"),
        "tempo": ("tempo", "http://tempo:3200"),
        "alertmanager": ("alertmanager", "http://alertmanager:9093"),
    }
    assert set(datasources) == set(expected)
    for uid, (kind, url) in expected.items():
        assert (datasources[uid]["type"], datasources[uid]["url"]) == (kind, url)
        assert url.split("//")[1].split(":")[0] in services
    assert datasources["prometheus"]["isDefault"] is True


def test_every_cross_link_points_at_a_provisioned_uid(datasources):
    referenced = _referenced_uids(list(datasources.values()))
    assert len(referenced) >= 6
    assert set(referenced) <= set(datasources)


def test_exemplars_and_log_lines_link_to_traces_by_trace_id(datasources):
    (exemplar,) = datasources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert (exemplar["name"], exemplar["datasourceUid"]) == ("trace_id", "tempo")
    (derived,) = datasources["loki"]["jsonData"]["derivedFields"]
    # OTLP logs keep trace_id as structured metadata: match it by name, not by regex on the line.
    assert (derived["matcherType"], derived["matcherRegex"], derived["datasourceUid"]) == ("label", "trace_id", "tempo")


def test_traces_link_to_logs_metrics_and_service_map(datasources):
    tempo = datasources["tempo"]["jsonData"]
    logs = tempo["tracesToLogsV2"]
    assert logs["datasourceUid"] == "loki" and logs["filterByTraceID"] is True
    assert "trace_id" in logs["query"] and {"key": "service.name", "value": "service_name"} in logs["tags"]
    metrics = tempo["tracesToMetrics"]
    assert metrics["datasourceUid"] == "prometheus"
    assert all("traces_spanmetrics_" in query["query"] for query in metrics["queries"])
    assert tempo["serviceMap"]["datasourceUid"] == "prometheus"
    assert tempo["nodeGraph"]["enabled"] is True
    assert tempo["lokiSearch"]["datasourceUid"] == "loki"


def test_alertmanager_data_source_is_prometheus_flavoured(datasources):
    assert datasources["alertmanager"]["jsonData"]["implementation"] == "prometheus"


def _strings(node):
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_literal_dollars_are_escaped_from_grafana_env_expansion(repo_root):
    # Grafana expands $VAR and ${VAR} in provisioning values; Grafana's own ${__value.raw}
    # and $__tags must be written $${...} / $$__tags or they silently become empty.
    checked = 0
    for path in (repo_root / "grafana" / "provisioning").rglob("*.yaml"):
        for value in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            checked += value.count("$$")
            assert "$" not in value.replace("$$", ""), f"{path.name}: unescaped $ in {value!r}"
    assert checked >= 4  # the trace links really use Grafana variables


def test_dashboards_are_provisioned_into_the_llm_folder_from_the_mounted_path(repo_root, services):
    path = repo_root / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
    (provider,) = yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]
    assert provider["folder"] == "LLM" and provider["type"] == "file"
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services["grafana"]["volumes"]}
    assert mounts[provider["options"]["path"]] == "./grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"


def _trace_id_regex(logql: str) -> str:
    """The regex of the `trace_id =~ "..."` filter of a LogQL query."""
    match = re.search(r'trace_id\s*=~\s*"([^"]*)"', logql)
    assert match, f"no trace_id regex filter in {logql!r}"
    return match.group(1)


def test_trace_to_logs_finds_the_logs_of_a_shortened_trace_id(datasources, check_queries):
    """Tempo may hand Grafana a trace id without its leading zeros; Loki holds all 32 characters.
    The span -> logs query, as Grafana fills it in, must parse and still match the stored id."""
    template = datasources["tempo"]["jsonData"]["tracesToLogsV2"]["query"].replace("$$", "$")
    stored = "0000a1b2c3d4e5f60718293a4b5c6d7e"  # 32 lower-case hex, as the app and Loki write it
    for given in (stored, stored.lstrip("0")):
        query = template.replace("${__tags}", 'service_name="demo-app"').replace("${__trace.traceId}", given)
        (result,) = check_queries([{"id": given, "lang": "logql", "query": query}])
        assert result["errors"] == [], query
        # LogQL regex matchers are anchored at both ends (RE2), as re.fullmatch is.
        regex = _trace_id_regex(query)
        assert re.fullmatch(regex, stored), (regex, stored)
        assert not re.fullmatch(regex, "1" + stored[1:]), "matches another trace"
