"""Trailing-slash redirects: recognised, and told from redirects elsewhere."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.exchange import Exchange
from httpconflict.tools.audit.setup import hint, slash_redirect, toggled


def answer(url: str, status: int, location: str | None = None, body: bytes = b"") -> Exchange:
    headers = (("location", location),) if location else ()
    return Exchange("setup", "POST", url, status, headers, body)


def test_toggled_adds_or_drops_the_slash() -> None:
    """/items <-> /items/, the query kept."""
    assert toggled("http://h/api/items") == "http://h/api/items/"
    assert toggled("http://h/api/items/?a=1") == "http://h/api/items?a=1"


@pytest.mark.parametrize(
    ("status", "location", "expected"),
    [
        pytest.param(301, "/api/items/", "http://h/api/items/", id="django-append-slash-301"),
        pytest.param(307, "http://h/api/items/", "http://h/api/items/", id="starlette-307"),
        pytest.param(308, "/api/items/", "http://h/api/items/", id="308"),
        pytest.param(302, "/login?next=/api/items", None, id="a-login-page-is-not-followed"),
        pytest.param(200, "/api/items/", None, id="not-a-redirect"),
    ],
)
def test_only_a_slash_redirect_is_followed(
    status: int, location: str, expected: str | None
) -> None:
    """Only a redirect to the same URL with the slash toggled is followed."""
    assert slash_redirect(answer("http://h/api/items", status, location)) == expected


@pytest.mark.parametrize(
    ("status", "says"),
    [
        pytest.param(404, "is this the URL of a collection that takes POST?", id="404-url"),
        pytest.param(405, "is this the URL of a collection that takes POST?", id="405-url"),
        pytest.param(401, "--header 'Authorization", id="401-credentials"),
        pytest.param(422, "--body", id="422-body"),
        pytest.param(500, "a server error", id="500"),
    ],
)
def test_the_hint_names_what_to_change(status: int, says: str) -> None:
    """A URL problem never points at --body; a body problem does."""
    text = hint(answer("http://h/api/items", status))
    assert says in text
    assert ("--body" in text) == (status == 422)
