"""loki/loki.yaml and tempo/tempo.yaml use only keys the pinned versions document, and the settings the stack needs.

Both binaries refuse unknown keys at start-up, which we cannot see without Docker; so the
allowed keys below are transcribed by hand from each version's configuration reference.
A key maps to a dict (its documented children), to ANY (an opaque sub-tree: receiver
configs, Prometheus remote_write entries...), or to a one-element list (a list of such
mappings).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

ANY = None

# Tempo 3.0 "Configure Tempo": grafana/tempo docs/sources/tempo/configuration/_index.md
# (https://grafana.com/docs/tempo/v3.0.x/configuration/). Server keys are dskit's
# (server/server.go, which the doc refers to), log_level among them.
_TEMPO_COMPACTION = {
    key: ANY
    for key in (
        "block_retention", "compacted_block_retention", "compaction_window", "max_compaction_objects",
        "max_block_bytes", "retention_concurrency", "max_time_per_tenant", "compaction_cycle",
    )
}  # fmt: skip
TEMPO_KEYS: dict[str, Any] = {
    "target": ANY,
    "multitenancy_enabled": ANY,
    "http_api_prefix": ANY,
    "stream_over_http_enabled": ANY,
    "span_profiling": ANY,
    "server": {
        key: ANY
        for key in (
            "http_listen_address", "http_listen_port", "grpc_listen_address", "grpc_listen_port",
            "register_instrumentation", "graceful_shutdown_timeout", "http_server_read_timeout",
            "http_server_write_timeout", "http_server_idle_timeout", "grpc_server_max_recv_msg_size",
            "grpc_server_max_send_msg_size", "grpc_server_min_time_between_pings",
            "grpc_server_ping_without_stream_allowed", "log_level", "log_format",
        )
    },
    "memory": {"automemlimit_enabled": ANY, "automemlimit_ratio": ANY},
    "distributor": {
        key: ANY
        for key in (
            "ring", "receivers", "forwarders", "log_received_spans", "log_discarded_spans",
            "metric_received_spans", "retry_after_on_resource_exhausted", "max_attribute_bytes", "usage",
        )
    },
    "ingest": ANY,  # microservices mode only
    "block_builder": ANY,  # microservices mode only
    "live_store": {
        **{
            key: ANY
            for key in (
                "ring", "commit_interval", "flush_check_period", "flush_op_timeout", "max_trace_idle",
                "max_trace_live", "max_live_traces_bytes", "max_block_bytes", "max_block_duration",
                "query_block_concurrency", "complete_block_concurrency", "complete_block_timeout",
                "readiness_target_lag", "readiness_max_wait", "fail_on_high_lag", "remove_owner_on_shutdown",
                "shutdown_marker_dir", "partition_ring", "metrics",
            )
        },
        "wal": {"path": ANY},
    },
    "live_store_client": ANY,
    "metrics_generator": {
        "ring": ANY,
        "processor": {"service_graphs": ANY, "span_metrics": ANY, "host_info": ANY},
        "registry": {
            key: ANY
            for key in (
                "collection_interval", "stale_duration", "external_labels", "inject_tenant_id_as",
                "max_label_name_length", "max_label_value_length",
            )
        },
        "storage": {
            "path": ANY,
            "wal": ANY,
            "remote_write_flush_deadline": ANY,
            "remote_write_add_org_id_header": ANY,
            "remote_write": ANY,
        },
        **{
            key: ANY
            for key in (
                "limiter_type", "ring_mode", "codec", "ingest_concurrency", "instance_id",
                "metrics_ingestion_time_range_slack", "override_ring_key",
            )
        },
    },
    "query_frontend": ANY,
    "querier": {
        "max_concurrent_queries": ANY,
        "trace_by_id": ANY,
        "search": ANY,
        "metrics": ANY,
        "frontend_worker": {"frontend_address": ANY, "grpc_client_config": ANY},
        "partition_ring": ANY,
    },
    "backend_scheduler": {
        "work": ANY,
        "maintenance_interval": ANY,
        "backend_flush_interval": ANY,
        "provider": {
            "retention": ANY,
            "compaction": {
                "measure_interval": ANY,
                "compaction": _TEMPO_COMPACTION,
                "max_jobs_per_tenant": ANY,
                "min_input_blocks": ANY,
                "max_input_blocks": ANY,
                "max_compaction_level": ANY,
                "min_cycle_interval": ANY,
            },
            "redaction": ANY,
        },
        "job_timeout": ANY,
        "local_work_path": ANY,
    },
    "backend_scheduler_client": ANY,
    "backend_worker": {
        "backend_scheduler_addr": ANY,
        "backoff": ANY,
        "compaction": _TEMPO_COMPACTION,
        "override_ring_key": ANY,
        "ring": ANY,
        "finish_on_shutdown_timeout": ANY,
    },
    "storage": {
        "trace": {
            "backend": ANY,
            "local": {"path": ANY},
            "gcs": ANY,
            "s3": ANY,
            "azure": ANY,
            "wal": {"path": ANY, "ingestion_time_range_slack": ANY},
            "block": ANY,
            "search": ANY,
            "pool": ANY,
            **{key: ANY for key in ("blocklist_poll", "blocklist_poll_concurrency", "blocklist_poll_fallback")},
        }
    },
    "memberlist": ANY,
    "cache": ANY,
    "overrides": {
        "defaults": {
            "ingestion": ANY,
            "read": ANY,
            "compaction": ANY,
            "metrics_generator": {
                key: ANY
                for key in (
                    "ring_size", "processors", "max_active_series", "max_active_entities",
                    "max_cardinality_per_label", "collection_interval", "disable_collection",
                    "trace_id_label_name", "ingestion_time_range_slack", "generate_native_histograms",
                    "span_name_sanitization", "remote_write_headers", "native_histogram_bucket_factor",
                    "native_histogram_max_bucket_number", "native_histogram_min_reset_duration",
                    "forwarder", "processor",
                )
            },
            "forwarders": ANY,
            "global": ANY,
            "storage": ANY,
            "cost_attribution": ANY,
        },
        "per_tenant_override_config": ANY,
        "per_tenant_override_period": ANY,
        "enable_legacy_overrides": ANY,
        "user_configurable_overrides": ANY,
    },
    "usage_report": {"reporting_enabled": ANY},
}

# Removed in Tempo 3.0 ("Upgrade to Tempo 3.0" and the v3.0.0 release notes); 3.x refuses them.
TEMPO_REMOVED = ["ingester", "ingester_client", "compactor", "metrics_generator_client"]

# Loki 3.7: grafana/loki docs/sources/shared/configuration.md (https://grafana.com/docs/loki/v3.7.x/configure/),
# cmd/loki/loki-local-config.yaml, docs/sources/operations/storage/retention.md,
# docs/sources/send-data/otel/_index.md. Only the blocks this stack touches are spelled out.
LOKI_KEYS: dict[str, Any] = {
    "target": ANY,
    "auth_enabled": ANY,
    "ballast_bytes": ANY,
    "server": {
        key: ANY
        for key in (
            "http_listen_address", "http_listen_port", "grpc_listen_address", "grpc_listen_port",
            "log_level", "log_format", "grpc_server_max_concurrent_streams", "grpc_server_max_recv_msg_size",
            "grpc_server_max_send_msg_size", "http_server_read_timeout", "http_server_write_timeout",
            "http_server_idle_timeout", "register_instrumentation", "graceful_shutdown_timeout",
        )
    },
    "common": {
        "path_prefix": ANY,
        "storage": {"filesystem": {"chunks_directory": ANY, "rules_directory": ANY}, "s3": ANY, "gcs": ANY, "azure": ANY},
        "persist_tokens": ANY,
        "replication_factor": ANY,
        "ring": {"kvstore": {"store": ANY, "prefix": ANY}, "instance_addr": ANY, "instance_interface_names": ANY},
        "instance_addr": ANY,
        "instance_interface_names": ANY,
        "compactor_address": ANY,
    },
    "schema_config": {
        "configs": [
            {
                "from": ANY,
                "store": ANY,
                "object_store": ANY,
                "schema": ANY,
                "index": {"prefix": ANY, "period": ANY},
                "chunks": ANY,
                "row_shards": ANY,
            }
        ]
    },
    "storage_config": ANY,
    "compactor": {
        key: ANY
        for key in (
            "working_directory", "compaction_interval", "apply_retention_interval", "retention_enabled",
            "retention_delete_delay", "retention_delete_worker_count", "retention_table_timeout",
            "delete_request_store", "delete_request_store_key_prefix", "delete_batch_size",
            "delete_request_cancel_period", "delete_max_interval", "max_compaction_parallelism",
            "upload_parallelism", "compactor_ring",
        )
    },
    "limits_config": {
        key: ANY
        for key in (
            "retention_period", "retention_stream", "allow_structured_metadata", "otlp_config",
            "max_query_lookback", "per_tenant_override_config", "metric_aggregation_enabled",
            "split_queries_by_interval", "volume_enabled", "ingestion_rate_mb", "ingestion_burst_size_mb",
            "reject_old_samples", "reject_old_samples_max_age",
        )
    },
    "analytics": {"reporting_enabled": ANY, "usage_stats_url": ANY},
    **{
        block: ANY
        for block in (
            "ruler", "query_range", "frontend", "frontend_worker", "pattern_ingester", "ingester", "querier",
            "distributor", "query_scheduler", "ingester_client", "memberlist", "tracing", "runtime_config",
            "chunk_store_config", "index_gateway", "table_manager",
        )
    },
}


def unknown_keys(config: Any, allowed: Any, path: str = "") -> list[str]:
    """Dotted paths of every key in `config` that `allowed` does not list."""
    if allowed is ANY:
        return []
    if isinstance(allowed, list):
        assert isinstance(config, list), f"{path} should be a list"
        return [found for i, item in enumerate(config) for found in unknown_keys(item, allowed[0], f"{path}[{i}]")]
    assert isinstance(config, dict), f"{path} should be a mapping"
    found = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else key
        if key not in allowed:
            found.append(where)
        else:
            found.extend(unknown_keys(value, allowed[key], where))
    return found


@pytest.fixture(scope="module")
def tempo(repo_root) -> dict[str, Any]:
    return yaml.safe_load((repo_root / "tempo" / "tempo.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loki(repo_root) -> dict[str, Any]:
    return yaml.safe_load((repo_root / "loki" / "loki.yaml").read_text(encoding="utf-8"))


def test_tempo_uses_only_documented_keys(tempo):
    assert unknown_keys(tempo, TEMPO_KEYS) == []


def test_tempo_has_none_of_the_blocks_removed_in_3_0(tempo):
    assert not set(TEMPO_REMOVED) & set(tempo)
    # 2.x leftovers inside blocks that still exist.
    assert "traces_storage" not in tempo["metrics_generator"]
    assert "local_blocks" not in tempo["metrics_generator"].get("processor", {})
    assert "query_live_store" not in tempo.get("querier", {})


def test_key_check_catches_a_2x_block_and_a_typo(tempo):
    broken = dict(tempo, ingester={"max_block_duration": "5m"})
    broken["live_store"] = dict(tempo["live_store"], shutdown_marker_path="/x")
    assert unknown_keys(broken, TEMPO_KEYS) == ["live_store.shutdown_marker_path", "ingester"]


def test_tempo_receives_otlp_on_all_interfaces(tempo):
    protocols = tempo["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert tempo["server"]["http_listen_port"] == 3200


def test_tempo_keeps_everything_on_its_volume(tempo, services):
    volume_path = next(v.split(":")[1] for v in services["tempo"]["volumes"] if v.startswith("tempo-data:"))
    paths = [
        tempo["live_store"]["wal"]["path"],
        tempo["live_store"]["shutdown_marker_dir"],
        tempo["backend_scheduler"]["local_work_path"],
        tempo["metrics_generator"]["storage"]["path"],
        tempo["storage"]["trace"]["wal"]["path"],
        tempo["storage"]["trace"]["local"]["path"],
    ]
    assert all(path.startswith(volume_path + "/") for path in paths), paths
    assert tempo["storage"]["trace"]["backend"] == "local"


def test_tempo_runs_single_binary_workers_against_itself(tempo):
    own_grpc = f"127.0.0.1:{tempo['server']['grpc_listen_port']}"
    assert tempo["querier"]["frontend_worker"]["frontend_address"] == own_grpc
    assert tempo["backend_worker"]["backend_scheduler_addr"] == own_grpc


def test_tempo_metrics_generator_writes_service_graph_and_span_metrics_to_prometheus(tempo, services):
    (remote_write,) = tempo["metrics_generator"]["storage"]["remote_write"]
    assert remote_write == {"url": "http://prometheus:9090/api/v1/write", "send_exemplars": True}
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]
    generator = tempo["overrides"]["defaults"]["metrics_generator"]
    assert set(generator["processors"]) == {"service-graphs", "span-metrics"}
    # Same exemplar label as the app's own exemplars, so one Grafana trace link fits both.
    assert generator["trace_id_label_name"] == "trace_id"


def test_loki_uses_only_documented_keys(loki):
    assert unknown_keys(loki, LOKI_KEYS) == []


def test_loki_key_check_catches_a_typo(loki):
    broken = dict(loki, limits_config=dict(loki["limits_config"], retention_perid="24h"))
    assert unknown_keys(broken, LOKI_KEYS) == ["limits_config.retention_perid"]


def test_loki_uses_tsdb_schema_v13_with_a_daily_index(loki):
    (period,) = loki["schema_config"]["configs"]
    assert (period["store"], period["schema"], period["object_store"]) == ("tsdb", "v13", "filesystem")
    assert period["index"]["period"] == "24h"  # retention requires 24h


def test_loki_retention_is_on(loki):
    compactor = loki["compactor"]
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == "filesystem"  # required when retention is on
    hours = int(loki["limits_config"]["retention_period"].removesuffix("h"))
    assert hours >= 24  # Loki's minimum


def test_loki_accepts_otlp_with_structured_metadata_and_no_auth(loki):
    assert loki["auth_enabled"] is False
    assert loki["limits_config"]["allow_structured_metadata"] is True
    assert loki["server"]["http_listen_port"] == 3100


def test_loki_keeps_everything_on_its_volume(loki, services):
    volume_path = next(v.split(":")[1] for v in services["loki"]["volumes"] if v.startswith("loki-data:"))
    paths = [
        loki["common"]["path_prefix"],
        loki["common"]["storage"]["filesystem"]["chunks_directory"],
        loki["common"]["storage"]["filesystem"]["rules_directory"],
        loki["compactor"]["working_directory"],
    ]
    assert all(path == volume_path or path.startswith(volume_path + "/") for path in paths), paths
