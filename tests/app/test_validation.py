"""Bad requests get a 4xx with the JSON error shape, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

LONG = "x" * 4001


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["type"] and error["message"] and error["request_id"] == response.headers["x-request-id"]
    return error


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", {"question": "ok", "unexpected": 1}),  # unknown field
        ("/v1/ask", {"question": 42}),  # wrong type
        ("/v1/ask", {"question": "ok", "stream": "true"}),  # strict: a string is not a boolean
        ("/v1/ask", {"question": ""}),
        ("/v1/ask", {"question": " \n\t "}),
        ("/v1/ask", {"question": LONG}),
        ("/v1/ask", {"question": "ok", "user_tier": "platinum"}),
        ("/v1/ask", {"question": "ok", "feature": "poetry"}),
        ("/v1/ask", {"question": "ok", "model": "gpt-5"}),
        ("/v1/ask", {}),
        ("/v1/ask", ["question"]),
        ("/v1/agent", {"task": "ok", "max_steps": 0}),
        ("/v1/agent", {"task": "ok", "max_steps": 11}),
        ("/v1/agent", {"task": "ok", "max_steps": 6.5}),
        ("/v1/agent", {"task": "   "}),
    ],
)
def test_invalid_bodies_are_422(app, post, path: str, body: object) -> None:
    error = _error(post(app, path, body), 422)
    assert error["type"] == "invalid_request" and error["details"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"question": "unterminated', b"", b"\xff\xfe"])
def test_malformed_json_is_4xx(app, raw: bytes) -> None:
    response = httpx.post(f"{app.url}/v1/ask", content=raw, headers={"Content-Type": "application/json"}, timeout=10)
    _error(response, 422)


def test_oversized_body_is_refused_before_parsing(app) -> None:
    body = b'{"question": "' + b"a" * (70 * 1024) + b'"}'
    _error(httpx.post(f"{app.url}/v1/ask", content=body, headers={"Content-Type": "application/json"}, timeout=10), 413)

    def chunks():  # no Content-Length: the limit applies to what arrives
        yield b'{"question": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    _error(httpx.post(f"{app.url}/v1/ask", content=chunks(), headers={"Content-Type": "application/json"}, timeout=10), 413)


def test_unknown_route_and_method(app) -> None:
    assert _error(httpx.get(f"{app.url}/nope", timeout=5), 404)["type"] == "http_error"
    assert _error(httpx.get(f"{app.url}/v1/ask", timeout=5), 405)["type"] == "http_error"
