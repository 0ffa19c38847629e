"""A write sent where no request is watched is no later request's (a real server, PostgreSQL).

A request that sent a write before its watch began (a middleware outside
it) answers a lost connection 504: it may have applied something. A write
of the app's startup (uvicorn imports the app, or calls its factory, in
the context every request's task copies), or of a request that ended (a
thread gunicorn reuses for the next request), is not: the next request,
whose connection was found dead at its first SELECT, applied nothing and
is a 503 whose key is released.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import end_backends, own_database
from tests.servers import one_thread_gunicorn, start_app

pytest.importorskip("fastapi")
pytest.importorskip("flask")
pytest.importorskip("gunicorn")
psycopg = pytest.importorskip("psycopg")

APPS = "tests.adapters.unwatched_writes_apps"
ROUNDS = 3


@pytest.fixture
def database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of a database of the test's own, with its two tables."""
    with own_database(postgres_server, "hc_unwatched") as (name, url):
        with psycopg.connect(url) as conn:  # not through the hooks: this thread sends nothing
            conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, n integer)")
            conn.execute("CREATE TABLE audit (id serial PRIMARY KEY, what text)")
        yield name, url


def _lost_then_resent(base: str, admin: str, name: str) -> list[int]:
    """Each round: a POST (the pool's connection), its backend ended, a keyed POST; the latter's
    status, and the same key's resend's."""
    told = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(ROUNDS):
            assert http.post("/orders").status_code == 201
            end_backends(admin, name)
            key = {"Idempotency-Key": str(uuid.uuid4())}
            told.append(http.post("/orders", headers=key).status_code)
            told.append(http.post("/orders", headers=key).status_code)
    return told


def test_a_write_at_startup_is_no_asgi_requests(
    database: tuple[str, str], postgres_server: str, tmp_path: Path
) -> None:
    """uvicorn: a row inserted by the app's factory; each request lost at its first SELECT: 503."""
    name, url = database
    env = {"HC_DB": url}
    with start_app(f"{APPS}:asgi_app", tmp_path, env=env, probe="/healthz") as base:
        told = _lost_then_resent(base, postgres_server, name)
    assert told == [503, 201] * ROUNDS


@pytest.fixture
def gunicorn(database: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """The WSGI app under gunicorn's threaded worker, one thread: every request on it."""
    env = {"HC_DB": database[1], "HC_WSGI": "1"}
    with one_thread_gunicorn(f"{APPS}:application", tmp_path, env) as url:
        yield url


def test_a_write_of_an_ended_request_is_not_the_next_ones(
    database: tuple[str, str], postgres_server: str, gunicorn: str
) -> None:
    """gunicorn gthread: an audit row sent after the last request's watch; the next request,
    lost at its first SELECT on the same thread: 503, and its key's resend runs once."""
    told = _lost_then_resent(gunicorn, postgres_server, database[0])
    assert told == [503, 201] * ROUNDS
