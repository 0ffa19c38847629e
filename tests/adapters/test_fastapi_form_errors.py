"""A FastAPI form route's invalid form is a 422 naming the field, not a 415 asking for JSON.

The forms app (fastapi_forms_app.py) under uvicorn: its routes take
``Form()`` fields. Before, `install`'s validation handler took any body
that was not JSON for the wrong media type, so a form whose count was
not a number was answered 415 "the body must be JSON; send Content-Type:
application/json", to the browser as well; and a JSON body sent to the
form route was a 422 about missing fields instead of the 415 naming
what the route takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import start_app

TYPES = "https://httpconflict.dev/problems/"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp: Path = tmp_path_factory.mktemp("fastapi-form-errors")
    env = {"FORMS_DATABASE": f"sqlite:///{tmp / 'forms.db'}", "FORMS_KEYS": str(tmp / "keys.db")}
    target = "tests.adapters.fastapi_forms_app:create_app"
    with (
        start_app(target, tmp, env=env, probe="/healthz") as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


def test_an_invalid_form_field_is_a_422_naming_it(client: httpx.Client) -> None:
    """count=x: 422 invalid-document naming count, for an API client; a page for a browser."""
    answer = client.post("/counters/new", data={"name": "a", "count": "x"})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == TYPES + "invalid-document"
    assert [e["location"] for e in problem["errors"]] == [["body", "count"]]
    page = client.post(
        "/counters/new", data={"name": "a", "count": "x"}, headers={"Accept": FIREFOX}
    )
    assert page.status_code == 422
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Nothing was saved" in page.text
    assert "JSON" not in page.text


def test_a_json_body_sent_to_a_form_route_is_a_415_naming_the_form_types(
    client: httpx.Client,
) -> None:
    """The route takes forms: a JSON body is the wrong media type, and the 415 says which."""
    answer = client.post("/counters/new", json={"name": "a", "count": 1})
    assert answer.status_code == 415, answer.text
    problem = answer.json()
    assert problem["type"] == TYPES + "unsupported-media-type"
    assert problem["accept"] == ["application/x-www-form-urlencoded", "multipart/form-data"]
    assert "application/json" not in problem["detail"].split("(got")[0]


def test_a_form_route_posted_nothing_is_a_422_naming_its_fields(client: httpx.Client) -> None:
    """No body and no Content-Type: not a media type refused, but the fields missing."""
    answer = client.post("/counters/new")
    assert answer.status_code == 422, answer.text
    locations = [e["location"] for e in answer.json()["errors"]]
    assert locations == [["body", "name"], ["body", "count"]]
