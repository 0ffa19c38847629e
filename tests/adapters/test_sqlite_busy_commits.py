"""SQLite's busy COMMIT: a 503 when its transaction was rolled back before the answer.

SQLite refuses a COMMIT while another connection reads the file (its
rollback journal kept: no WAL) past the busy timeout; the COMMIT commits
nothing and leaves the transaction open ("database is locked"). Rolled
back before the answer goes out, nothing of it is or can be applied: a 503
with Retry-After, the Idempotency-Key released, the resend run once.
SQLAlchemy's hooks roll it back as the COMMIT fails (Flask's teardown,
FastAPI's ``yield`` dependency on aiosqlite); Django's ``atomic`` does
(``ATOMIC_REQUESTS``, ``atomic()`` in the view, a middleware's). A COMMIT
left open may be committed after (Django's ``set_autocommit(True)`` in a
``finally`` does: sqlite3 commits as autocommit comes back on): a 504.

Each app serves its writes on one connection (they never wait on each
other), while another process reads the file in a transaction for 0.3 s
of every 0.5 s; the app's busy timeout is 0.1 s. Clients: 3 pure counters
(If-Match, a fresh key, a 503 resent under it) and 3 order posters.

Measured before (each server, 2 s): Flask under werkzeug 8 answers 504
(every busy COMMIT), 0 503; FastAPI under uvicorn 8 504s; Django under
gunicorn with a middleware's atomic 8 504s (``ATOMIC_REQUESTS`` and the
view's ``atomic()`` answered 503 already); with ``set_autocommit`` 5 503s,
and one that sqlite3 committed later was posted twice by its resend.
After: 0 504s, 7-8 503s each; ``set_autocommit``: 504s, one order.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.adapters.conflict_hammer import SECONDS, Tally, check, hammer
from tests.adapters.conflict_ledger import BUSY_TIMEOUT, Stored, prepare, stored
from tests.servers import one_thread_gunicorn, start_app

pytest.importorskip("sqlalchemy")

#: Another process reading the file in a transaction, `hold` s of every `hold + gap`.
READER = """
import sqlite3, sys, time
path, hold, gap, until = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
db = sqlite3.connect(path, isolation_level=None, timeout=30)
while time.time() < until:
    db.execute("BEGIN")
    db.execute("SELECT count(*) FROM conflict_ledger").fetchall()
    time.sleep(hold)
    db.execute("COMMIT")
    time.sleep(gap)
"""
HOLD, GAP = 0.3, 0.2
ENV = {BUSY_TIMEOUT: "0.1"}


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    until = time.time() + SECONDS + 1
    args = [sys.executable, "-c", READER, str(path), str(HOLD), str(GAP), str(until)]
    reader = subprocess.Popen(args)
    try:
        yield
    finally:
        reader.wait(timeout=SECONDS + 30)


def _hammered(path: Path, server: AbstractContextManager[str]) -> tuple[Tally, Stored]:
    with server as base, _reading(path):
        tally = hammer(base, SECONDS)
    return tally, stored(str(path))


def _busy_504s(tally: Tally) -> int:
    return sum(n for s, n in tally.statuses.items() if s.endswith(" 504"))


def _resent_and_503(tally: Tally, found: Stored) -> None:
    """Busy COMMITs answered 503 (with Retry-After: `check`), and their resends ran."""
    said = tally.summary(found)
    print(said)  # the numbers, with -s
    assert sum(n for s, n in tally.statuses.items() if s.endswith(" 503")) >= 3, said
    assert tally.resent, said


def test_flask_teardown_busy_commit_is_503(tmp_path: Path) -> None:
    """Flask under werkzeug, the session committed in a teardown: 503, resent once, n adds up."""
    pytest.importorskip("flask")
    path = tmp_path / "ledger.db"
    prepare(str(path))
    env = {**ENV, "CONFLICT_DATABASE": str(path)}
    server = start_app(
        "tests.adapters.rolled_back_flask:create", tmp_path, env=env, probe="/healthz", wsgi=True
    )
    tally, found = _hammered(path, server)
    check(tally, found)
    _resent_and_503(tally, found)


def test_fastapi_dependency_busy_commit_is_503(tmp_path: Path) -> None:
    """FastAPI under uvicorn, aiosqlite, the COMMIT at a ``yield`` dependency's exit: 503."""
    pytest.importorskip("fastapi")
    pytest.importorskip("aiosqlite")
    path = tmp_path / "ledger.db"
    prepare(str(path))
    env = {**ENV, "CONFLICT_DATABASE": str(path)}
    server = start_app(
        "tests.adapters.rolled_back_fastapi:create", tmp_path, env=env, probe="/healthz"
    )
    tally, found = _hammered(path, server)
    check(tally, found)
    _resent_and_503(tally, found)


def _django(tmp_path: Path, mode: str) -> tuple[Tally, Stored]:
    pytest.importorskip("django")
    pytest.importorskip("gunicorn")
    path = tmp_path / "ledger.db"
    prepare(str(path))
    env = {**ENV, "CONFLICT_DATABASE": str(path), "BUSY_DJANGO_MODE": mode}
    server = one_thread_gunicorn("tests.adapters.sqlite_busy_django:create_app()", tmp_path, env)
    return _hammered(path, server)


@pytest.mark.parametrize("mode", ["atomic_requests", "atomic_view", "middleware"])
def test_django_atomic_busy_commit_is_503(tmp_path: Path, mode: str) -> None:
    """Django under gunicorn: ``atomic`` rolled the busy COMMIT's transaction back: 503."""
    tally, found = _django(tmp_path, mode)
    check(tally, found)
    _resent_and_503(tally, found)


def test_django_autocommit_turned_back_on_stays_504(tmp_path: Path) -> None:
    """``set_autocommit(True)`` after a busy COMMIT: a 504, since sqlite3 may commit it then.

    Some of those 504s were applied (counted from the rows their keys
    wrote); no 503 was, and every 2xx is one write.
    """
    tally, found = _django(tmp_path, "autocommit")
    said = tally.summary(found)
    assert not tally.wrong, f"{tally.wrong[:5]}; {said}"
    assert _busy_504s(tally), said
    for what, rows in (("PUT /counter", found.ledger_keys), ("POST /orders", found.order_keys)):
        done = {k for k, (w, s) in tally.outcomes.items() if w == what and s in (200, 201)}
        unknown = {k for k, (w, s) in tally.outcomes.items() if w == what and s == 504}
        assert set(rows.values()) <= {1}, said  # no key applied twice
        assert done <= set(rows), said
        assert set(rows) <= done | unknown, said  # nothing applied under a 503's or a 412's key
    applied_unknown = len(
        set(found.ledger_keys) - {k for k, o in tally.outcomes.items() if o[1] == 200}
    )
    assert found.n == len(found.ledger_keys) == found.versions[-1] - 1, said
    print(f"autocommit: {said}; 504s applied: {applied_unknown}")


#: One read of the file, held `hold` s once it has begun ("reading" said).
ONE_READ = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
db.execute("SELECT count(*) FROM conflict_ledger").fetchall()
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_django_autocommit_committed_later_is_504(tmp_path: Path) -> None:
    """A busy COMMIT that ``set_autocommit(True)`` then commits: a 504, and the key is kept.

    The busy timeout 1 s; another process reads for 1.5 s as the order is
    posted: the view's ``commit()`` gives up at 1 s, and sqlite3's COMMIT as
    autocommit is turned back on gets through at 1.5 s. Before: 503, and
    the resend under the same key posted the order again (2 orders).
    """
    pytest.importorskip("django")
    pytest.importorskip("gunicorn")
    import httpx

    path = tmp_path / "ledger.db"
    prepare(str(path))
    env = {BUSY_TIMEOUT: "1.0", "CONFLICT_DATABASE": str(path), "BUSY_DJANGO_MODE": "autocommit"}
    target = "tests.adapters.sqlite_busy_django:create_app()"
    with one_thread_gunicorn(target, tmp_path, env) as base, httpx.Client(base_url=base) as http:
        read = [sys.executable, "-c", ONE_READ, str(path), "1.5"]
        with subprocess.Popen(read, stdout=subprocess.PIPE) as reader:
            assert reader.stdout is not None
            assert reader.stdout.readline() == b"reading\n"
            headers = {"Idempotency-Key": "later"}
            first = http.post("/orders", json={}, headers=headers, timeout=30)
        again = http.post("/orders", json={}, headers=headers, timeout=30)
    orders = stored(str(path)).order_keys
    said = f"{first.status_code} {first.text[:200]}; again {again.status_code}; {orders}"
    assert first.status_code == 504, said
    assert orders == Counter({"later": 1}), said
    assert again.status_code != 201 or again.headers.get("Idempotent-Replayed") == "true", said


def _flask_once(tmp_path: Path, route: str, env: dict[str, str]) -> tuple[int, str, list[str]]:
    """POST `route` of `sqlite_busy_flask` once under a key: its status, detail, orders' keys."""
    pytest.importorskip("flask")
    import httpx

    path = tmp_path / "orders.db"
    prepare(str(path))
    env = {**ENV, **env, "CONFLICT_DATABASE": str(path)}
    factory = "tests.adapters.sqlite_busy_flask:create"
    with start_app(factory, tmp_path, env=env, probe="/healthz", wsgi=True) as base:
        answer = httpx.post(f"{base}{route}", headers={"Idempotency-Key": "k"}, timeout=30)
    keys = [key[:1] for key in stored(str(path)).order_keys.elements()]
    return answer.status_code, answer.text, keys


def test_busy_commit_after_a_commit_of_the_request_stays_504(tmp_path: Path) -> None:
    """Busy at the teardown's COMMIT, after the view committed a write: 504 (one order is in)."""
    status, text, keys = _flask_once(tmp_path, "/twice", {})
    assert (status, keys) == (504, ["k"]), text
    assert "after a transaction of the request had committed" in text or "handled" in text


def test_io_error_at_commit_stays_504(tmp_path: Path) -> None:
    """SQLite's I/O error at the teardown's COMMIT (past the file size limit): 504."""
    status, text, keys = _flask_once(tmp_path, "/big", {"SQLITE_FILE_LIMIT": "1000000"})
    assert status == 504, text
    assert "I/O error" in text, text
    assert keys == [], keys
