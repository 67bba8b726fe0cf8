"""Bugsink settings in compose: the official image's own settings, plus the Grafana trace link.

The image's `bugsink_conf` (its docker template, configured by environment variables: SECRET_KEY,
BASE_URL, PHONEHOME, ...) stays in charge; this module only puts tracker/templates (mounted at
/tracker) ahead of Bugsink's templates. compose.yaml selects it with
DJANGO_SETTINGS_MODULE=bugsink_conf_compose and PYTHONPATH=/tracker; Bugsink's manage script and
gunicorn both find the image's module in their working directory.
"""

from pathlib import Path

from bugsink_conf import *  # noqa: F403 - the image's settings module, extended as Django settings are
from bugsink_conf import TEMPLATES

TEMPLATES[0]["DIRS"].insert(0, Path(__file__).resolve().parent / "templates")
