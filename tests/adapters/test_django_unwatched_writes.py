"""A write of a Django middleware above `ProblemMiddleware`, on the way out, is no later request's.

gunicorn's threaded worker serves each request of a thread in that
thread's context. A middleware placed above `ProblemMiddleware` (an audit
row for each answer) writes after the watch of its request ended: that
write is not the next request's. The next request, whose kept connection
(``CONN_MAX_AGE``) was found dead at its first SELECT, applied nothing: 503,
not 504 ``outcome-unknown``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import end_backends, own_database
from tests.servers import one_thread_gunicorn

pytest.importorskip("django")
pytest.importorskip("gunicorn")
psycopg = pytest.importorskip("psycopg")

ROUNDS = 3


@pytest.fixture
def database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of a database of the test's own, with its two tables."""
    with own_database(postgres_server, "hc_django_unwatched") as (name, url):
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, n integer)")
            conn.execute("CREATE TABLE audit (id serial PRIMARY KEY, what text)")
        yield name, url


@pytest.fixture
def gunicorn(database: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """The project under gunicorn's threaded worker, one thread: every request on it."""
    env = {"ORDERS_DATABASE": database[1]}
    target = "tests.adapters.django_audited_orders:application"
    with one_thread_gunicorn(target, tmp_path, env) as url:
        yield url


def test_an_audit_row_after_the_watch_is_not_the_next_requests(
    database: tuple[str, str], postgres_server: str, gunicorn: str
) -> None:
    """Each round: an order (its audit row after the watch), the backend ended, a search lost at
    its first SELECT: 503; then an order again: 201, one row each."""
    told = []
    with httpx.Client(base_url=gunicorn, timeout=10) as http:
        for _ in range(ROUNDS):
            assert http.post("/orders").status_code == 201
            end_backends(postgres_server, database[0])
            told.append(http.post("/search").status_code)
        told.append(http.post("/orders").status_code)
    assert told == [503] * ROUNDS + [201]
    with psycopg.connect(database[1]) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (ROUNDS + 1,)
        assert conn.execute("SELECT count(*) FROM audit").fetchone() == (ROUNDS + 1,)
