"""A connection lost before a write request sent anything that writes: 503, and its key runs again.

A Flask app (``install``, the WSGI IdempotencyMiddleware on a memory
store) on SQLAlchemy and psycopg, its pool one connection, on a real
PostgreSQL database of the test's own. The test (or the app, between two
statements) ends the app's backend with ``pg_terminate_backend``. A POST
whose pooled connection is dead at its first statement, a SELECT, applied
nothing: it is a 503 whose key is released, and the same key's retry runs
once. So is one lost after its INSERT, before its COMMIT: the server
rolled the session's transaction back. Once a statement that may write
outside that transaction went out (a function called from a SELECT, a
write of a middleware outside the watched request), the same lost
connection is a 504 ``outcome-unknown``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.outage_tally import Told, run_while_ended
from tests.own_database import own_database
from tests.servers import start_app

pytest.importorskip("flask")
pytest.importorskip("psycopg")

import httpx
import psycopg
from flask import Flask
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

import httpconflict.sqlalchemy  # noqa: F401  # the commit hooks
from httpconflict.flask import install
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

TYPES = "https://httpconflict.dev/problems/"
metadata = MetaData()
orders = Table("orders", metadata, Column("id", Integer, primary_key=True), Column("n", Integer))


class Database:
    """The test's own database: its URL for the app, and a way to end its backends."""

    def __init__(self, admin: str, name: str, url: str) -> None:
        self.admin = admin
        self.name = name
        self.url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        #: The apps' engines, disposed of after the test.
        self.engines: list[Engine] = []

    def end_backends(self) -> int:
        """End every backend of the database (waiting for each to exit); how many."""
        with psycopg.connect(self.admin, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.name,),
            ).fetchone()
        assert ended is not None
        return int(ended[0])

    def orders(self) -> int:
        with psycopg.connect(self.url.replace("+psycopg", "")) as conn:
            found = conn.execute("SELECT count(*) FROM orders").fetchone()
        assert found is not None
        return int(found[0])


@pytest.fixture
def database(postgres_server: str) -> Iterator[Database]:
    with own_database(postgres_server, "hc_lost_unsent") as (name, url):
        with psycopg.connect(url) as conn:  # not through the hooks: no write sent by this thread
            conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, n integer)")
        db = Database(postgres_server, name, url)
        yield db
        for engine in db.engines:
            engine.dispose()


def create_app(db: Database, *, outer_write: bool = False) -> Any:
    """The orders app; `outer_write`: a WSGI middleware outside it writes an audit row first."""
    engine = create_engine(db.url, pool_size=1, max_overflow=0)
    db.engines.append(engine)
    app = Flask(__name__)
    install(app)

    def create(before_insert: Callable[[Session], object] = lambda _: None) -> Any:
        with Session(engine) as session:
            session.execute(select(func.count()).select_from(orders))
            before_insert(session)
            session.execute(insert(orders).values(n=1))
            session.commit()
        return {"created": True}, 201

    @app.post("/orders")
    def post_order() -> Any:
        return create()

    @app.post("/orders/ended-after-the-read")
    def ended_after_the_read() -> Any:
        return create(lambda _: db.end_backends())

    @app.post("/orders/function-first")
    def function_first() -> Any:
        with Session(engine) as session:
            session.execute(text("SELECT nextval('orders_id_seq')"))
            db.end_backends()
            session.execute(select(func.count()).select_from(orders))
            session.commit()
        return {"created": False}, 200

    @app.post("/orders/search")
    def search() -> Any:
        with Session(engine) as session:
            found = session.scalar(select(func.count()).select_from(orders))
            db.end_backends()
            session.commit()  # a read-only transaction's COMMIT, lost
        return {"orders": found}, 200

    policy = IdempotencyPolicy()
    keyed = IdempotencyMiddleware(app.wsgi_app, store=idempotency_store("memory"), policy=policy)
    if not outer_write:
        app.wsgi_app = keyed  # type: ignore[method-assign]
        return app

    def audited(environ: dict[str, Any], start_response: Any) -> Any:
        with engine.begin() as conn:
            conn.execute(insert(orders).values(n=0))  # an audit row, committed
        db.end_backends()
        return keyed(environ, start_response)

    app.wsgi_app = audited  # type: ignore[method-assign]
    return app


def problem_type(answer: Any) -> str:
    body = answer.get_json()
    assert isinstance(body, dict), answer.data
    kind: str = body["type"]
    return kind.removeprefix(TYPES)


def test_a_post_whose_connection_was_dead_before_its_first_statement_gets_503(
    database: Database,
) -> None:
    """A POST whose pooled connection died before its first SELECT: 503, its key's retry runs."""
    client = create_app(database).test_client()
    with client:
        client.post("/orders")  # a connection in the pool
        assert database.orders() == 1
        assert database.end_backends() == 1
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = client.post("/orders", headers=key)
        assert (first.status_code, problem_type(first)) == (503, "unavailable"), first.data
        assert first.headers["Retry-After"]
        assert database.orders() == 1
        retried = client.post("/orders", headers=key)
        assert retried.status_code == 201, retried.data
        assert "Idempotent-Replayed" not in retried.headers
        again = client.post("/orders", headers=key)
        assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert database.orders() == 2  # the keyed POST created exactly one


def test_a_post_lost_at_its_insert_before_the_commit_gets_503(database: Database) -> None:
    """A POST lost at its INSERT, in the session's transaction, no COMMIT sent: 503, its key
    released (the resend runs again, and is lost again: not replayed)."""
    client = create_app(database).test_client()
    with client:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        for _ in range(2):
            answer = client.post("/orders/ended-after-the-read", headers=key)
            assert (answer.status_code, problem_type(answer)) == (503, "unavailable"), answer.data
            assert "Idempotent-Replayed" not in answer.headers
    assert database.orders() == 0


def test_a_post_lost_after_a_function_was_called_stays_504(database: Database) -> None:
    """A POST lost after a SELECT calling a function (it may write, held or not): 504, replayed."""
    path = "/orders/function-first"
    client = create_app(database).test_client()
    with client:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = client.post(path, headers=key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.data
        replayed = client.post(path, headers=key)
        assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (504, "true")
    assert database.orders() == 0  # rolled back with the lost session, but nobody could know


def test_a_lost_commit_of_a_transaction_that_only_read_gets_503(database: Database) -> None:
    """A POST (a search) whose read-only transaction's COMMIT was lost applied nothing: 503."""
    client = create_app(database).test_client()
    with client:
        # A request first: a write that another test sent unwatched in this thread is its.
        assert client.get("/nothing-here").status_code == 404
        answer = client.post("/orders/search", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert (answer.status_code, problem_type(answer)) == (503, "unavailable"), answer.data


def test_a_write_sent_outside_the_watched_request_keeps_504(database: Database) -> None:
    """A middleware outside the watch committed a write, then the view's SELECT was lost: 504."""
    client = create_app(database, outer_write=True).test_client()
    with client:
        answer = client.post("/orders", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert (answer.status_code, problem_type(answer)) == (504, "outcome-unknown"), answer.data
    assert database.orders() == 1  # the audit row: a resend would write another


#: How long the clients send keyed creates while the backends are ended.
SECONDS = 4.0


@dataclass
class Keys:
    """What each key's client was told in the end, and how many 503s it was told before."""

    done: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    after_503: list[str] = field(default_factory=list)
    told_503: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _create_orders(base: str, told: Told, keys: Keys, deadline: float) -> None:
    """Create orders, each under a key of its own, resent with that key on a 503 until done."""
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            key = str(uuid.uuid4())
            refused = 0
            while True:
                try:
                    answer = http.post("/orders", headers={"Idempotency-Key": key})
                except httpx.TransportError as error:
                    told.failed("POST", error)
                    with keys.lock:
                        keys.unknown.append(key)
                    break
                told.note("POST", answer)
                if answer.status_code == 503:
                    refused += 1
                    continue  # nothing was applied: the same key again
                with keys.lock:
                    keys.told_503 += refused
                    if answer.status_code == 201:
                        keys.done.append(key)
                        if refused:
                            keys.after_503.append(key)
                    else:
                        keys.unknown.append(key)
                break


@pytest.mark.parametrize("framework", ["flask", "django"])
def test_keyed_creates_while_the_backends_are_ended(
    postgres_server: str, tmp_path: Path, framework: str
) -> None:
    """Every key done once; every key told 503 and resent, once; a 504's key at most once."""
    if framework == "django":
        pytest.importorskip("django")
    with own_database(postgres_server, "hc_lost_unsent_hammer") as (name, url):
        if framework == "flask":
            env = {"ORDERS_DATABASE": url.replace("postgresql://", "postgresql+psycopg://", 1)}
            target = "tests.adapters.keyed_orders_flask:create_app"
        else:
            env = {"ORDERS_DATABASE": url}
            target = "tests.adapters.django_keyed_orders:create_app"
        with start_app(target, tmp_path, env=env, probe="/healthz", wsgi=True) as base:
            told = Told(saved_status=201)
            keys = Keys()
            deadline = time.monotonic() + SECONDS
            clients = [
                threading.Thread(target=_create_orders, args=(base, told, keys, deadline))
                for _ in range(4)
            ]
            run_while_ended(postgres_server, name, clients)
            with psycopg.connect(url) as conn:
                rows: dict[str, int] = dict(
                    conn.execute(
                        "SELECT request_key, count(*) FROM keyed_orders GROUP BY request_key"
                    ).fetchall()
                )
    summary = (told.statuses, len(keys.after_503), sum(rows.values()))
    assert told.wrong == [], (told.wrong[:5], summary)
    assert [rows.get(key) for key in keys.done] == [1] * len(keys.done), summary
    assert all(rows.get(key, 0) <= 1 for key in keys.unknown), summary
    assert set(rows) <= set(keys.done) | set(keys.unknown), summary
    assert len(keys.done) <= sum(rows.values()) <= len(keys.done) + len(keys.unknown), summary
    # The connections found dead at the first SELECT: 503s, each resent until done.
    assert told.statuses["POST 503"] > 0, summary
    assert keys.after_503, summary
