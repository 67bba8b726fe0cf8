"""Config safety: no default or literal credentials in the stack's files, and nothing runs as root that need not.

Complements tests/stack/, which already checks the Grafana admin settings, `${VAR:?}`
references, the Dockerfile's USER, image pins, ports and health checks. These tests read every
service of compose.yaml and every YAML config a user copies, and look for what an attacker or
an auditor would look for first: secrets written in, basic auth, real-looking keys, root,
privileged containers, the Docker socket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

# Setting names that hold a secret: the name ends in one of these words, snake_case or camelCase
# (GF_SECURITY_ADMIN_PASSWORD, client_secret, basicAuthPassword; not gen_ai_token_type).
SECRET_KEY = re.compile(
    r"(?i:(^|[_.-])(password|passwd|secret|token|api_?key|credentials?)$)|[a-z0-9](Password|Passwd|Secret|Token|ApiKey|Credentials?)$"
)
# A value that only refers to the environment without a fallback: ${VAR} or ${VAR:?message}.
ENV_REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$")
REAL_LOOKING_KEY = re.compile(r"sk-(proj-|svcacct-)?[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,}")
CONFIG_GLOBS = ("compose.yaml", ".env", "grafana/**/*.yaml", "grafana/**/*.yml", "prometheus/**/*.yml",
                "alertmanager/**/*.yml", "loki/*.yaml", "tempo/*.yaml", "demo_app/Dockerfile")


def _compose(root: Path) -> dict:
    return yaml.safe_load((root / "compose.yaml").read_text())


def _walk(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key path, value) for every scalar in a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")
    else:
        yield path, node


def _config_files(root: Path) -> list[Path]:
    return sorted({p for pattern in CONFIG_GLOBS for p in root.glob(pattern) if p.is_file()})


def test_no_literal_secret_in_compose_environment(repo_root):
    offenders = []
    for name, service in _compose(repo_root)["services"].items():
        env = service.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env if "=" in e)
        for key, value in items:
            if SECRET_KEY.search(key) and not ENV_REFERENCE.match(str(value)):
                offenders.append(f"{name}.{key}={value!r}")
    assert not offenders, f"secrets must come from .env without a fallback default: {offenders}"


def test_no_credentials_in_copied_configs(repo_root):
    """Datasources, scrape/alerting configs, Loki/Tempo: no password, token or basic auth written in."""
    checked, offenders = 0, []
    for path in _config_files(repo_root):
        if path.suffix not in (".yaml", ".yml") or path.name == "compose.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            for key, value in _walk(doc):
                checked += 1
                leaf = key.rsplit(".", 1)[-1]
                if SECRET_KEY.search(leaf) and value not in (None, "", False) and not ENV_REFERENCE.match(str(value)):
                    offenders.append(f"{path.relative_to(repo_root)}: {key}")
                if leaf in ("basicAuth", "basic_auth") and value:
                    offenders.append(f"{path.relative_to(repo_root)}: {key}")
    assert checked > 50, "found almost nothing to check: did the config layout change?"
    assert not offenders, offenders


def test_no_real_looking_api_key_in_any_config(repo_root):
    files = _config_files(repo_root)
    assert len(files) >= 5
    hits = [str(p.relative_to(repo_root)) for p in files if REAL_LOOKING_KEY.search(p.read_text(errors="replace"))]
    assert not hits, f"API-key-like strings in {hits}"


def test_long_running_services_are_not_root_or_privileged(repo_root):
    """Only one-shot jobs (restart: "no", e.g. the volume chown) may run as root; nothing is privileged."""
    problems = []
    for name, service in _compose(repo_root)["services"].items():
        user = str(service.get("user", "")).split(":")[0]
        one_shot = str(service.get("restart", "")) == "no"
        if user in ("0", "root") and not one_shot:
            problems.append(f"{name} runs as root")
        if service.get("privileged"):
            problems.append(f"{name} is privileged")
        if service.get("network_mode") == "host" or service.get("pid") == "host":
            problems.append(f"{name} shares the host's network or pid namespace")
        for volume in service.get("volumes") or []:
            if "docker.sock" in str(volume):
                problems.append(f"{name} mounts the Docker socket")
        if service.get("cap_add"):
            problems.append(f"{name} adds capabilities {service['cap_add']}")
    assert not problems, problems
