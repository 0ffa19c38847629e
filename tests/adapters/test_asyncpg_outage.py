"""asyncpg's OSErrors through FastAPI and Flask on real servers: 503/504; the app's own: 500.

asyncpg raises a refused connection, a pool with no free connection and a
query's timeout as the builtin errors they are (ConnectionRefusedError,
TimeoutError), and SQLAlchemy's asyncpg dialect passes them through: the
apps (asyncpg_apps.py) run on a private PostgreSQL that the test stops and
starts again. The app's own OSErrors (a missing file, an HTTP service that
is down) stay the app's 500.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.adapters.test_database_outage import PROBLEM, assert_outage, started
from tests.private_postgres import PrivatePostgres
from tests.servers import free_port, start_app

pytest.importorskip("asyncpg")
pytest.importorskip("sqlalchemy")

#: Reads once the database is back, before it is taken to be back for good.
TRIES = 50


def assert_server_error(url: str) -> None:
    """The app's own bug: a 500 problem, no Retry-After.

    On a connection of its own: uvicorn closes the connection of a request
    whose error reached it (after the 500), which a pooled client may
    already be sending its next request on.
    """
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "retry-after" not in answer.headers


def answered(http: httpx.Client, url: str) -> httpx.Response:
    """GET `url` again while it is a 503 (a pool reconnecting once the database is back)."""
    for _ in range(TRIES):
        answer = http.get(url)
        if answer.status_code != 503:
            return answer
        assert_outage(answer)
    raise AssertionError(f"{url}: still 503 after {TRIES} tries")


def test_asyncpg_refused_and_timed_out(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    """Stopped PostgreSQL: 503 from the pool, SQLAlchemy and a connect; a query timeout 503/504."""
    env = {
        "ASYNCPG_DATABASE": private_postgres.url,
        "ASYNCPG_UPSTREAM": f"http://127.0.0.1:{free_port()}/",
    }
    apps = "tests.adapters.asyncpg_apps"
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        fastapi, flask = started(
            stack,
            start_app(f"{apps}:create_fastapi", tmp_path, env=env, probe="/healthz"),
            start_app(f"{apps}:create_flask", tmp_path, env=env, probe="/healthz", wsgi=True),
        )
        reads = [f"{fastapi}/pool", f"{fastapi}/engine", f"{fastapi}/connect", f"{flask}/connect"]
        for url in reads:
            assert http.get(url).status_code == 200
        assert_outage(http.get(f"{fastapi}/busy"))  # the pool's one connection is in use
        assert_outage(http.get(f"{fastapi}/slow"))  # a read that timed out: 503
        assert_outage(http.put(f"{fastapi}/slow"), 504)  # a write: it may have run
        for url in (f"{fastapi}/file", f"{fastapi}/upstream", f"{flask}/file"):
            assert_server_error(url)
        private_postgres.stop()
        for url in reads:
            for _ in range(2):
                assert_outage(http.get(url))
        for _ in range(2):
            assert_outage(http.put(f"{fastapi}/pool"), 503, 504)
        assert_server_error(f"{fastapi}/file")
        private_postgres.start()
        for url in reads:
            assert answered(http, url).status_code == 200


def test_the_apps_own_deadline_on_a_query(postgres_server: str, tmp_path: Path) -> None:
    """asyncio.timeout() or wait_for() expiring in a driver's query: 503 read, 504 write; not a 500.

    The app gave the database that long: a database that did not answer in
    time is an outage, as a driver's own timeout is; a query sent may have
    run (504 for a write), a connection waited for sent nothing (503). The
    same deadline expiring anywhere but in a driver is the app's 500.
    """
    env = {"ASYNCPG_DATABASE": postgres_server}
    apps = "tests.adapters.asyncpg_apps"
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        (fastapi,) = started(
            stack, start_app(f"{apps}:create_fastapi", tmp_path, env=env, probe="/healthz")
        )
        for how in ("pool", "engine", "psycopg", "wait_for"):
            assert_outage(http.get(f"{fastapi}/deadline/{how}"))
            assert_outage(http.put(f"{fastapi}/deadline/{how}"), 504)
        assert_outage(http.get(f"{fastapi}/deadline/queued"))
        assert_outage(http.put(f"{fastapi}/deadline/queued"))  # nothing was sent: 503
        assert_server_error(f"{fastapi}/own-deadline")
