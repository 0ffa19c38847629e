"""httpconflict.starlette.install on a plain Starlette app, under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import start_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log_dir = tmp_path_factory.mktemp("starlette")
    with (
        start_app("tests.adapters.apps:starlette_app", log_dir, probe="/healthz") as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


def test_problem_errors(client: httpx.Client) -> None:
    """A raised ProblemError is answered with its problem."""
    response = client.put("/things/1")
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


def test_not_allowed_lists_every_route_of_the_path(client: httpx.Client) -> None:
    """RFC 9110 §15.5.6: Allow names the methods of all routes at the path, not the first."""
    response = client.delete("/things/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert response.json()["type"].endswith("/method-not-allowed")


def test_integrity_errors(client: httpx.Client) -> None:
    """The integrity handler is part of install: a duplicate is a 409 naming the column."""
    assert client.post("/users", content=b"a@example.com").status_code == 201
    duplicate = client.post("/users", content=b"a@example.com")
    assert duplicate.status_code == 409
    assert duplicate.json()["conflicts"][0]["fields"] == ["email"]


def test_a_json_body_past_a_mebibyte_is_413_before_the_app_reads_it(client: httpx.Client) -> None:
    """``request.json()`` would read it whole: install bounds it, and nothing is written."""
    email = b"big@example.com" + b" " * (2 << 20)
    response = client.post("/users", content=email, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["max_bytes"] == 1 << 20
    again = client.post("/users", content=b"big@example.com")
    assert again.status_code == 201, "the refused body wrote nothing"


def test_a_gzip_body_is_415_naming_identity(client: httpx.Client) -> None:
    response = client.post("/users", content=b"\x1f\x8b...", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 415, response.text
    assert response.headers["accept-encoding"] == "identity"
