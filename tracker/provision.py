"""Provision Bugsink for llm-obs-stack: the admin, a team, the project and its DSN, so events flow with no clicking.

Runs inside Bugsink's own Django setup, in compose (the `tracker-init` service) and in native
mode alike:

    bugsink-manage shell -c "import runpy; runpy.run_path('tracker/provision.py', run_name='__main__')"

Environment (compose takes it from .env; native mode generates it):
  BUGSINK_ADMIN_EMAIL      the admin's login (an e-mail address; required)
  BUGSINK_ADMIN_PASSWORD   the admin's password (required, no default: refused when empty)
  BUGSINK_PROJECT_KEY      the DSN's public key, 32 hex characters (required)
  BUGSINK_PROJECT_ID       the project id in the DSN (default 1)
  BUGSINK_PROJECT_NAME     (default llm-obs-stack)
  BUGSINK_API_TOKEN        optional, 40 hex characters: a read token for Bugsink's API
                           (/api/canonical/0/...), which the tracker tests use

Idempotent: a second run changes nothing, except that the project's key follows
BUGSINK_PROJECT_KEY (so .env stays the one place the DSN is written). An existing admin
keeps the password it has (change it in Bugsink's UI or with `bugsink-manage changepassword`).
Prints one JSON line: {"project_id", "project_key", "admin"}.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid


def _required(name: str, pattern: str | None = None) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        sys.exit(f"provision: {name} is not set; put it in .env (see README, 'Error tracker')")
    if pattern and not re.fullmatch(pattern, value):
        sys.exit(f"provision: {name} must match {pattern}")
    return value


def main() -> None:
    # Imported here: this file is read by Bugsink's `manage.py shell`, where Django is set up.
    from bsmain.models import AuthToken
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from projects.models import Project, ProjectMembership, ProjectRole
    from teams.models import Team, TeamMembership, TeamRole

    email = _required("BUGSINK_ADMIN_EMAIL")
    password = _required("BUGSINK_ADMIN_PASSWORD")
    key = uuid.UUID(_required("BUGSINK_PROJECT_KEY", r"[0-9a-fA-F]{32}"))
    project_id = int(os.environ.get("BUGSINK_PROJECT_ID", "1"))
    name = os.environ.get("BUGSINK_PROJECT_NAME", "llm-obs-stack")
    token = os.environ.get("BUGSINK_API_TOKEN", "").strip()
    if token and not re.fullmatch(r"[0-9a-f]{40}", token):
        sys.exit("provision: BUGSINK_API_TOKEN must be 40 lower-case hex characters")

    user_model = get_user_model()
    with transaction.atomic():
        admin = user_model.objects.filter(username=email).first()
        if admin is None:
            admin = user_model.objects.create_superuser(username=email, email=email, password=password)
        team, _ = Team.objects.get_or_create(name=name)
        TeamMembership.objects.get_or_create(team=team, user=admin, defaults={"role": TeamRole.ADMIN, "accepted": True})
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            project = Project.objects.create(pk=project_id, name=name, team=team, sentry_key=key)
        elif project.sentry_key != key:
            project.sentry_key = key
            project.save(update_fields=["sentry_key"])
        ProjectMembership.objects.get_or_create(project=project, user=admin, defaults={"role": ProjectRole.ADMIN, "accepted": True})
        if token and not AuthToken.objects.filter(token=token).exists():
            AuthToken.create_full_access(token=token, description="llm-obs-stack tests and scripts")
    print(json.dumps({"project_id": project.pk, "project_key": key.hex, "admin": email}))


if __name__ == "__main__":
    main()
