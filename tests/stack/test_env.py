"""The .env file pins every image to an exact release and holds a non-default Grafana password."""

from __future__ import annotations

import re

# An exact release: v3.15.0, 13.2.3, 3.11.17-slim-bookworm. Not `latest`, not `3` or `3.7`.
EXACT_TAG = re.compile(r"v?\d+\.\d+\.\d+(-[a-z0-9][a-z0-9.-]*)?")

# (variable, image repository, required major version prefix) - what the brief pins.
EXPECTED = [
    ("GRAFANA_IMAGE", "grafana/grafana", "13."),
    ("PROMETHEUS_IMAGE", "prom/prometheus", "v3."),
    ("ALERTMANAGER_IMAGE", "prom/alertmanager", "v0.3"),
    ("LOKI_IMAGE", "grafana/loki", "3."),
    ("TEMPO_IMAGE", "grafana/tempo", "3.0."),
    ("PYTHON_BASE_IMAGE", "python", "3.11."),
]


def test_every_image_is_pinned_to_an_exact_release(env_values):
    images = {key: value for key, value in env_values.items() if key.endswith("_IMAGE") and key != "DEMO_APP_IMAGE"}
    assert images, "no *_IMAGE variables in .env"
    for key, image in images.items():
        repository, _, tag = image.rpartition(":")
        assert repository and EXACT_TAG.fullmatch(tag), f"{key}={image} is not pinned to an exact release"


def test_the_pinned_versions_are_the_chosen_release_lines(env_values):
    for key, repository, prefix in EXPECTED:
        image_repository, _, tag = env_values[key].rpartition(":")
        assert image_repository == repository, f"{key} should be a {repository} image, is {env_values[key]}"
        assert tag.startswith(prefix), f"{key}={env_values[key]} is not on the {prefix}x line"
    assert env_values["PYTHON_BASE_IMAGE"].endswith("-slim-bookworm")


def test_grafana_admin_password_is_a_non_default_placeholder_with_a_warning(repo_root, env_values):
    password = env_values["GF_ADMIN_PASSWORD"]
    assert password and password.lower() not in {"admin", "password", "grafana"}
    text = (repo_root / ".env").read_text(encoding="utf-8")
    comment = text[: text.index("GF_ADMIN_PASSWORD=")].rsplit("\n\n", 1)[-1]
    assert "CHANGE" in comment.upper(), "the password needs a comment telling users to change it"


def test_published_ports_are_plain_numbers(env_values):
    ports = {key: value for key, value in env_values.items() if key.endswith("_PORT")}
    assert len(ports) >= 10
    for key, value in ports.items():
        assert value.isdigit() and 0 < int(value) < 65536, f"{key}={value}"
