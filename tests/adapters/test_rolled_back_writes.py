"""A write held in a PostgreSQL transaction whose COMMIT was never sent: lost with it, a 503.

The apps (tests/adapters/session_orders.py: Flask on a sync SQLAlchemy
`Session`, FastAPI on an `AsyncSession`) run as servers on a database of
the test's own, reached through a proxy (tests/pg_proxy.py) that cuts
their connection at a chosen statement. An INSERT the server ran inside
the session's transaction, its answer cut before any COMMIT was sent,
was rolled back with the session: 503, the key released, and its resend
creates one row. Kept at 504: a COMMIT the server ran whose answer was cut,
a write in autocommit mode, a ``COMMIT`` sent as text or through the
driver's connection itself before the cut, and MariaDB (a MyISAM table
applies a write at once). Then every backend of the database is ended
every 50 ms while clients create keyed orders and count with a pure
counter: every key answered, resent on each 503, made exactly one row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.adapters.outage_tally import keyed_orders, run_while_ended
from tests.adapters.test_django_outage_phases import Tally, _count, _order, check_tally
from tests.own_database import own_database
from tests.pg_proxy import PgProxy, pg_proxy
from tests.servers import start_app
from tests.shared_servers import SharedServers

pytest.importorskip("sqlalchemy")
pytest.importorskip("flask")
pytest.importorskip("fastapi")
psycopg = pytest.importorskip("psycopg")

TYPES = "https://httpconflict.dev/problems/"
TABLES = (
    "CREATE TABLE keyed_orders (id serial PRIMARY KEY, request_key varchar(255) NOT NULL);"
    "CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL, version integer NOT NULL);"
    "INSERT INTO counter VALUES (1, 0, 0)"
)
#: The tables as TABLES made them.
UNTOUCHED = "DELETE FROM keyed_orders; UPDATE counter SET n = 0, version = 0 WHERE id = 1"
#: The read after the INSERT of ``/orders/commit-as-text`` and ``/orders/raw-commit``.
AFTER_THE_INSERT = b"'after the insert'"

#: (app factory, SQLAlchemy driver, WSGI).
APPS = {
    "flask-psycopg": ("create_flask", "psycopg", True),
    "flask-psycopg2": ("create_flask", "psycopg2", True),
    "fastapi-asyncpg": ("create_fastapi", "asyncpg", False),
    "fastapi-psycopg-async": ("create_fastapi", "psycopg_async", False),
}


@dataclass
class Served:
    """An app's server, its database (an admin URL), and the proxy between them."""

    base: str
    url: str
    proxy: PgProxy

    def orders(self, key: str) -> int:
        """How many orders hold `key`."""
        return keyed_orders(self.url, key)


def _importable(app: str) -> None:
    driver = APPS[app][1]
    pytest.importorskip("psycopg2" if driver == "psycopg2" else driver.removesuffix("_async"))


@contextmanager
def served(
    postgres_server: str, log_dir: Path, app: str, *, autocommit: bool = False
) -> Iterator[Served]:
    """`app` served on a database of its own, through a proxy."""
    _importable(app)
    factory, driver, wsgi = APPS[app]
    with own_database(postgres_server, "hc_rolled_back") as (_, url):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLES)
        with pg_proxy(url) as proxy:
            env = {
                "ORDERS_DATABASE": proxy.url(url).replace(
                    "postgresql://", f"postgresql+{driver}://", 1
                ),
                "ORDERS_AUTOCOMMIT": "1" if autocommit else "0",
            }
            target = f"tests.adapters.session_orders:{factory}"
            with start_app(target, log_dir, env=env, probe="/healthz", wsgi=wsgi) as base:
                yield Served(base, url, proxy)


@pytest.fixture(scope="module")
def servers(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedServers[str, Served]]:
    """Each app (autocommit off) served once for the module's tests: 4 starts instead of 7."""
    shared: SharedServers[str, Served] = SharedServers(
        lambda name: served(postgres_server, tmp_path_factory.mktemp("log"), name)
    )
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="module", params=list(APPS))
def app(request: pytest.FixtureRequest, servers: SharedServers[str, Served]) -> Served:
    return servers(request.param)


def problem_type(answer: httpx.Response) -> str:
    kind: str = answer.json()["type"]
    return kind.removeprefix(TYPES)


def _keyed(http: httpx.Client, path: str, key: str) -> httpx.Response:
    return http.post(path, headers={"Idempotency-Key": key})


def test_a_connection_lost_under_an_insert_before_its_commit_gets_503(app: Served) -> None:
    """The INSERT ran in the session's transaction, its answer lost, no COMMIT sent: 503;
    the key's resend creates one row, and its third send is replayed."""
    key = str(uuid.uuid4())
    with httpx.Client(base_url=app.base, timeout=10) as http:
        app.proxy.cut_answer_to(b"INSERT INTO keyed_orders")
        first = _keyed(http, "/orders", key)
        assert (first.status_code, problem_type(first)) == (503, "unavailable"), first.text
        assert "rolled it back" in first.json()["detail"], first.text
        assert first.headers["Retry-After"]
        assert app.orders(key) == 0
        resent = _keyed(http, "/orders", key)
        assert resent.status_code == 201, resent.text
        replayed = _keyed(http, "/orders", key)
        assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
    assert app.orders(key) == 1


def test_a_lost_commit_after_an_insert_stays_504(app: Served) -> None:
    """The COMMIT reached the server, its answer was cut: 504, replayed; it made one row."""
    key = str(uuid.uuid4())
    with httpx.Client(base_url=app.base, timeout=10) as http:
        app.proxy.cut_answer_to(b"COMMIT")
        first = _keyed(http, "/orders", key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
        replayed = _keyed(http, "/orders", key)
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (504, "true")
    assert app.orders(key) == 1  # applied: a 503 would have made a second


def test_a_commit_sent_as_text_before_the_cut_stays_504(app: Served) -> None:
    """``COMMIT`` sent as a statement, then the next read lost: 504; it made one row."""
    key = str(uuid.uuid4())
    with httpx.Client(base_url=app.base, timeout=10) as http:
        app.proxy.cut_request_with(AFTER_THE_INSERT)
        first = _keyed(http, "/orders/commit-as-text", key)
    assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
    assert app.orders(key) == 1


def test_a_commit_through_the_drivers_connection_before_the_cut_stays_504(
    servers: SharedServers[str, Served],
) -> None:
    """Flask: the driver's own commit (no hook sees it), then the next read lost: 504, one row."""
    app = servers("flask-psycopg")
    key = str(uuid.uuid4())
    with httpx.Client(base_url=app.base, timeout=10) as http:
        app.proxy.cut_request_with(AFTER_THE_INSERT)
        first = _keyed(http, "/orders/raw-commit", key)
    assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
    assert app.orders(key) == 1


@pytest.mark.parametrize("name", ["flask-psycopg", "fastapi-psycopg-async"])
def test_an_autocommit_insert_lost_stays_504(
    postgres_server: str, tmp_path: Path, name: str
) -> None:
    """An engine in autocommit: the INSERT committed itself, its answer lost: 504, one row."""
    with served(postgres_server, tmp_path, name, autocommit=True) as app:
        key = str(uuid.uuid4())
        with httpx.Client(base_url=app.base, timeout=10) as http:
            app.proxy.cut_answer_to(b"INSERT INTO keyed_orders")
            first = _keyed(http, "/orders", key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
        assert app.orders(key) == 1


def test_a_mariadb_insert_lost_before_its_commit_stays_504(
    mariadb_url: str, tmp_path: Path
) -> None:
    """MariaDB: an INSERT lost inside the session's transaction: 504 (MyISAM would have kept it)."""
    pymysql = pytest.importorskip("pymysql")
    database = mariadb_url.rsplit("/", 1)[1]
    with (
        pymysql.connect(host="127.0.0.1", user="root", database=database) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            "CREATE TABLE keyed_orders (id integer AUTO_INCREMENT PRIMARY KEY,"
            " request_key varchar(255) NOT NULL) ENGINE=InnoDB"
        )
    with pg_proxy(mariadb_url.replace("mysql+pymysql", "mysql", 1)) as proxy:
        env = {"ORDERS_DATABASE": proxy.url(mariadb_url)}
        target = "tests.adapters.session_orders:create_flask"
        with start_app(target, tmp_path, env=env, probe="/healthz", wsgi=True) as base:
            key = str(uuid.uuid4())
            with httpx.Client(base_url=base, timeout=10) as http:
                proxy.cut_answer_to(b"INSERT INTO keyed_orders")
                first = _keyed(http, "/orders", key)
                replayed = _keyed(http, "/orders", key)
    assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (504, "true")


# --- every backend ended every 50 ms -------------------------------------------------------

#: How long the clients run while the backends are ended.
SECONDS = 3.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flask-psycopg", "fastapi-asyncpg"])
def test_keyed_orders_and_a_counter_while_every_backend_is_ended(
    postgres_server: str, servers: SharedServers[str, Served], name: str
) -> None:
    """No 500; each key resent on 503 made one row; the pure counter adds up."""
    app = servers(name)
    with psycopg.connect(app.url, autocommit=True) as conn:
        conn.execute(UNTOUCHED)  # the orders of the tests before, and the counter at 0
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    work = [_order, _order, _order, _count]
    clients = [threading.Thread(target=w, args=(app.base, tally, deadline)) for w in work]
    run_while_ended(postgres_server, app.url.rsplit("/", 1)[1], clients)
    summary = check_tally(tally, app.url, name)
    assert tally.told.statuses["POST 503"] > 0, summary
