"""A Django write request whose database failed: 503 when nothing that writes was sent, else 504.

The project (tests/adapters/django_outage_orders.py) runs as a server on
a PostgreSQL database of the test's own, with psycopg 3 or psycopg2, in
autocommit mode or with ``ATOMIC_REQUESTS``. A proxy (tests/pg_proxy.py)
cuts its connection at a chosen message: the ``set_config`` of the time
zone Django sends while it opens a connection, or a COMMIT. A failure
while Django opens the connection, or at the COMMIT of a transaction that
only read, applied nothing: 503, the key released, and its resend runs
once. A COMMIT of a transaction that wrote may have applied it: 504,
replayed. Then every backend of the database is ended every 50 ms while
clients create keyed orders, search and count with a pure counter.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.outage_tally import Told, keyed_orders, run_while_ended
from tests.own_database import own_database
from tests.pg_proxy import PgProxy, pg_proxy
from tests.servers import start_app

pytest.importorskip("django")
psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

TYPES = "https://httpconflict.dev/problems/"
#: Django's statement while it opens a connection (the server's TimeZone is not UTC's name).
SET_TIME_ZONE = b"set_config('TimeZone'"
TABLES = (
    "CREATE TABLE keyed_orders (id serial PRIMARY KEY, request_key varchar(255) NOT NULL);"
    "CREATE TABLE counter (id integer PRIMARY KEY, n integer NOT NULL, version integer NOT NULL);"
    "INSERT INTO counter VALUES (1, 0, 0)"
)


@dataclass
class Project:
    """The Django project's server, its database, and the proxy it reaches that through."""

    base: str
    url: str
    proxy: PgProxy | None = None

    def orders(self, key: str) -> int:
        """How many orders hold `key`."""
        return keyed_orders(self.url, key)


def _driver(name: str) -> None:
    if name == "psycopg2":
        pytest.importorskip("psycopg2")


@contextmanager
def project(
    postgres_server: str,
    log_dir: Path,
    *,
    driver: str,
    atomic: bool,
    max_age: int = 0,
    proxied: bool = True,
) -> Iterator[Project]:
    """The project served on a database of its own (through a proxy when `proxied`)."""
    _driver(driver)
    with own_database(postgres_server, "hc_dj_phases") as (_, url):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLES)
        with pg_proxy(url) if proxied else _no_proxy() as proxy:
            env = {
                "ORDERS_DATABASE": proxy.url(url) if proxy else url,
                "ORDERS_DRIVER": driver,
                "ORDERS_ATOMIC": "1" if atomic else "0",
                "ORDERS_CONN_MAX_AGE": str(max_age),
            }
            target = "tests.adapters.django_outage_orders:create_app"
            with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as base:
                yield Project(base, url, proxy)


@contextmanager
def _no_proxy() -> Iterator[None]:
    yield None


def problem_type(answer: httpx.Response) -> str:
    kind: str = answer.json()["type"]
    return kind.removeprefix(TYPES)


DRIVERS = [pytest.param("psycopg", id="psycopg3"), pytest.param("psycopg2", id="psycopg2")]


@pytest.fixture(scope="module", params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _served(request: pytest.FixtureRequest, driver: str, *, atomic: bool) -> Iterator[Project]:
    server: str = request.getfixturevalue("postgres_server")
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    with project(server, factory.mktemp("log"), driver=driver, atomic=atomic) as served:
        yield served


@pytest.fixture(scope="module")
def autocommit_project(request: pytest.FixtureRequest, driver: str) -> Iterator[Project]:
    """Django's autocommit mode, a new connection for each request."""
    yield from _served(request, driver, atomic=False)


@pytest.fixture(scope="module")
def atomic_project(request: pytest.FixtureRequest, driver: str) -> Iterator[Project]:
    """``ATOMIC_REQUESTS``, a new connection for each request."""
    yield from _served(request, driver, atomic=True)


def _keyed(http: httpx.Client, path: str, key: str) -> httpx.Response:
    return http.post(path, headers={"Idempotency-Key": key})


def _lost_while_opening(served: Project, path: str = "/orders") -> None:
    """Lost at Django's time zone setting, as the connection opens: 503; the resend creates one."""
    assert served.proxy is not None
    key = str(uuid.uuid4())
    with httpx.Client(base_url=served.base, timeout=10) as http:
        served.proxy.cut_request_with(SET_TIME_ZONE)
        first = _keyed(http, path, key)
        assert (first.status_code, problem_type(first)) == (503, "unavailable"), first.text
        assert first.headers["Retry-After"]
        assert served.orders(key) == 0
        resent = _keyed(http, path, key)
        assert resent.status_code == 201, resent.text
        replayed = _keyed(http, path, key)
        assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
    assert served.orders(key) == 1


def test_a_connection_lost_while_django_opens_it_gets_503(autocommit_project: Project) -> None:
    """Autocommit: lost as Django opens the connection: 503; the key's resend creates one row."""
    _lost_while_opening(autocommit_project)


def test_a_connection_lost_while_an_atomic_request_opens_it_gets_503(
    atomic_project: Project,
) -> None:
    """ATOMIC_REQUESTS: lost as Django opens the connection: 503; the resend creates one row."""
    _lost_while_opening(atomic_project)


def test_a_connection_lost_as_a_middleware_opens_it_before_the_view_gets_503(
    autocommit_project: Project,
) -> None:
    """Lost as a middleware's read opens it, before the view (handler500's road): 503 too."""
    _lost_while_opening(autocommit_project, "/orders/looked-up")


def test_a_lost_commit_of_a_request_that_only_read_gets_503(atomic_project: Project) -> None:
    """ATOMIC_REQUESTS: a search's COMMIT lost (a transaction that only read): 503."""
    assert atomic_project.proxy is not None
    with httpx.Client(base_url=atomic_project.base, timeout=10) as http:
        atomic_project.proxy.cut_request_with(b"COMMIT")
        answer = _keyed(http, "/search", str(uuid.uuid4()))
    assert (answer.status_code, problem_type(answer)) == (503, "unavailable"), answer.text


def test_a_lost_commit_of_a_request_that_wrote_stays_504(atomic_project: Project) -> None:
    """ATOMIC_REQUESTS: an order's COMMIT lost after the server ran it: 504, replayed, one row."""
    assert atomic_project.proxy is not None
    key = str(uuid.uuid4())
    with httpx.Client(base_url=atomic_project.base, timeout=10) as http:
        atomic_project.proxy.cut_answer_to(b"COMMIT")
        first = _keyed(http, "/orders", key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
        replayed = _keyed(http, "/orders", key)
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (504, "true")
    assert atomic_project.orders(key) == 1  # it was applied: a 503 would have made two


def test_a_connection_lost_under_an_autocommit_insert_stays_504(
    autocommit_project: Project,
) -> None:
    """Autocommit: the INSERT ran (it committed itself) and its answer was lost: 504, one row."""
    assert autocommit_project.proxy is not None
    key = str(uuid.uuid4())
    with httpx.Client(base_url=autocommit_project.base, timeout=10) as http:
        autocommit_project.proxy.cut_answer_to(b"INSERT INTO keyed_orders")
        first = _keyed(http, "/orders", key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
    assert autocommit_project.orders(key) == 1


# --- writes held in a transaction block that was never committed --------------------------

#: The read after the INSERT of ``/orders/own-transaction``.
AFTER_THE_INSERT = b"'after the insert'"


def _lost_then_resent(served: Project, path: str) -> None:
    """The first send lost (503, nothing applied); the key's resend creates one row."""
    key = str(uuid.uuid4())
    with httpx.Client(base_url=served.base, timeout=10) as http:
        first = _keyed(http, path, key)
        assert (first.status_code, problem_type(first)) == (503, "unavailable"), first.text
        assert "rolled it back" in first.json()["detail"], first.text
        assert first.headers["Retry-After"]
        assert served.orders(key) == 0
        resent = _keyed(http, path, key)
        assert resent.status_code == 201, resent.text
        replayed = _keyed(http, path, key)
        assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (201, "true")
    assert served.orders(key) == 1


def test_a_connection_lost_under_an_atomic_insert_gets_503(atomic_project: Project) -> None:
    """ATOMIC_REQUESTS: the INSERT ran, its answer was lost, no COMMIT sent: 503; resend: 1 row."""
    assert atomic_project.proxy is not None
    atomic_project.proxy.cut_answer_to(b"INSERT INTO keyed_orders")
    _lost_then_resent(atomic_project, "/orders")


def test_a_connection_lost_after_a_commit_sent_as_text_stays_504(
    autocommit_project: Project,
) -> None:
    """The view's BEGIN, INSERT and ``COMMIT`` as text, lost at the read after: 504, one row."""
    assert autocommit_project.proxy is not None
    key = str(uuid.uuid4())
    with httpx.Client(base_url=autocommit_project.base, timeout=10) as http:
        autocommit_project.proxy.cut_request_with(AFTER_THE_INSERT)
        first = _keyed(http, "/orders/own-transaction", key)
        assert (first.status_code, problem_type(first)) == (504, "outcome-unknown"), first.text
    assert autocommit_project.orders(key) == 1


# --- every backend ended every 50 ms -------------------------------------------------------

#: How long the clients run while the backends are ended.
SECONDS = 3.0


@dataclass
class Tally:
    """What the clients were told, and what that promises of the database."""

    told: Told = field(default_factory=lambda: Told(saved_status=201))
    #: Keys answered 201 (resent on each 503 until answered otherwise), and keys told 504.
    done: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    #: The counter: the version each 2xx PUT was made on, and each 504's (outcome unknown).
    counted: list[int] = field(default_factory=list)
    counted_unknown: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _resend_on_503(http: httpx.Client, tally: Tally, what: str, send: Any) -> httpx.Response | None:
    """`send()` again on each 503 (nothing was applied); the answer, None if none came."""
    while True:
        try:
            answer: httpx.Response = send()
        except httpx.TransportError as error:
            tally.told.failed(what, error)
            return None
        tally.told.note(what, answer)
        if answer.status_code != 503:
            return answer


def _order(base: str, tally: Tally, deadline: float) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            key = str(uuid.uuid4())
            answer = _resend_on_503(http, tally, "POST", lambda k=key: _keyed(http, "/orders", k))
            with tally.lock:
                (tally.done if answer and answer.status_code == 201 else tally.unknown).append(key)


def _search(base: str, tally: Tally, deadline: float) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            key = str(uuid.uuid4())
            _resend_on_503(http, tally, "SEARCH", lambda k=key: _keyed(http, "/search", k))


def _count(base: str, tally: Tally, deadline: float) -> None:
    """A pure counter: read n, write n + 1 with If-Match, under a key of its own."""
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            read = _resend_on_503(http, tally, "GET", lambda: http.get("/counter"))
            if read is None or read.status_code != 200:
                continue
            etag, n = read.headers["ETag"], read.json()["n"]
            headers = {"If-Match": etag, "Idempotency-Key": str(uuid.uuid4())}
            answer = _resend_on_503(
                http,
                tally,
                "PUT",
                lambda n=n, headers=headers: http.put(
                    "/counter", json={"n": n + 1}, headers=headers
                ),
            )
            version = int(etag.strip('"'))
            with tally.lock:
                if answer is not None and answer.status_code == 200:
                    tally.counted.append(version)
                elif answer is None or answer.status_code == 504:
                    tally.counted_unknown.append(version)


# Each driver, mode and connection age once (8 s a run): every one of the four pairings
# found searches answered 504 before the fix, and the phase tests above cover each driver.
HAMMERS = [
    pytest.param("psycopg", True, 0, id="psycopg3-atomic-fresh"),
    pytest.param("psycopg2", False, 60, id="psycopg2-autocommit-kept"),
]


def check_tally(tally: Tally, url: str, label: str) -> str:
    """Every key answered 201 made one row, a 504's at most one; the pure counter adds up.

    Prints the outage answers under `label`; returns the summary for further asserts.
    """
    with psycopg.connect(url) as conn:
        rows: dict[str, int] = dict(
            conn.execute(
                "SELECT request_key, count(*) FROM keyed_orders GROUP BY request_key"
            ).fetchall()
        )
        final = conn.execute("SELECT n, version FROM counter").fetchone()
    assert final is not None
    statuses = tally.told.statuses
    outages = Counter({k: v for k, v in statuses.items() if k.endswith((" 503", " 504"))})
    summary = f"{dict(sorted(statuses.items()))}; counter {final}, 2xx {len(tally.counted)}"
    print(f"\n{label}: outages {dict(outages)}")
    assert tally.told.wrong == [], (tally.told.wrong[:5], summary)
    assert [rows.get(key) for key in tally.done] == [1] * len(tally.done), summary
    assert all(rows.get(key, 0) <= 1 for key in tally.unknown), summary
    assert set(rows) <= set(tally.done) | set(tally.unknown), summary
    # The pure counter: each version was written once, by a 2xx or by a 504 (no 503).
    n, version = final
    assert n == version, summary
    assert len(set(tally.counted)) == len(tally.counted), summary
    assert set(tally.counted) <= set(range(version)), summary
    written_by_unknown = set(range(version)) - set(tally.counted)
    assert written_by_unknown <= set(tally.counted_unknown), summary
    assert n == len(tally.counted) + len(written_by_unknown), summary
    return summary


@pytest.mark.slow
@pytest.mark.parametrize(("driver_name", "atomic", "max_age"), HAMMERS)
def test_answers_while_every_backend_is_ended(
    postgres_server: str, tmp_path: Path, driver_name: str, atomic: bool, max_age: int
) -> None:
    """No 500; a search never 504; each key resent on 503 made one row; the counter adds up."""
    with project(
        postgres_server, tmp_path, driver=driver_name, atomic=atomic, max_age=max_age, proxied=False
    ) as served:
        tally = Tally()
        deadline = time.monotonic() + SECONDS
        work = [_order, _order, _search, _count]
        clients = [threading.Thread(target=w, args=(served.base, tally, deadline)) for w in work]
        name = served.url.rsplit("/", 1)[1]
        run_while_ended(postgres_server, name, clients)
        summary = check_tally(tally, served.url, f"{driver_name} atomic={atomic} {max_age}")
    assert tally.told.statuses["SEARCH 504"] == 0, summary  # it only read: never 504
    assert tally.told.statuses["POST 503"] > 0, summary
