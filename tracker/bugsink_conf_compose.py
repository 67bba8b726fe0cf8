"""Bugsink settings in compose: the official image's own settings, plus what this stack needs.

The image's `bugsink_conf` (its docker template, configured by environment variables: BASE_URL,
ALLOWED_HOSTS, PORT, ...) stays in charge; this module adds:
  - SECRET_KEY from BUGSINK_SECRET_KEY in .env, refused when empty (no default secret);
  - no phone-home: nothing leaves the machine;
  - tracker/templates (mounted at /tracker) ahead of Bugsink's templates: the "Open the trace
    in Grafana" link on issue pages.
compose.yaml selects it with DJANGO_SETTINGS_MODULE=bugsink_conf_compose and PYTHONPATH=/tracker;
Bugsink's manage script and gunicorn both find the image's module in their working directory.
"""

import os
from pathlib import Path

from bugsink_conf import *  # noqa: F403 - the image's settings module, extended as Django settings are
from bugsink_conf import BUGSINK, TEMPLATES
from django.core.exceptions import ImproperlyConfigured

SECRET_KEY = os.environ.get("BUGSINK_SECRET_KEY", "").strip()
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "BUGSINK_SECRET_KEY in .env is empty or shorter than 50 characters; set it, e.g. to the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

BUGSINK["PHONEHOME"] = False

TEMPLATES[0]["DIRS"].insert(0, Path(__file__).resolve().parent / "templates")
