"""Derive native-mode Prometheus and Alertmanager configs from the compose ones, never by hand.

Only addresses change: a scrape target, the Alertmanager target or a webhook URL that
names a compose service (`app:8000`) is pointed at the native process (`127.0.0.1:PORT`);
targets of services that do not run natively (Loki, Tempo, Grafana) are dropped, and a
job left without targets goes with them; rule file and template paths become absolute
paths to the same files in the repository; the runbook base URL (external label
`runbook_base_url`), when it is the alert receiver published on this machine
(`http://localhost:8082/runbooks`), points at the native receiver, so every alert's
runbook_url opens. Everything else - intervals, rule files,
routes, receivers, inhibition rules - is carried over untouched, so the native stack
alerts exactly as the compose stack does.
"""

from __future__ import annotations

import copy
import glob
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

__all__ = ["ABSENT_SERVICES", "RUNBOOK_LABEL", "Rewrite", "render_prometheus", "render_alertmanager", "resolve_repo_path", "write_yaml"]

# Compose services that have no native counterpart (no Debian package, see stack-facts).
ABSENT_SERVICES = frozenset({"loki", "tempo", "grafana"})
# Hosts that mean "this container itself" in a target; only Prometheus scrapes itself.
_SELF_HOSTS = frozenset({"localhost", "127.0.0.1"})
# External label the alert rules build every runbook_url from (prometheus/rules/*.yml).
RUNBOOK_LABEL = "runbook_base_url"
# The service that serves the runbooks in the demo (`GET /runbooks`).
_RUNBOOK_SERVICE = "alert-sink"


@dataclass
class Rewrite:
    """What was changed, for the log and for the tests that check nothing else was."""

    targets: dict[str, str] = field(default_factory=dict)  # old -> new
    dropped_targets: list[str] = field(default_factory=list)
    dropped_jobs: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # old -> absolute
    urls: dict[str, str] = field(default_factory=dict)  # old -> new


def resolve_repo_path(pattern: str, base_dir: Path) -> str:
    """Absolute path (glob kept) of `pattern` as found under `base_dir`.

    A container path such as `/etc/prometheus/rules/*.yml` is matched by its longest
    suffix that exists under `base_dir` (`rules/*.yml`), which is how compose mounts the
    folder. A pattern that matches nothing is an error: a silently empty rule set would
    make every alert test pass for the wrong reason.
    """
    parts = PurePosixPath(pattern).parts
    if parts and parts[0] == "/":
        parts = parts[1:]
    # A glob keeps its folder: `*.yml` alone would also match prometheus.yml itself.
    keep = 2 if len(parts) >= 2 and any(ch in parts[-1] for ch in "*?[") else 1
    for start in range(len(parts) - keep + 1):
        candidate = base_dir.resolve().joinpath(*parts[start:])
        if glob.glob(str(candidate)):
            return str(candidate)
    raise FileNotFoundError(f"{pattern!r} matches no file under {base_dir}")


def _split_target(target: str) -> tuple[str, str]:
    host, _, port = target.rpartition(":")
    return (host, port) if host else (target, "")


def _rewrite_target(target: str, addresses: Mapping[str, str], self_service: str | None) -> str | None:
    """New address for a `host:port` target; None to drop it. Unknown hosts are an error."""
    host, _ = _split_target(target)
    if host in _SELF_HOSTS and self_service:
        host = self_service
    if host in addresses:
        return addresses[host]
    if host in ABSENT_SERVICES:
        return None
    raise ValueError(f"target {target!r} names no known service (known: {', '.join(sorted(addresses))}; absent: {', '.join(sorted(ABSENT_SERVICES))})")


def _rewrite_static(static_configs: list[dict], addresses: Mapping[str, str], self_service: str | None, rw: Rewrite) -> list[dict]:
    kept = []
    for sc in static_configs:
        new_targets = []
        for target in sc.get("targets", []):
            new = _rewrite_target(target, addresses, self_service)
            if new is None:
                rw.dropped_targets.append(target)
            else:
                rw.targets[target] = new
                new_targets.append(new)
        if new_targets:
            kept.append({**sc, "targets": new_targets})
    return kept


def _rewrite_url(url: str, addresses: Mapping[str, str], rw: Rewrite) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in addresses:
        new = urlunsplit(parts._replace(netloc=addresses[host]))
        rw.urls[url] = new
        return new
    if host in ABSENT_SERVICES:
        return None
    return url  # an outside URL (none in this repo) is left as it is


def _rewrite_runbook_base(cfg: dict[str, Any], addresses: Mapping[str, str], rw: Rewrite) -> None:
    """Point a runbook base URL on this machine (compose publishes the receiver there) at the native receiver.

    A URL on another host (a team's own runbook site) is left as it is.
    """
    labels = (cfg.get("global") or {}).get("external_labels") or {}
    base = labels.get(RUNBOOK_LABEL)
    if not base or _RUNBOOK_SERVICE not in addresses:
        return
    parts = urlsplit(base)
    if parts.hostname in _SELF_HOSTS:
        new = urlunsplit(parts._replace(netloc=addresses[_RUNBOOK_SERVICE]))
        labels[RUNBOOK_LABEL] = new
        rw.urls[base] = new


def render_prometheus(src: Path, addresses: Mapping[str, str], *, self_service: str = "prometheus") -> tuple[dict[str, Any], Rewrite]:
    """The native prometheus.yml (as a dict) from the compose one at `src`.

    `addresses` maps compose service names (`app`, `llm-sim`, `alertmanager`, ...) to the
    native `host:port`. Returns the config and what was rewritten.
    """
    raw = yaml.safe_load(Path(src).read_text(encoding="utf-8"))
    cfg = copy.deepcopy(raw)
    rw = Rewrite()
    base = Path(src).resolve().parent

    if cfg.get("rule_files"):
        new_files = []
        for pattern in cfg["rule_files"]:
            new_files.append(resolve_repo_path(pattern, base))
            rw.paths[pattern] = new_files[-1]
        cfg["rule_files"] = new_files

    jobs = []
    for job in cfg.get("scrape_configs") or []:
        if "static_configs" not in job:
            raise ValueError(f"scrape job {job.get('job_name')!r} uses service discovery; native mode only rewrites static_configs")
        job = {**job, "static_configs": _rewrite_static(job["static_configs"], addresses, self_service, rw)}
        if job["static_configs"]:
            jobs.append(job)
        else:
            rw.dropped_jobs.append(job["job_name"])
    cfg["scrape_configs"] = jobs

    for am in (cfg.get("alerting") or {}).get("alertmanagers") or []:
        if "static_configs" in am:
            am["static_configs"] = _rewrite_static(am["static_configs"], addresses, None, rw)

    _rewrite_runbook_base(cfg, addresses, rw)

    if cfg.get("remote_write"):
        kept_writes = []
        for write in cfg["remote_write"]:
            new_url = _rewrite_url(write["url"], addresses, rw)
            if new_url is not None:
                kept_writes.append({**write, "url": new_url})
        if kept_writes:
            cfg["remote_write"] = kept_writes
        else:
            del cfg["remote_write"]
    return cfg, rw


def render_alertmanager(src: Path, addresses: Mapping[str, str]) -> tuple[dict[str, Any], Rewrite]:
    """The native alertmanager.yml (as a dict): webhook URLs and template paths rewritten, routes untouched."""
    raw = yaml.safe_load(Path(src).read_text(encoding="utf-8"))
    cfg = copy.deepcopy(raw)
    rw = Rewrite()
    base = Path(src).resolve().parent
    if cfg.get("templates"):
        cfg["templates"] = [rw.paths.setdefault(t, resolve_repo_path(t, base)) for t in cfg["templates"]]
    for receiver in cfg.get("receivers") or []:
        for hook in receiver.get("webhook_configs") or []:
            if "url" in hook:
                new = _rewrite_url(hook["url"], addresses, rw)
                if new is None:
                    raise ValueError(f"receiver {receiver['name']!r} posts to {hook['url']}, a service with no native counterpart")
                hook["url"] = new
    return cfg, rw


def write_yaml(path: Path, cfg: Mapping[str, Any], source: Path) -> None:
    """Write a generated config with a header that says where it came from."""
    header = f"# GENERATED by `python -m demo_app.native` from {source} - do not edit; edit the source.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(dict(cfg), sort_keys=False), encoding="utf-8")
