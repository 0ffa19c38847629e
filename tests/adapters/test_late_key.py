"""An Idempotency-Key recorded after the request already committed a write: refused, never silent.

The apps (late_key_app.py: FastAPI with SQLAlchemy, sync and async;
django_late_key.py: Django) count on PostgreSQL under a transactional
policy, and record the answer under the key in the increment's own
transaction, or (``late``) in a second one, after the increment committed.
A late record is a mistake that used to pass silently: the middleware
looks nothing up before a request runs (its record does), so each retry
with the key ran the increment again before its record was refused, and
was replayed the first 200; a worker killed between the two left the
increment and no key. So `record_answer` refuses to record in a
transaction when the same request already committed a write to that
database: a 500 ``idempotency-key-recorded-late`` naming the fix, on the
first request, crash or not, so the mistake shows in development. The
middleware records that answer (something was applied) and replays it.
What was committed stays committed (each try of a late app still moves
the counter: the tests count it); no answer says all is well.
Transactions that only read, and writes to another database, are no
reason to refuse: those apps answer and replay as before.

A route that commits its write and never records the answer (``never``)
is the same hole, and passed silently too: the middleware recorded the
app's 200 afterwards, so each retry ran the increment again and was
replayed that 200, and two identical requests sent at once both applied
it. Now its answer is a 500 ``idempotency-key-unrecorded`` naming the
fix (with a WARNING naming the route), recorded and replayed: no keyed
request of such a route is answered as if all were well. A route that
only reads (``peek``) records nothing and is answered and replayed as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.own_database import own_database
from tests.servers import TLS, start_app

pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg")

LATE = "https://httpconflict.dev/problems/idempotency-key-recorded-late"
UNRECORDED = "https://httpconflict.dev/problems/idempotency-key-unrecorded"

#: (app, route) of each way to record late: FastAPI sync and async, Django
#: after an atomic block and after an autocommit write.
LATE_ROUTES = [
    ("fastapi", "/sync/late"),
    ("fastapi", "/async/late"),
    ("django", "/late"),
    ("django", "/late-autocommit"),
]
#: The late routes whose worker is killed (each kill restarts a server).
KILLED_ROUTES = [("fastapi", "/sync/late"), ("django", "/late")]
#: Routes that record in the first write's transaction (after a read, after
#: a write to another database): unchanged.
RIGHT_ROUTES = [
    *[
        ("fastapi", f"/{api}/{mode}")
        for api in ("sync", "async")
        for mode in ("first", "read", "other")
    ],
    *[("django", f"/{mode}") for mode in ("first", "read", "other")],
]
#: Routes that commit the increment and record nothing: FastAPI sync and async, Django.
NEVER_ROUTES = [("fastapi", "/sync/never"), ("fastapi", "/async/never"), ("django", "/never")]
#: Routes that only read and record nothing.
PEEK_ROUTES = [("fastapi", "/sync/peek"), ("fastapi", "/async/peek"), ("django", "/peek")]
#: Pairs of identical keyed requests sent at once, per route.
PAIRS = 4
FACTORIES = {
    "fastapi": "tests.adapters.late_key_app:create",
    "django": "tests.adapters.django_late_key:create_app",
}
FRAMEWORKS = {"fastapi": "fastapi", "django": "django"}


class App:
    """An app's environment (its database), and a server of it shared by the tests."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, stack: ExitStack) -> None:
        self.name = name
        self.env = env
        self.folder = folder
        self.stack = stack
        self.shared = ""

    @contextmanager
    def serving(self) -> Iterator[str]:
        """A server of its own (one to kill)."""
        with start_app(FACTORIES[self.name], self.folder, env=self.env, probe="/count") as url:
            yield url

    @property
    def url(self) -> str:
        """The shared server's URL (started on first use)."""
        if not self.shared:
            self.shared = self.stack.enter_context(self.serving())
        return self.shared

    def count(self) -> int:
        with httpx.Client(timeout=10, verify=TLS) as http:
            return int(http.get(self.url + "/count").json()["n"])


@pytest.fixture(scope="module")
def apps(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, App]]:
    """Each app on a database of its own."""
    with ExitStack() as stack:
        made: dict[str, App] = {}
        for name in FACTORIES:
            _, url = stack.enter_context(own_database(postgres_server, f"hc_late_{name}"))
            folder = tmp_path_factory.mktemp(f"late-{name}")
            env = {
                "LATE_KEY_DATABASE": url.replace("postgresql://", "postgresql+psycopg://", 1),
                "LATE_KEY_KEYS": url,
                "LATE_KEY_OTHER": str(folder / "other.db"),
            }
            made[name] = App(name, env, folder, stack)
        yield made


@pytest.fixture
def app(request: pytest.FixtureRequest, apps: dict[str, App]) -> App:
    name: str = request.param
    pytest.importorskip(FRAMEWORKS[name])
    return apps[name]


def keyed() -> dict[str, str]:
    return {"Idempotency-Key": f'"{uuid.uuid4()}"'}


def post(url: str, headers: dict[str, str]) -> httpx.Response:
    """A keyed POST on a connection of its own."""
    with httpx.Client(timeout=30, verify=TLS) as http:
        return http.post(url, json={}, headers=headers)


@pytest.mark.parametrize(
    ("app", "route", "kind"),
    [*[(*late, LATE) for late in LATE_ROUTES], *[(*never, UNRECORDED) for never in NEVER_ROUTES]],
    indirect=["app"],
)
def test_a_key_recorded_late_or_never_is_refused_and_replayed(
    app: App, route: str, kind: str
) -> None:
    """Recorded after the write's transaction, or never: 500 naming the fix, replayed to the retry.

    (Before: 200, and the retry, run again, replayed that 200: n moved twice, silently.)
    """
    before = app.count()
    key = keyed()
    first = post(app.url + route, key)
    retry = post(app.url + route, key)
    assert first.status_code == 500, first.text
    problem = first.json()
    assert problem["type"] == kind
    assert "first write" in problem["detail"]
    assert (retry.status_code, retry.headers.get("idempotent-replayed")) == (500, "true")
    assert retry.json() == problem
    assert app.count() - before == 2  # each try ran: the middleware looks nothing up first


@pytest.mark.parametrize(("app", "route"), LATE_ROUTES, indirect=["app"])
def test_a_failure_between_the_write_and_a_late_record_is_replayed_as_a_failure(
    app: App, route: str
) -> None:
    """The app raises between its two transactions: the retry, refused, is replayed that 500."""
    before = app.count()
    key = keyed()
    first = post(app.url + route, {**key, "X-Between": "raise"})
    retry = post(app.url + route, key)
    assert first.status_code == 500
    assert (retry.status_code, retry.headers.get("idempotent-replayed")) == (500, "true")
    assert retry.json()["type"].endswith("/internal-error")
    assert app.count() - before == 2


@pytest.mark.parametrize(("app", "route"), KILLED_ROUTES, indirect=["app"])
def test_after_a_worker_killed_before_a_late_record_no_retry_is_a_success(
    app: App, route: str
) -> None:
    """SIGKILL between the write's commit and the record's transaction, then the retry.

    The write committed with no key: each retry applies it again, which
    no library can undo; what it must not do is answer 2xx as if all were
    well (before: 200, then replayed). It is refused, naming the fix. The
    retries go to the app's other server, on the same database.
    """
    before = app.count()
    key = keyed()
    with app.serving() as url, pytest.raises(httpx.HTTPError):
        post(url + route, {**key, "X-Between": "kill"})
    retry = post(app.url + route, key)
    again = post(app.url + route, key)
    assert (retry.status_code, retry.json()["type"]) == (500, LATE), retry.text
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (500, "true")
    assert app.count() - before == 3


@pytest.mark.parametrize(
    ("app", "route", "moves"),
    [*[(*right, 1) for right in RIGHT_ROUTES], *[(*peek, 0) for peek in PEEK_ROUTES]],
    indirect=["app"],
)
def test_a_key_recorded_in_the_first_write_transaction_is_answered_and_replayed(
    app: App, route: str, moves: int
) -> None:
    """After reads, or a write to another database: 200, replayed; n moved once.

    A route that only reads and records nothing: 200, replayed (the middleware records it).
    """
    before = app.count()
    key = keyed()
    first = post(app.url + route, key)
    retry = post(app.url + route, key)
    assert first.status_code == 200, first.text
    assert (retry.status_code, retry.headers.get("idempotent-replayed")) == (200, "true")
    assert retry.json() == first.json() == {"n": before + moves}
    assert app.count() - before == moves


@pytest.mark.parametrize(("app", "route"), NEVER_ROUTES, indirect=["app"])
def test_identical_requests_at_once_without_a_record_are_never_a_success(
    app: App, route: str
) -> None:
    """Pairs of identical keyed requests sent at once: both apply, and neither says all is well.

    (Before: every answer a 200; now every answer the 500, fresh or replayed.)
    """
    before = app.count()
    answers: list[httpx.Response] = []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(PAIRS):
            key = keyed()
            pair = [pool.submit(post, app.url + route, key) for _ in range(2)]
            answers += [sent.result() for sent in pair]
    statuses = [answer.status_code for answer in answers]
    applied = app.count() - before  # each committed before anything could refuse
    assert (statuses, applied) == ([500] * 2 * PAIRS, 2 * PAIRS)
    assert {answer.json()["type"] for answer in answers} == {UNRECORDED}
