"""Fixtures of the tracker tests: a native stack with the real error tracker (Bugsink) and its API.

`tracker_stack` starts one native stack per test module with `tracker=True`: Bugsink from the
venv, migrated and provisioned, with the app, simulator and receiver reporting to it through
sentry-sdk (SENTRY_DSN). The simulator answers at once (latency scale 0): these tests are
about events, not latency. A missing `bugsink` package fails the tests, never skips them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo_app.native import NativeStack
from demo_app.native.tracker import tracker_installed
from demo_app.procs import poll_until

# What a caller plants in a question: none of it may reach the tracker.
SECRETS = {
    "api_key": "sk-live-Zx81QwErTy55abcd",
    "email": "dana.secret@example.org",
    "card": "4242 4242 4242 4242",
}
SENTRY_QUEUE_SIZE = 10  # the app's SDK queue in these stacks (the default is 100)
PLANTED_QUESTION = f"my key is {SECRETS['api_key']}, mail {SECRETS['email']}, card {SECRETS['card']}: why is the sky blue?"


class TrackerApi:
    """Read Bugsink back through its REST API (/api/canonical/0/), with the provisioned token."""

    def __init__(self, stack: NativeStack) -> None:
        assert stack.tracker is not None
        self.info = stack.tracker
        self._client = httpx.Client(headers={"Authorization": f"Bearer {self.info.api_token}"}, timeout=10.0)

    def close(self) -> None:
        self._client.close()

    def get(self, path: str) -> Any:
        response = self._client.get(self.info.api(path))
        response.raise_for_status()
        return response.json()

    def issues(self) -> list[dict[str, Any]]:
        return self.get("issues/?project=1")["results"]

    def events(self, issue_id: str) -> list[dict[str, Any]]:
        """Every event of an issue, in full (the list leaves the payload out)."""
        listed = self.get(f"events/?issue={issue_id}")["results"]
        return [self.get(f"events/{e['id']}/") for e in listed]

    def event_with_tag(self, key: str, value: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first event whose tag `key` is `value` (polled: digestion follows ingestion)."""

        def find() -> dict[str, Any] | None:
            for issue in self.issues():
                for event in self.events(issue["id"]):
                    if (event["data"].get("tags") or {}).get(key) == value:
                        return {**event, "issue": issue}
            return None

        return poll_until(find, f"a tracker event tagged {key}={value}", timeout)

    def logged_in_client(self) -> httpx.Client:
        """A browser-like session logged in as the provisioned admin (for the HTML pages)."""
        import json

        creds = json.loads(self.info.credentials_file.read_text(encoding="utf-8"))
        client = httpx.Client(base_url=self.info.url, timeout=10.0, follow_redirects=True)
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, "no CSRF token on Bugsink's login page"
        done = client.post(
            "/accounts/login/",
            data={"username": creds["admin_email"], "password": creds["admin_password"], "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{self.info.url}/accounts/login/"},
        )
        assert "accounts/login" not in str(done.url), "the provisioned admin could not log in"
        return client


@pytest.fixture(scope="module")
def tracker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    if not tracker_installed():
        pytest.fail("the `bugsink` package is missing: `make venv` installs it from requirements/test.txt", pytrace=False)
    # One attempt per request, no fallback: a failing request fails at once (these tests send
    # many). A small SDK queue, so the tracker-down test fills it with a few dozen requests.
    app_env = {"LLM_MAX_RETRIES": "0", "LLM_FALLBACK_ENABLED": "false", "SENTRY_QUEUE_SIZE": str(SENTRY_QUEUE_SIZE)}
    # Debug logs for the other reporters: their "telemetry ready" line says whether the SDK started.
    env = {"app": app_env, "llm-sim": {"LOG_LEVEL": "debug"}, "alert-sink": {"LOG_LEVEL": "debug"}}
    with NativeStack(tmp_path_factory.mktemp("tracker"), latency_scale=0.0, seed=11, tracker=True, env=env) as stack:
        yield stack


@pytest.fixture(scope="module")
def tracker_api(tracker_stack: NativeStack) -> Iterator[TrackerApi]:
    api = TrackerApi(tracker_stack)
    yield api
    api.close()  # an open keep-alive connection would hold up gunicorn's graceful stop
