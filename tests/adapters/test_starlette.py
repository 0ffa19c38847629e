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
