"""Admin prompt switching: the live versions are listed; unknown names and versions are refused with the valid ones."""

from __future__ import annotations

import httpx


def test_lists_every_feature_prompt_with_its_versions(app) -> None:
    response = httpx.get(f"{app.url}/admin/prompts", timeout=5)
    assert response.status_code == 200, response.text
    # qa also has v2 (the quality-drop rollout's bad version); v1, first in sorted order, is live at start.
    assert {p["name"]: (p["version"], p["versions"]) for p in response.json()} == {
        "qa": ("v1", ["v1", "v2"]), "summarize": ("v1", ["v1"]), "support": ("v1", ["v1"])
    }


def test_selecting_a_version_from_the_files(app) -> None:
    response = httpx.put(f"{app.url}/admin/prompts/qa", json={"version": "v1"}, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "qa", "version": "v1", "versions": ["v1", "v2"]}


def test_unknown_version_is_a_422_listing_the_valid_ones(app) -> None:
    response = httpx.put(f"{app.url}/admin/prompts/qa", json={"version": "v9"}, timeout=5)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "unknown_prompt_version" and "expected one of v1, v2" in error["message"]


def test_unknown_prompt_is_a_404_listing_the_valid_ones(app) -> None:
    response = httpx.put(f"{app.url}/admin/prompts/faq", json={"version": "v1"}, timeout=5)
    assert response.status_code == 404, response.text
    assert "expected one of qa, summarize, support" in response.json()["error"]["message"]


def test_a_body_without_version_is_a_422(app) -> None:
    response = httpx.put(f"{app.url}/admin/prompts/qa", json={"v": "v1"}, timeout=5)
    assert response.status_code == 422, response.text
