"""compose.yaml: valid Compose, variables only, health checks, limits, loopback ports, mounts, ordering."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

ONE_SHOT = {"tempo-init", "tracker-init"}  # jobs that run to completion; a long-running service adopts each one
CONFIG_TARGETS = ("/etc/",)  # bind mounts below /etc are configuration and must be read-only


def _validate(check_jsonschema: str, path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [check_jsonschema, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def check_jsonschema(repo_root, require_tool):
    venv_tool = repo_root / ".venv" / "bin" / "check-jsonschema"
    return str(venv_tool) if venv_tool.exists() else require_tool("check-jsonschema")


def test_compose_file_is_valid_against_the_compose_spec(repo_root, check_jsonschema):
    done = _validate(check_jsonschema, repo_root / "compose.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_file_is_valid_after_substituting_env(compose, tmp_path, check_jsonschema):
    resolved = tmp_path / "compose.yaml"
    resolved.write_text(yaml.safe_dump(compose), encoding="utf-8")
    done = _validate(check_jsonschema, resolved)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validator_rejects_a_broken_compose_file(compose, tmp_path, check_jsonschema):
    broken = dict(compose, services=dict(compose["services"]))
    broken["services"]["app"] = dict(broken["services"]["app"], healthcheck={"test": ["CMD", "true"], "retires": 3})
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert _validate(check_jsonschema, path).returncode != 0


def test_compose_opens_with_what_it_is_and_how_to_run_it(repo_root):
    head = (repo_root / "compose.yaml").read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert head.startswith("#") and "make up" in head


def test_every_image_is_a_variable_from_env(compose_raw, env_values):
    for name, service in compose_raw["services"].items():
        match = re.fullmatch(r"\$\{([A-Z_]+)(:\?[^}]*)?\}", service["image"])
        assert match, f"{name}: image must be ${{VAR}} from .env, is {service['image']!r}"
        assert match.group(1) in env_values, f"{name}: {match.group(1)} is not in .env"


def test_every_variable_used_is_required_and_defined(repo_root, env_values):
    text = (repo_root / "compose.yaml").read_text(encoding="utf-8")
    used = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}", text)
    assert used
    for name, rest in used:
        assert rest.startswith(":?"), f"${{{name}}} should fail loudly when missing: ${{{name}:?message}}"
        assert name in env_values, f"{name} is used by compose.yaml but not set in .env"


def test_expected_services_exist(services):
    expected = {"prometheus", "alertmanager", "loki", "tempo", "grafana", "app", "llm-sim", "alert-sink", "traffic"}
    assert expected <= set(services)


def test_every_service_has_a_health_check_memory_limit_and_restart_policy(services):
    for name, service in services.items():
        assert service["deploy"]["resources"]["limits"]["memory"], f"{name}: no memory limit"
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name}: no health check"
        assert service["restart"] == "unless-stopped", f"{name}: restart policy"
        assert service["logging"]["driver"] == "json-file", f"{name}: shared logging anchor not applied"


def test_health_checks_use_tools_that_exist_in_each_image(services):
    # Loki 3.7 and Tempo 3.0 images are distroless (no shell, no wget): they check themselves.
    assert services["loki"]["healthcheck"]["test"] == ["CMD", "/usr/bin/loki", "-health"]
    assert services["tempo"]["healthcheck"]["test"] == ["CMD", "/tempo", "-health"]
    for name in ("prometheus", "alertmanager"):  # busybox images: wget, no curl
        assert services[name]["healthcheck"]["test"][:2] == ["CMD", "wget"]
    for name in ("app", "llm-sim", "alert-sink", "traffic"):  # our Python image: no curl either
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"] and "urllib.request" in test[3], name


def test_published_ports_are_bound_to_loopback_only(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port!r} is not 127.0.0.1-only"


def test_bind_mounts_exist_and_config_mounts_are_read_only(repo_root, compose):
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target, *options = volume.split(":")
            if source in named:
                continue
            assert source.startswith("./"), f"{name}: {volume} is neither a named volume nor a repo path"
            assert (repo_root / source).exists(), f"{name}: {source} does not exist in the repository"
            if target.startswith(CONFIG_TARGETS):
                assert options == ["ro"], f"{name}: config mount {volume} must be read-only"


def test_data_that_must_survive_a_restart_is_on_named_volumes(compose):
    expected = {
        "prometheus": "/prometheus",
        "alertmanager": "/alertmanager",
        "loki": "/loki",
        "tempo": "/var/tempo",
        "grafana": "/var/lib/grafana",
    }
    named = set(compose["volumes"])
    for name, path in expected.items():
        sources = {volume.split(":")[1]: volume.split(":")[0] for volume in compose["services"][name]["volumes"]}
        assert sources.get(path) in named, f"{name}: {path} is not on a named volume"


def test_depends_on_waits_for_healthy_services_and_completed_jobs(services):
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if dependency in ONE_SHOT:
                assert spec["condition"] == "service_completed_successfully"
            else:
                assert spec["condition"] == "service_healthy", f"{name} -> {dependency}"
                assert "test" in services[dependency].get("healthcheck", {}), f"{dependency} has no health check"


def test_each_one_shot_job_is_adopted_by_a_long_running_service(services):
    # `docker compose up --wait` treats an exited container as a failure unless a running
    # service depends on it with service_completed_successfully.
    for job in ONE_SHOT:
        adopters = [name for name, service in services.items() if job in service.get("depends_on", {})]
        assert adopters, f"{job} is not adopted by any service"


def test_prometheus_flags(services, env_values):
    command = services["prometheus"]["command"]
    for flag in (
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        "--web.enable-lifecycle",
        "--web.enable-remote-write-receiver",
        "--enable-feature=exemplar-storage",
        "--web.enable-otlp-receiver",
    ):
        assert flag in command, flag
    assert any(flag.startswith("--storage.tsdb.retention.time=") for flag in command)
    # --web.enable-otlp-receiver is a fatal unknown flag before Prometheus 3.
    assert env_values["PROMETHEUS_IMAGE"].rpartition(":v")[2].split(".")[0] >= "3"


def test_instrumented_services_export_to_tempo_and_loki(services):
    expected = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://tempo:4318/v1/traces",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://loki:3100/otlp/v1/logs",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "HOST": "0.0.0.0",
    }
    for name, service_name in (("app", "demo-app"), ("llm-sim", "llm-sim")):
        environment = services[name]["environment"]
        assert environment["OTEL_SERVICE_NAME"] == service_name
        for key, value in expected.items():
            assert environment[key] == value, f"{name}: {key}"
    assert services["app"]["environment"]["LLM_BASE_URL"] == "http://llm-sim:8081/v1"


def test_traffic_runs_the_load_generator_against_the_app(services):
    assert services["traffic"]["command"] == [
        "python", "-m", "demo_app.loadgen", "traffic",
        "--app-url", "http://app:8000", "--rate", "1", "--duration", "3600",
    ]  # fmt: skip
    assert services["traffic"]["restart"] == "unless-stopped"


def test_grafana_is_anonymous_viewer_without_default_admin_or_sign_up(services, env_values):
    environment = services["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == env_values["GF_ADMIN_PASSWORD"] != "admin"


def test_grafana_home_dashboard_is_the_llm_overview(repo_root, services):
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services["grafana"]["volumes"]}
    folder = next(target for target in mounts if home.startswith(target + "/"))
    local = repo_root / mounts[folder] / home[len(folder) + 1 :]
    assert local.name == "llm-overview.json" and local.exists()


def test_config_files_named_on_command_lines_exist_in_the_repo(repo_root, services):
    checked = 0
    for name, service in services.items():
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", []) if v.startswith("./")}
        for arg in service.get("command", []):
            if not re.match(r"-{1,2}config\.file=", arg):
                continue
            container_path = arg.split("=", 1)[1]
            target = next(t for t in mounts if container_path == t or container_path.startswith(t + "/"))
            local = repo_root / mounts[target] / container_path[len(target) :].lstrip("/")
            assert local.is_file(), f"{name}: {container_path} -> {local} does not exist"
            checked += 1
    assert checked == 4  # prometheus, alertmanager, loki, tempo
