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
    assert response.json() == {"name": "qa", "version": "v1", "versions": ["v1", "v2"], "reverts_in_s": None}


def test_a_timed_rollout_says_when_it_reverts_and_delete_ends_it(app) -> None:
    response = httpx.put(f"{app.url}/admin/prompts/qa", json={"version": "v2", "ttl_s": 600}, timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == "v2" and 590 < body["reverts_in_s"] <= 600
    reverted = httpx.delete(f"{app.url}/admin/prompts/qa", timeout=5)
    assert reverted.status_code == 200, reverted.text
    assert (reverted.json()["version"], reverted.json()["reverts_in_s"]) == ("v1", None)
    assert httpx.delete(f"{app.url}/admin/prompts/faq", timeout=5).status_code == 404


def test_a_ttl_out_of_range_is_a_422(app) -> None:
    for ttl in (0, -1, 86_401):
        response = httpx.put(f"{app.url}/admin/prompts/qa", json={"version": "v2", "ttl_s": ttl}, timeout=5)
        assert response.status_code == 422, (ttl, response.text)
    assert httpx.get(f"{app.url}/admin/prompts", timeout=5).json()[0]["version"] == "v1"


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
