"""The app's own database failing, through each adapter on a real server: 503/504, never 500.

The apps (FastAPI and Flask on SQLAlchemy: counter_apps.py; the Django
project django_notes.py, plain views and REST framework) run as server
processes on a private PostgreSQL, which the test stops and starts, or on
a MariaDB database whose connections it KILLs from another connection.
While the database is down, a read is a 503 ``unavailable`` problem with
Retry-After; a write is that 503 too, or (when its connection broke under
it, so it may have committed) a 504 ``outcome-unknown``. Once the
database is back, the client's resend of the same If-Match write is
applied exactly once: the counter equals the 2xx writes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.django_servers import NOTE, create_note, notes_server
from tests.private_postgres import PrivatePostgres
from tests.servers import start_app

pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

from tests.adapters.counter_apps import create_table

PROBLEM = "application/problem+json"
TYPES = "https://httpconflict.dev/problems/"
#: Resends of a write before the database is taken to be back for good.
RESENDS = 50


def assert_outage(answer: httpx.Response, *statuses: int) -> None:
    """A 503 (or one of `statuses`) problem with Retry-After, saying no driver text."""
    assert answer.status_code in (statuses or (503,)), answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    kind = {503: "unavailable", 504: "outcome-unknown"}[answer.status_code]
    assert body["type"] == TYPES + kind
    assert answer.headers["retry-after"] == str(body["retry_after"]) == "1"
    assert "incident" in body
    assert "127.0.0.1" not in answer.text  # the driver's text is the log's
    assert "Lost connection" not in answer.text


def counter_server(kind: str, database: str, log_dir: Path) -> Any:
    """The counter app of `kind` (fastapi, flask) on `database`, each kind on a row of its own.

    Its table must exist (`create_table`) before two apps start at once.
    """
    env = {"COUNTER_DATABASE": database, "COUNTER_ROW": str(1 + ("fastapi", "flask").index(kind))}
    factory = f"tests.adapters.counter_apps:create_{kind}"
    return start_app(factory, log_dir, env=env, probe="/healthz", wsgi=kind == "flask")


def started(stack: ExitStack, *servers: AbstractContextManager[str]) -> list[str]:
    """Start `servers` at once (each takes seconds to import its framework); their URLs.

    Each is stopped when `stack` closes, also when another failed to start.
    """
    with ThreadPoolExecutor(len(servers)) as pool:
        entered = [pool.submit(server.__enter__) for server in servers]
        urls: list[str] = []
        for server, future in zip(servers, entered, strict=True):
            try:
                urls.append(future.result())
            except BaseException:  # noqa: S112  # start_app stopped it; the others are stopped below
                continue
            stack.push(server)
    if len(urls) < len(servers):
        stack.close()
        raise RuntimeError("a server did not start; see its log in the test's tmp_path")
    return urls


def body(url: str, n: int) -> dict[str, Any]:
    """The write of `n` to a counter (``n``) or to a Django note (its ``count``)."""
    return {"n": n} if url.endswith("/counter") else {**NOTE, "count": n}


def read(http: httpx.Client, url: str) -> tuple[int, str]:
    """The counter's (or the note's count's) value and ETag."""
    answer = http.get(url)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    n: int = found["n"] if "n" in found else found["count"]
    return n, answer.headers["etag"]


def resend_until_answered(http: httpx.Client, url: str, body: Any, etag: str) -> httpx.Response:
    """The same If-Match write again while the answer is a 503/504 (the database coming back)."""
    for _ in range(RESENDS):
        answer = http.put(url, json=body, headers={"If-Match": etag})
        if answer.status_code not in (503, 504):
            return answer
        assert_outage(answer, 503, 504)
    raise AssertionError(f"still {answer.status_code} after {RESENDS} resends")


def test_postgres_down_then_back(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    """PostgreSQL stopped under running apps: 503 reads, 503/504 writes; back: one write each.

    FastAPI and Flask (a counter on SQLAlchemy) and Django (a note, through
    its plain view and its REST framework viewset) on the same server.
    """
    pytest.importorskip("django")
    database = private_postgres.url.replace("postgresql://", "postgresql+psycopg://")
    create_table(database)
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        fastapi, flask, django = started(
            stack,
            counter_server("fastapi", database, tmp_path),
            counter_server("flask", database, tmp_path),
            notes_server(private_postgres.url, tmp_path),
        )
        urls = [f"{fastapi}/counter", f"{flask}/counter"]
        with httpx.Client(base_url=django) as notes:
            urls += [django + create_note(notes, prefix)[0] for prefix in ("", "/api")]
        before = {url: read(http, url) for url in urls}
        private_postgres.stop()
        for url, (n, etag) in before.items():
            for _ in range(2):
                assert_outage(http.get(url))
            for _ in range(2):
                answer = http.put(url, json=body(url, n + 1), headers={"If-Match": etag})
                assert_outage(answer, 503, 504)
        private_postgres.start()
        for url, (n, etag) in before.items():
            written = resend_until_answered(http, url, body(url, n + 1), etag)
            assert written.status_code == 200, written.text
            assert read(http, url)[0] == n + 1


@pytest.fixture
def mariadb_url(mariadb_database: dict[str, Any]) -> str:
    pytest.importorskip("pymysql")
    db = mariadb_database
    return f"mysql+pymysql://{db['user']}@{db['host']}:{db['port']}/{db['database']}"


def kill_connections(mariadb_database: dict[str, Any]) -> int:
    """KILL every connection to the test's database from another connection; how many."""
    import pymysql

    server = {k: v for k, v in mariadb_database.items() if k != "database"}
    with pymysql.connect(**server) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
            (mariadb_database["database"],),
        )
        ids = [row[0] for row in cursor.fetchall()]
        for connection_id in ids:
            cursor.execute(f"KILL {int(connection_id)}")
    return len(ids)


def test_mariadb_connection_killed(
    mariadb_url: str, mariadb_database: dict[str, Any], tmp_path: Path
) -> None:
    """KILL of the app's pooled connection: a read is 503, a write 504; the resend applies once.

    FastAPI and Flask, each a counter on SQLAlchemy and PyMySQL.
    """
    create_table(mariadb_url)
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        apps = started(
            stack,
            counter_server("fastapi", mariadb_url, tmp_path),
            counter_server("flask", mariadb_url, tmp_path),
        )
        urls = [f"{app}/counter" for app in apps]
        for url in urls:
            read(http, url)
        assert kill_connections(mariadb_database) >= len(urls)
        for url in urls:
            assert_outage(http.get(url))  # the pool's connection was dead: 2013
        before = {url: read(http, url) for url in urls}
        assert kill_connections(mariadb_database) >= len(urls)
        for url, (n, etag) in before.items():
            answer = http.put(url, json={"n": n + 1}, headers={"If-Match": etag})
            assert_outage(answer, 504)  # lost under a write: it might have committed
        for url, (n, etag) in before.items():
            written = resend_until_answered(http, url, {"n": n + 1}, etag)
            assert written.status_code == 200, written.text  # it had not: applied now, once
            assert read(http, url)[0] == n + 1
