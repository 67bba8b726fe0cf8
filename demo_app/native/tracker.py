"""The error tracker in native mode: the real Bugsink, from the venv (PyPI `bugsink`), on 127.0.0.1.

Start-up, the same steps as the compose `tracker-init` + `tracker` services:
  1. settings tracker/bugsink_conf_native.py, SQLite under <state-dir>/tracker/;
  2. `bugsink-manage migrate` (both databases; ~10 s on a fresh directory, nothing after);
  3. tracker/provision.py: admin, team, project with a known DSN key, a read token for the API;
  4. gunicorn serving bugsink.wsgi, ready when /health/ready answers.
The admin password, DSN key, API token and Django secret are made here once per state
directory and kept in <state-dir>/tracker/credentials.json (mode 0600), so a stack restarted
on the same directory finds its data and logins again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from demo_app.procs import Proc, ToolMissing, start_process

__all__ = ["TrackerInfo", "tracker_installed", "start_tracker", "TRACKER_DIR"]

TRACKER_DIR = Path(__file__).resolve().parents[2] / "tracker"  # provision.py, settings, templates
_CREDENTIALS = "credentials.json"
_ADMIN_EMAIL = "admin@example.com"  # a login name (Bugsink wants an e-mail address); no mail is sent
_PROJECT_ID = 1


@dataclass(frozen=True)
class TrackerInfo:
    """Where the tracker answers and how to reach it."""

    url: str
    dsn: str
    api_token: str
    admin_email: str
    credentials_file: Path

    def api(self, path: str) -> str:
        """URL of Bugsink's REST API path (`issues/?project=1`)."""
        return f"{self.url}/api/canonical/0/{path.lstrip('/')}"


def tracker_installed() -> bool:
    """True when the `bugsink` package is importable (it is in the test extra of pyproject.toml)."""
    return importlib.util.find_spec("bugsink") is not None


def _credentials(data_dir: Path) -> dict[str, str]:
    path = data_dir / _CREDENTIALS
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    creds = {
        "admin_email": _ADMIN_EMAIL,
        "admin_password": secrets.token_urlsafe(18),
        "project_key": secrets.token_hex(16),
        "api_token": secrets.token_hex(20),
        "secret_key": secrets.token_urlsafe(50),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(creds, indent=2) + "\n", encoding="utf-8")
    return creds


def _manage(args: list[str], env: Mapping[str, str], data_dir: Path, timeout: float) -> str:
    """Run `bugsink-manage ARGS` with these settings; stdout, or RuntimeError with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "bugsink.scripts.manage", *args],
        cwd=data_dir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bugsink-manage {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def start_tracker(state_dir: Path, port: int, log_dir: Path, *, timeout: float = 120.0) -> tuple[Proc, TrackerInfo]:
    """Migrate, provision and start Bugsink on 127.0.0.1:`port`; the process and its DSN."""
    if not tracker_installed():
        raise ToolMissing("the error tracker needs the `bugsink` package: make venv installs it (test extra)")
    data_dir = state_dir / "tracker"
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = _credentials(data_dir)
    url = f"http://127.0.0.1:{port}"
    env = {
        "DJANGO_SETTINGS_MODULE": "bugsink_conf_native",
        "PYTHONPATH": os.pathsep.join(p for p in (str(TRACKER_DIR), os.environ.get("PYTHONPATH", "")) if p),
        "BUGSINK_DATA_DIR": str(data_dir),
        "SECRET_KEY": creds["secret_key"],
        "BASE_URL": url,
        "BUGSINK_ADMIN_EMAIL": creds["admin_email"],
        "BUGSINK_ADMIN_PASSWORD": creds["admin_password"],
        "BUGSINK_PROJECT_KEY": creds["project_key"],
        "BUGSINK_PROJECT_ID": str(_PROJECT_ID),
        "BUGSINK_API_TOKEN": creds["api_token"],
        "PYTHONUNBUFFERED": "1",
    }
    _manage(["migrate", "--no-input", "-v", "0"], env, data_dir, timeout)
    _manage(["migrate", "snappea", "--database=snappea", "--no-input", "-v", "0"], env, data_dir, timeout)
    provision = TRACKER_DIR / "provision.py"
    _manage(["shell", "-v", "0", "-c", f"import runpy; runpy.run_path({str(provision)!r}, run_name='__main__')"], env, data_dir, timeout)
    argv = [
        sys.executable, "-m", "gunicorn",
        f"--bind=127.0.0.1:{port}",
        "--workers=1", "--threads=4",  # one process: SQLite has one writer anyway
        "--timeout=30",
        f"--chdir={data_dir}",
        "--access-logfile=-",
        "bugsink.wsgi",
    ]  # fmt: skip
    proc = start_process("tracker", argv, log_dir, env=env, ready_url=f"{url}/health/ready", url=url, port=port, timeout=timeout)
    info = TrackerInfo(
        url=url,
        dsn=f"http://{creds['project_key']}@127.0.0.1:{port}/{_PROJECT_ID}",
        api_token=creds["api_token"],
        admin_email=creds["admin_email"],
        credentials_file=data_dir / _CREDENTIALS,
    )
    return proc, info
