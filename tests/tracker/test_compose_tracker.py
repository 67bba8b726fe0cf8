"""The compose tracker, checked without Docker: its services, and its settings run on the real Bugsink.

The official image copies Bugsink's docker settings template to `bugsink_conf.py` in its working
directory and runs `bugsink-manage` / gunicorn from there. Here the same template (from the
installed package, the release the image is pinned to) is rendered into a temporary directory
and driven with the environment compose gives the tracker services, so tracker/ is exercised
as compose would use it: Django's deploy checks, the refusal without secrets, the migration and
provisioning job, the template override.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stack.conftest import interpolate, parse_env_file

ROOT = Path(__file__).resolve().parents[2]
REPORTING = ("app", "llm-sim", "alert-sink")


@pytest.fixture(scope="module")
def env_values() -> dict[str, str]:
    return parse_env_file(ROOT / ".env")


@pytest.fixture(scope="module")
def services(env_values: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(interpolate((ROOT / "compose.yaml").read_text(encoding="utf-8"), env_values))["services"]


class TestComposeServices:
    """tracker-init provisions, tracker serves; the demo reports to it and does not wait for it."""

    def test_image_is_the_pypi_release_the_tests_run(self, env_values: dict[str, str]) -> None:
        pinned = re.search(r'"bugsink==([0-9.]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        assert pinned and env_values["BUGSINK_IMAGE"] == f"bugsink/bugsink:{pinned.group(1)}"

    def test_tracker_has_volume_health_check_and_loopback_port(self, services: dict[str, Any], env_values: dict[str, str]) -> None:
        tracker = services["tracker"]
        assert "tracker-data:/data" in tracker["volumes"] and "./tracker:/tracker:ro" in tracker["volumes"]
        assert "/health/ready" in tracker["healthcheck"]["test"][-1]
        assert tracker["ports"] == [f"127.0.0.1:{env_values['BUGSINK_PORT']}:8000"]
        assert tracker["depends_on"] == {"tracker-init": {"condition": "service_completed_successfully"}}
        assert tracker["environment"]["PHONEHOME"] == "false"

    def test_admin_password_and_secret_have_no_default(self, env_values: dict[str, str]) -> None:
        assert env_values["BUGSINK_ADMIN_PASSWORD"] == "" and env_values["BUGSINK_SECRET_KEY"] == ""

    def test_demo_services_report_to_the_tracker_without_depending_on_it(self, services: dict[str, Any], env_values: dict[str, str]) -> None:
        for name in REPORTING:
            env = services[name]["environment"]
            assert env["SENTRY_DSN"] == f"http://{env_values['BUGSINK_PROJECT_KEY']}@tracker:8000/1", name
            assert env["GRAFANA_URL"] == f"http://localhost:{env_values['GRAFANA_PORT']}"
            assert not {"tracker", "tracker-init"} & set(services[name].get("depends_on", {})), name


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory laid out like the image's: the docker settings template as bugsink_conf.py."""
    workdir = tmp_path_factory.mktemp("bugsink-image")
    template = importlib.resources.files("bugsink").joinpath("conf_templates/docker.py.template").read_text(encoding="utf-8")
    (workdir / "bugsink_conf.py").write_text(template, encoding="utf-8")
    return workdir


def _run(image_dir: Path, services: dict[str, Any], command: list[str], **env: str) -> subprocess.CompletedProcess:
    compose_env = {k: str(v) for k, v in services["tracker-init"]["environment"].items()}
    compose_env["PYTHONPATH"] = str(ROOT / "tracker")  # /tracker in the container
    env_file = parse_env_file(ROOT / ".env")  # the services' env_file, under their environment
    full = {**os.environ, **env_file, **compose_env, "DATABASE_PATH": str(image_dir / "db.sqlite3"), **env}
    return subprocess.run(command, cwd=image_dir, env=full, capture_output=True, text=True, timeout=300, check=False)


def _manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "bugsink.scripts.manage", *args]


_SECRET = secrets.token_urlsafe(50)
_PROVISION = "import runpy; runpy.run_path({path!r}, run_name='__main__')".format(path=str(ROOT / "tracker" / "provision.py"))


class TestComposeSettings:
    """tracker/bugsink_conf_compose.py on top of the image's settings, as compose runs it."""

    def test_deploy_checks_pass(self, image_dir: Path, services: dict[str, Any]) -> None:
        done = _run(image_dir, services, _manage("check", "--deploy", "--fail-level", "WARNING"), BUGSINK_SECRET_KEY=_SECRET)
        assert done.returncode == 0, done.stdout + done.stderr

    def test_empty_secret_key_is_refused_with_the_reason(self, image_dir: Path, services: dict[str, Any]) -> None:
        done = _run(image_dir, services, _manage("check"), BUGSINK_SECRET_KEY="")
        assert done.returncode != 0 and "BUGSINK_SECRET_KEY" in done.stderr

    def test_init_job_migrates_and_provisions_only_with_a_password(self, image_dir: Path, services: dict[str, Any], env_values: dict[str, str]) -> None:
        migrate = _run(image_dir, services, _manage("migrate", "--no-input", "-v", "0"), BUGSINK_SECRET_KEY=_SECRET)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        refused = _run(image_dir, services, _manage("shell", "-v", "0", "-c", _PROVISION), BUGSINK_SECRET_KEY=_SECRET, BUGSINK_ADMIN_PASSWORD="")
        assert refused.returncode != 0 and "BUGSINK_ADMIN_PASSWORD is not set" in refused.stderr
        done = _run(image_dir, services, _manage("shell", "-v", "0", "-c", _PROVISION), BUGSINK_SECRET_KEY=_SECRET, BUGSINK_ADMIN_PASSWORD="a-real-one")
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result == {"project_id": 1, "project_key": env_values["BUGSINK_PROJECT_KEY"], "admin": env_values["BUGSINK_ADMIN_EMAIL"]}

    def test_trace_link_template_comes_first(self, image_dir: Path, services: dict[str, Any]) -> None:
        code = "from django.template.loader import get_template; print(get_template('issues/base.html').origin.name)"
        done = _run(image_dir, services, _manage("shell", "-v", "0", "-c", code), BUGSINK_SECRET_KEY=_SECRET)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == str(ROOT / "tracker" / "templates" / "issues" / "base.html")


def test_overview_dashboard_links_to_the_tracker(env_values: dict[str, str]) -> None:
    overview = json.loads((ROOT / "grafana" / "dashboards" / "llm-overview.json").read_text(encoding="utf-8"))
    urls = {link["url"] for panel in overview["panels"] for link in panel.get("links", [])}
    assert f"http://localhost:{env_values['BUGSINK_PORT']}/" in urls
