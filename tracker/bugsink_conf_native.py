"""Bugsink settings for native mode and the tracker tests (demo_app/native/tracker.py sets the environment).

Bugsink's own defaults, with: SQLite files in BUGSINK_DATA_DIR, events digested in the ingest
request (no separate snappea worker process), no e-mail, no phone-home (nothing leaves the
machine), single user and team (the mode Bugsink's own `local` template describes), and
tracker/templates ahead of Bugsink's templates (the "Open the trace in Grafana" link).
"""

import os
from pathlib import Path

from bugsink.settings.default import *  # noqa: F403 - a Django settings module extends the defaults this way
from bugsink.settings.default import DATABASES, TEMPLATES

_DATA = Path(os.environ["BUGSINK_DATA_DIR"])

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "UTC"

DATABASES["default"]["NAME"] = str(_DATA / "db.sqlite3")
DATABASES["snappea"]["NAME"] = str(_DATA / "snappea.sqlite3")
SNAPPEA = {"TASK_ALWAYS_EAGER": True}
EMAIL_BACKEND = "bugsink.email_backends.QuietConsoleEmailBackend"

BUGSINK = {
    "BASE_URL": os.environ["BASE_URL"],
    "SITE_TITLE": "Bugsink (llm-obs-stack)",
    "SINGLE_USER": True,
    "SINGLE_TEAM": True,
    "USER_REGISTRATION": "CB_NOBODY",
    "PHONEHOME": False,
}

TEMPLATES[0]["DIRS"].insert(0, Path(__file__).resolve().parent / "templates")
