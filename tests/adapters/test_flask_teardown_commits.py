"""A Flask app that commits its session in a teardown: a COMMIT the database refuses.

Apps commit in ``@app.teardown_appcontext`` (``db.session.commit()`` when the
view raised nothing, then ``remove()``), after the view formed its answer and
outside every error handler. A constraint checked at COMMIT (PostgreSQL's
DEFERRABLE INITIALLY DEFERRED unique constraint; SQLite's deferred foreign
key, its only deferrable constraint) refuses the write there: the error
left ``wsgi_app`` and werkzeug answered its plain HTML 500 (no problem, no
incident) for a write that was not made, and an Idempotency-Key was released
for a resend to fail the same way. Now the answer is the one the same error
gets in the view from ``install``'s handler (409 naming the field, 422 for a
foreign key), nothing is stored, and a key records and replays it, with its
middleware outside ``install``'s wrapper of ``wsgi_app`` (as the docs show)
or inside it.

Measured before (werkzeug's server, PostgreSQL): each refused POST a 500
``text/html``, its key released; 4 clients appending to a ledger whose
versions a deferred unique constraint keeps apart, for 3 s: every loser a
plain 500 (the count right all the same).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.flask_teardown_commits import prepare, reset, stored
from tests.own_database import own_database
from tests.servers import start_app
from tests.shared_servers import LogFrom, SharedServers

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

#: What Firefox sends with a form's submission.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class _Config:
    """What a server of the app is started with."""

    database: str
    keys: str = ""
    teardown: str = ""


@dataclass(frozen=True)
class _Served:
    """A shared server of the app, its rows put back for this test."""

    base: str
    url: str
    log: LogFrom


@contextmanager
def _start(postgres_server: str, log_dir: Path, config: _Config) -> Iterator[tuple[str, str]]:
    """(app URL, database): flask_teardown_commits under werkzeug's server, on its own database."""
    with _database(postgres_server, log_dir, config.database) as url:
        prepare(url)
        env = {
            "COMMITS_DATABASE": url,
            "KEYS": config.keys,
            "TEARDOWN": config.teardown or "appcontext",
        }
        target = "tests.adapters.flask_teardown_commits:create"
        with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as base:
            yield base, url


@pytest.fixture(scope="module")
def _servers(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedServers[_Config, tuple[str, str, Path]]]:
    """One server per configuration, for the module's tests (8 starts instead of 10)."""

    @contextmanager
    def start(config: _Config) -> Iterator[tuple[str, str, Path]]:
        log_dir = tmp_path_factory.mktemp("teardown-commits")
        with _start(postgres_server, log_dir, config) as (base, url):
            yield base, url, log_dir

    servers: SharedServers[_Config, tuple[str, str, Path]] = SharedServers(start)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def served(_servers: SharedServers[_Config, tuple[str, str, Path]]) -> Callable[..., _Served]:
    """The server of a configuration, its rows as `prepare` made them."""

    def serve(**config: Any) -> _Served:
        base, url, log_dir = _servers(_Config(**config))
        reset(url)
        return _Served(base, url, LogFrom.now(log_dir))

    return serve


@contextmanager
def _database(postgres_server: str, log_dir: Path, database: str) -> Iterator[str]:
    if database == "sqlite":
        yield str(log_dir / "teardown.db")
        return
    with own_database(postgres_server, "hc_flask16_teardown") as (_, url):
        yield url


@pytest.mark.parametrize(
    ("database", "keys", "teardown"),
    [
        pytest.param("postgres", "", "", id="postgres"),
        pytest.param("postgres", "", "request", id="postgres-teardown-request"),
        pytest.param("postgres", "outside", "", id="postgres-keyed"),
        pytest.param("postgres", "inside", "", id="postgres-keyed-inside"),
        pytest.param("sqlite", "", "", id="sqlite"),
        pytest.param("sqlite", "outside", "", id="sqlite-keyed"),
        pytest.param("sqlite", "inside", "", id="sqlite-keyed-inside"),
    ],
)
def test_a_save_its_teardown_commit_refuses_is_answered_as_in_the_view(
    served: Callable[..., _Served], database: str, keys: str, teardown: str
) -> None:
    """The teardown's COMMIT refused: the problem the view's own COMMIT of it gets, not a 500.

    PostgreSQL: 409 naming the field and its deferred unique constraint; SQLite: 422, a
    deferred foreign key. Nothing stored; under an Idempotency-Key, the answer recorded and
    replayed.
    """
    headers = {"Idempotency-Key": f"refused-{uuid.uuid4()}"} if keys else {}
    app = served(database=database, keys=keys, teardown=teardown)
    in_view = httpx.post(f"{app.base}/refused?commit=view", timeout=10)
    answers = [httpx.post(f"{app.base}/refused", headers=headers, timeout=10)]
    if keys:
        answers.append(httpx.post(f"{app.base}/refused", headers=headers, timeout=10))
    rows = stored(app.url)["refused_rows"]
    status, kind = (409, "unique-violation") if database == "postgres" else (422, "foreign-key")
    for answer in answers:
        assert answer.status_code == status, (answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"] == PROBLEM
    # The same as a view that commits it itself (whose teardown's COMMIT then fails too).
    assert in_view.status_code == status, in_view.text[:300]
    assert all(answer.json() == in_view.json() for answer in answers)
    problem = answers[0].json()
    assert kind in problem["type"], problem
    if database == "postgres":
        assert problem["conflicts"] == [
            {"fields": ["name"], "constraint": "teardown_names_name_key"}
        ], problem
    if keys:
        assert answers[1].headers.get("Idempotent-Replayed") == "true", answers[1].headers
    assert rows == (1 if database == "postgres" else 0)  # the name there before: nothing more
    log = app.log.text()
    assert "Traceback" not in log, log[-3000:]


def test_a_refused_sqlite_commit_leaves_the_database_usable(
    served: Callable[..., _Served],
) -> None:
    """SQLite keeps a transaction open when its COMMIT fails: it ends as its connection is pooled.

    SQLAlchemy counts the failed COMMIT as the transaction's end and pools the connection
    without its ROLLBACK. Before: that connection kept the refused row and the database's
    write lock, so the next requests that took it were answered 422 (their teardown's COMMIT
    refused again for the same foreign key) and writes from any other connection waited out
    their timeout for "database is locked".
    """
    app = served(database="sqlite")
    refused = httpx.post(f"{app.base}/refused", timeout=10)
    assert refused.status_code == 422, refused.text[:300]
    told = []
    with httpx.Client(base_url=app.base, timeout=30) as http:
        for _ in range(6):  # over the pool's connections, the refused one among them
            read = http.get("/counter")
            told.append(f"GET {read.status_code}")
            if read.status_code == 200:
                n, tag = read.json()["n"] + 1, read.headers["ETag"]
                wrote = http.put("/counter", json={"n": n}, headers={"If-Match": tag})
                told.append(f"PUT {wrote.status_code}")
    assert set(told) == {"GET 200", "PUT 200"}, told
    outside = sqlite3.connect(app.url, timeout=2)
    try:
        outside.execute("UPDATE teardown_counters SET n = n WHERE id = 1")  # no lock held
        outside.commit()
    finally:
        outside.close()
    assert stored(app.url)["n"] == 6
    assert stored(app.url)["refused_rows"] == 0


def test_a_browser_s_refused_save_is_the_conflict_page(served: Callable[..., _Served]) -> None:
    """A form's POST whose teardown COMMIT is refused: the 409 page, under a key too."""
    base = served(database="postgres", keys="outside").base
    key = {"Idempotency-Key": f"page-{uuid.uuid4()}"}
    for headers in ({"Accept": BROWSER}, {"Accept": BROWSER, **key}):
        page = httpx.post(f"{base}/refused", headers=headers, timeout=10)
        assert page.status_code == 409, page.text[:300]
        assert page.headers["Content-Type"].startswith("text/html"), page.headers
        assert "<h1" in page.text
        assert "name" in page.text


# --- served: a pure counter whose writes are committed in the teardown ---------------------

SECONDS = 3.0


def _write(base: str, path: str, told: Counter[str], lock: threading.Lock, end: float) -> None:
    """Read n and its ETag, PUT n + 1 with If-Match, again until `end`."""
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < end:
            read = http.get(path)
            with lock:
                told[f"GET {read.status_code}"] += 1
            if read.status_code != 200:
                continue
            wrote = http.put(
                path, json={"n": read.json()["n"] + 1}, headers={"If-Match": read.headers["ETag"]}
            )
            with lock:
                told[f"PUT {wrote.status_code}"] += 1
                if "json" not in wrote.headers["Content-Type"]:
                    told[f"wrong: {wrote.status_code} {wrote.text[:120]!r}"] += 1


@pytest.mark.parametrize(
    ("database", "path", "refused"),
    # PostgreSQL through the deferred constraint (its guarded update held as SQLite's does).
    [
        pytest.param("postgres", "/ledger", 409, id="postgres-deferred-unique-ledger"),
        pytest.param("sqlite", "/counter", 412, id="sqlite-guarded-update"),
    ],
)
def test_a_pure_counter_committed_in_the_teardown(
    served: Callable[..., _Served], database: str, path: str, refused: int
) -> None:
    """4 clients read n and PUT n + 1 with If-Match for 3 s: the 2xx answers are the increments.

    The counter's row is written in one guarded UPDATE (a stale If-Match is a 412), or
    appended to a ledger whose versions a deferred unique constraint keeps apart (the loser
    of two writers of one version is refused at its teardown's COMMIT: the 409). No 500.

    Two ledger COMMITs checking each other's version can deadlock; PostgreSQL rolls one
    back whole (40P01), which is answered 503 with Retry-After: nothing of it was applied
    (`test_rolled_back_flask`), as the counts show.
    """
    app = served(database=database)
    told: Counter[str] = Counter()
    lock = threading.Lock()
    end = time.monotonic() + SECONDS
    clients = [
        threading.Thread(target=_write, args=(app.base, path, told, lock, end)) for _ in range(4)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    final = stored(app.url)
    said = f"{dict(told)}, stored {final}"
    deadlocked = {"PUT 503"} if path == "/ledger" else set()
    assert set(told) <= {"GET 200", "PUT 200", f"PUT {refused}", *deadlocked}, said
    assert told["PUT 200"] > 0, said
    n = final["n"] if path == "/counter" else final["ledger_n"]
    assert n == told["PUT 200"], said
    if path == "/ledger":
        assert final["ledger_rows"] == n + 1, said
    else:
        assert final["version"] == n + 1, said
