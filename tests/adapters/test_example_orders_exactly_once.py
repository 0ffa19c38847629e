"""The FastAPI and Flask examples' keyed orders: exactly once, also across a killed worker.

Each app records a POST /v1/orders answer under its Idempotency-Key in the
order's own transaction (`httpconflict.sqlalchemy.record_answer`). Run as
real servers (tests/adapters/held_examples.py) on a SQLite file and on
PostgreSQL:

- the worker is SIGKILLed while the POST is held inside its transaction
  (its statements made, the commit not yet), or just after the commit
  (the answer not yet sent); it is started again on the same database and
  the client sends the same request with its key: one order, and the
  answer the first try would have had;
- 16 identical keyed POSTs at once: one order, and 16 answers 201, the
  same body, 15 of them replayed.

Before, the answer was recorded in a key store after the order's commit:
a worker killed between the two left the key claimed, and once its lease
ran out the retry made a second order; duplicates in flight got 409.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.own_database import own_database
from tests.servers import TLS, free_port, stop, wait_until_up
from tests.spawn import spawn

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent.parent
ORDER = {"item": "tea", "qty": 2}
LEASE = 1.0


FRAMEWORKS = {"fastapi_app": "fastapi", "flask_app": "flask", "django_app": "rest_framework"}
#: The table of the orders, by example.
ORDERS_TABLE = {"fastapi_app": "orders", "flask_app": "orders", "django_app": "django_app_order"}


#: (example, database): MariaDB for the Django example, whose keys there are
#: recorded with ON DUPLICATE KEY UPDATE and compared as VARBINARY.
CASES = [
    ("fastapi_app", "sqlite"),
    ("fastapi_app", "postgres"),
    ("flask_app", "sqlite"),
    ("flask_app", "postgres"),
    ("django_app", "sqlite"),
    ("django_app", "postgres"),
    ("django_app", "mariadb"),
]


@pytest.fixture(scope="module", params=CASES, ids=["-".join(case) for case in CASES])
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    example, database = request.param
    pytest.importorskip(FRAMEWORKS[example])
    return example, database


@pytest.fixture(scope="module")
def example(case: tuple[str, str]) -> str:
    return case[0]


@dataclass(frozen=True)
class Killed:
    """A keyed POST whose worker was killed at a hold."""

    key: dict[str, str]
    #: Whether its connection broke (no answer from the killed worker).
    lost: bool
    #: When (`time.time()`) any claim the killed worker held under the key has lapsed.
    lapsed_at: float


@dataclass(frozen=True)
class Retried:
    """A keyed POST whose worker was killed at a hold, then sent again to a new worker."""

    #: Whether the first try's connection broke (no answer from the killed worker).
    lost: bool
    retry: httpx.Response
    again: httpx.Response
    #: The ids of the orders in the database once the retry was answered.
    orders: list[int]


@dataclass(frozen=True)
class Served:
    """The example serving a database of its own, after a worker killed on it."""

    url: str
    db: str
    #: The keyed POST killed just after its order committed, and its retry.
    killed: Retried


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    case: tuple[str, str],
    example: str,
) -> Iterator[Served]:
    """The example on a fresh database: a worker killed just after a keyed order committed,
    a new one started, the POST sent again (and what it found recorded); then that server is
    shared by the tests that kill nothing.

    They count the orders they made by those they find new: two starts per
    (example, database), the kill's and the restart's, instead of three.
    """
    folder = tmp_path_factory.mktemp("served")
    with contextlib.ExitStack() as stack:
        if case[1] == "sqlite":
            db = str(folder / "orders.db")
        elif case[1] == "mariadb":
            mariadb: dict[str, object] = request.getfixturevalue("mariadb_database")
            db = f"mysql+pymysql://{mariadb['user']}@127.0.0.1:{mariadb['port']}/{mariadb['database']}"
        else:
            server: str = request.getfixturevalue("postgres_server")
            _, url = stack.enter_context(own_database(server, "hc_orders"))
            db = url.replace("postgresql://", "postgresql+psycopg://", 1)
        killed = kill_at(example, db, "after-commit", folder)
        url, _ = stack.enter_context(serving(example, db, folder))
        yield Served(url, db, retried(url, killed, db, example))


@contextmanager
def serving(example: str, db: str, tmp: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The example app as a server process on `db`, with its hold file at ``tmp / "hold"``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / f"server-{port}.log"
    command = [sys.executable, "-m", "tests.adapters.held_examples", example]
    command += ["--port", str(port), "--db", db, "--hold", str(tmp / "hold")]
    command += ["--lease", str(LEASE)]
    with log.open("wb") as out:
        process = spawn(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, process, log)
        yield url, process
    finally:
        stop(process)
    assert "Traceback" not in log.read_text(), log.read_text()


def orders(db: str, example: str) -> list[int]:
    """The ids of the orders in the database (PostgreSQL's ids skip those rolled back)."""
    engine = create_engine(db if "://" in db else f"sqlite:///{db}")
    query = text(f"SELECT id FROM {ORDERS_TABLE[example]}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(query).scalars())
    finally:
        engine.dispose()


def only(ids: list[int]) -> int:
    assert len(ids) == 1, f"{len(ids)} orders: {ids}"
    return ids[0]


def test_a_worker_killed_just_after_the_order_commits_leaves_one_order_after_the_retry(
    served: Served,
) -> None:
    """SIGKILL between the order's commit and its answer: the keyed retry replays it."""
    # The order was made by the first try: the retry hears of it.
    check_one_order(served.killed, replayed="true")


def test_a_worker_killed_inside_the_order_transaction_leaves_one_order_after_the_retry(
    tmp_path: Path,
) -> None:
    """SIGKILL before the commit: nothing was made, so the retry makes the one order.

    (What any design gets right; one example, on SQLite, keeps it so.)
    """
    pytest.importorskip("flask")
    example, db = "flask_app", str(tmp_path / "orders.db")
    killed = kill_at(example, db, "before-commit", tmp_path)
    with serving(example, db, tmp_path) as (url, _):
        check_one_order(retried(url, killed, db, example), replayed=None)


def kill_at(example: str, database: str, moment: str, folder: Path) -> Killed:
    """A keyed POST held at `moment` and its worker SIGKILLed."""
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    hold = folder / "hold"
    with serving(example, database, folder) as (url, process):
        hold.write_text(moment)
        lost: list[BaseException] = []

        def first_try() -> None:
            try:
                with httpx.Client(verify=TLS, timeout=60) as http:
                    http.post(url + "/v1/orders", json=ORDER, headers=key)
            except httpx.HTTPError as error:
                lost.append(error)  # the worker was killed under it

        client = threading.Thread(target=first_try)
        client.start()
        deadline = time.monotonic() + 30
        while not hold.with_suffix(".held").exists():
            assert time.monotonic() < deadline, "the POST never reached the hold"
            time.sleep(0.02)
        # Any claim was made before the hold, so it lapses a lease from now at the latest.
        lapsed_at = time.time() + LEASE
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        client.join(10)
    hold.unlink()
    return Killed(key, bool(lost), lapsed_at)


def retried(url: str, killed: Killed, database: str, example: str) -> Retried:
    """The keyed POST sent again, twice, to `url`, once the killed worker's claim lapsed;
    and the orders then in the database.

    The new worker's start takes about a lease: the wait is what is left of it, if anything.
    """
    time.sleep(max(0.0, killed.lapsed_at + 0.1 - time.time()))
    key = killed.key
    with httpx.Client(base_url=url, verify=TLS) as http:
        retry = http.post("/v1/orders", json=ORDER, headers=key)
        again = http.post("/v1/orders", json=ORDER, headers=key)
    return Retried(killed.lost, retry, again, orders(database, example))


def check_one_order(retried: Retried, replayed: str | None) -> None:
    """One order in the database, answered 201 to the retry (`replayed` or not), then replayed."""
    retry, again = retried.retry, retried.again
    assert retried.lost, "the first try got an answer from a killed worker"
    assert retry.status_code == 201, retry.text
    made = only(retried.orders)
    assert retry.headers.get("idempotent-replayed") == replayed
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json() == retry.json() == {"id": made, **ORDER}
    assert again.headers["location"] == retry.headers["location"] == f"/v1/orders/{made}"


def test_sixteen_identical_keyed_posts_at_once_make_one_order(example: str, served: Served) -> None:
    """16 duplicates at once: one order; 16 answers 201 with its body, 15 of them replays."""
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    start = threading.Barrier(16)
    answers: list[httpx.Response] = []
    url, database = served.url, served.db
    before = set(orders(database, example))

    def post() -> None:
        with httpx.Client(base_url=url, timeout=60, verify=TLS) as http:
            http.get("/healthz")  # connected before the barrier
            start.wait()
            answers.append(http.post("/v1/orders", json=ORDER, headers=key))

    clients = [threading.Thread(target=post) for _ in range(16)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(90)
    assert [a.status_code for a in answers] == [201] * 16, [a.text for a in answers]
    made = only(sorted(set(orders(database, example)) - before))
    assert all(a.json() == {"id": made, **ORDER} for a in answers)
    replays = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    assert len(replays) == 15


def test_a_refusal_is_recorded_by_the_middleware_beside_the_orders(
    example: str, served: Served
) -> None:
    """A 422 that wrote nothing is recorded by the middleware, and replayed; a reuse is 422."""
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    bad = {"item": "tea", "qty": "two"}
    url, database = served.url, served.db
    before = orders(database, example)
    with httpx.Client(base_url=url, verify=TLS) as http:
        refused = http.post("/v1/orders", json=bad, headers=key)
        again = http.post("/v1/orders", json=bad, headers=key)
        reused = http.post("/v1/orders", json=ORDER, headers=key)
    assert (refused.status_code, again.status_code) == (422, 422)
    assert "idempotent-replayed" not in refused.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == refused.content
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("/idempotency-key-reused")
    assert orders(database, example) == before  # no order made
