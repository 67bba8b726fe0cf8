"""The alert receiver serves the runbooks: GET /runbooks is one readable HTML page with an anchor per alert."""

from __future__ import annotations

import httpx

from demo_app.alert_sink.runbooks import RUNBOOKS_MD, heading_anchors


class TestRunbooksPage:
    """Every `##` heading of runbooks.md is an element id on the served page, so `#<alert>` links land."""

    def test_served_as_html_with_every_heading_anchor(self, sink):
        response = httpx.get(f"{sink.url}/runbooks", timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        anchors = heading_anchors(RUNBOOKS_MD.read_text(encoding="utf-8"))
        assert "llmhigherrorrate" in anchors and "watchdog" in anchors
        for anchor in anchors:
            assert f'id="{anchor}"' in page, anchor
        assert page.startswith("<!doctype html>") and "<title>Runbooks" in page

