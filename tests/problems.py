"""Assertions about problem+json answers."""

from __future__ import annotations

from typing import Any

import httpx

from httpconflict._problem import PROBLEM_TYPE_BASE


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status (and type slug); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    if slug is not None:
        assert body["type"] == PROBLEM_TYPE_BASE + slug, body
    return body
