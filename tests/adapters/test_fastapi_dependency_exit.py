"""A FastAPI session dependency whose exit meets a database outage after the view answered.

FastAPI (0.118 on) runs the exit of a ``yield`` dependency of the default
scope after the answer was sent. A session closed there on a connection
PostgreSQL ended meanwhile (a restart, a failover, ``pg_terminate_backend``)
raised after the answer: Starlette raised "Caught handled exception, but
response already started" and uvicorn closed the connection, under the
client's next request on it. A dependency that commits as it exits
(``async with session.begin(): yield session``) had its 200 sent before its
COMMIT: a COMMIT that then failed was a save told done and not made.

Measured before (uvicorn, asyncpg, 4 clients reading and incrementing a
pure counter for 3 s, the app's backends ended every 50 ms): committing in
the exit, 55 saves answered 200 and a count of 51, 17 requests failed on a
dropped connection; committing in the view, 8 dropped connections.
``Depends(..., scope="function")`` exits before the answer: right already.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.adapters.fastapi_session_dependency import (
    SCOPES_TAKEN,
    final_count,
    prepare,
    reset,
    stored,
)
from tests.adapters.outage_tally import Told, run_while_ended
from tests.own_database import own_database
from tests.servers import start_app
from tests.shared_servers import LogFrom, SharedServers

pytest.importorskip("fastapi")
pytest.importorskip("asyncpg")
psycopg = pytest.importorskip("psycopg")

#: ``Depends(..., scope="function")`` is FastAPI 0.121's: on an older one those cases skip.
NEEDS_SCOPES = pytest.mark.skipif(
    not SCOPES_TAKEN, reason='Depends(scope="function") needs FastAPI 0.121 or later'
)
SCOPES = ["request", pytest.param("function", marks=NEEDS_SCOPES)]
#: A log line naming its incident (`httpconflict.incidents`).
INCIDENT = re.compile(r"\bincident [0-9a-f]{12}: ")
#: What the app logs when a session's close fails after its view formed the answer.
STANDS = "the answer formed stands"


@dataclass(frozen=True)
class _Config:
    """What a server of the app is started with."""

    commit_in_exit: bool
    scope: str
    keys_inside: bool = False
    kind: str = "async"


@dataclass(frozen=True)
class _Served:
    """A shared server of the app, its rows put back for this test."""

    base: str
    name: str
    url: str
    log: LogFrom


@contextmanager
def _start(postgres_server: str, log_dir: Path, config: _Config) -> Iterator[tuple[str, str, str]]:
    """(app URL, database name, database URL): the app under uvicorn, on its own database."""
    with own_database(postgres_server, "hc_dependency_exit") as (name, url):
        prepare(url)
        env = {
            "SESSION_DATABASE": url,
            "COMMIT_IN_EXIT": "1" if config.commit_in_exit else "0",
            "DEPENDENCY_SCOPE": config.scope,
            "KEYS_INSIDE": "1" if config.keys_inside else "0",
            "SESSION_KIND": config.kind,
        }
        target = "tests.adapters.fastapi_session_dependency:create"
        with start_app(target, log_dir, env=env, probe="/healthz") as base:
            yield base, name, url


@pytest.fixture(scope="module")
def _servers(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedServers[_Config, tuple[str, str, str, Path]]]:
    """One server per configuration, for the module's tests (9 starts instead of 20)."""

    @contextmanager
    def start(config: _Config) -> Iterator[tuple[str, str, str, Path]]:
        log_dir = tmp_path_factory.mktemp("dependency-exit")
        with _start(postgres_server, log_dir, config) as (base, name, url):
            yield base, name, url, log_dir

    servers: SharedServers[_Config, tuple[str, str, str, Path]] = SharedServers(start)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def served(
    _servers: SharedServers[_Config, tuple[str, str, str, Path]],
) -> Callable[..., _Served]:
    """The server of a configuration, its counters at 0 and its names as `prepare` left them."""

    def serve(**config: Any) -> _Served:
        base, name, url, log_dir = _servers(_Config(**config))
        reset(url)
        return _Served(base, name, url, LogFrom.now(log_dir))

    return serve


@pytest.mark.parametrize(
    ("scope", "keys"),
    [
        pytest.param("request", None, id="request"),
        pytest.param("function", None, id="function", marks=NEEDS_SCOPES),
        pytest.param("request", "outside", id="request-keyed"),
        pytest.param("request", "inside", id="request-keyed-inside"),
    ],
)
def test_a_save_committed_as_the_dependency_exits_is_not_told_saved(
    served: Callable[..., _Served], scope: str, keys: str | None
) -> None:
    """The exit's COMMIT fails: 504 outcome-unknown, never the view's 200 for a save not made.

    With an Idempotency-Key (its middleware outside ``install``'s, or inside), the 504 is
    what the key records, and its retry is told.
    """
    headers = {"Idempotency-Key": f"exit-commit-{uuid.uuid4()}"} if keys else {}
    app = served(commit_in_exit=True, scope=scope, keys_inside=keys == "inside")
    answers = [httpx.post(f"{app.base}/increment-then-end", headers=headers, timeout=10)]
    if keys:
        answers.append(httpx.post(f"{app.base}/increment-then-end", headers=headers, timeout=10))
    for answer in answers:
        assert answer.status_code == 504, (answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/outcome-unknown")
    assert final_count(app.url) == 0  # the connection ended before the COMMIT


@pytest.mark.parametrize(
    ("kind", "scope", "keys"),
    [
        pytest.param("async", "request", None, id="async-request"),
        pytest.param("async", "function", None, id="async-function", marks=NEEDS_SCOPES),
        pytest.param("async", "request", "outside", id="async-request-keyed"),
        pytest.param("async", "request", "inside", id="async-request-keyed-inside"),
        pytest.param("sync", "request", None, id="sync-request"),
        pytest.param("sync", "request", "inside", id="sync-request-keyed-inside"),
    ],
)
def test_a_save_its_commit_refuses_is_answered_as_the_conflict(
    served: Callable[..., _Served], kind: str, scope: str, keys: str | None
) -> None:
    """A deferred unique constraint refuses the exit's COMMIT: the 409 naming the field.

    The answer an IntegrityError raised in the view gets, not a 500 (nor the view's 200);
    nothing is stored. With an Idempotency-Key, the 409 is what the key records and replays.
    """
    headers = {"Idempotency-Key": f"refused-{uuid.uuid4()}"} if keys else {}
    app = served(commit_in_exit=True, scope=scope, keys_inside=keys == "inside", kind=kind)
    answers = [httpx.post(f"{app.base}/names", headers=headers, timeout=10)]
    if keys:
        answers.append(httpx.post(f"{app.base}/names", headers=headers, timeout=10))
    names, _, _ = stored(app.url)
    for answer in answers:
        assert answer.status_code == 409, (answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"].endswith("/unique-violation"), problem
        assert problem["conflicts"] == [
            {"fields": ["name"], "constraint": "session_names_name_key"}
        ], problem
    if keys:
        assert answers[1].headers.get("Idempotent-Replayed") == "true", answers[1].headers
    assert names == 1  # the one there before: nothing stored


def _logged(app: _Served, lines: int) -> str:
    """What the app's server logged during the test, once it holds `lines` lines saying that
    the answer formed stands (a session's close can end after its answer), or after 10 s."""
    deadline = time.monotonic() + 10
    while (log := app.log.text()).count(STANDS) < lines and time.monotonic() < deadline:
        time.sleep(0.05)
    return log


def _on_one_connection(base: str, requests: list[tuple[str, str]]) -> list[tuple[int, object]]:
    """(status, JSON body) of each request, sent one after another on one connection."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    answers: list[tuple[int, object]] = []
    try:
        for method, path in requests:
            time.sleep(0.2)  # a connection the server closes is closed by now
            connection.request(method, path)
            answer = connection.getresponse()
            answers.append((answer.status, json.loads(answer.read())))
    finally:
        connection.close()
    return answers


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_answers_keep_their_connection_when_the_close_fails(
    served: Callable[..., _Served], kind: str
) -> None:
    """A page and a committed save whose session's close fails after they were sent: kept.

    The answers formed are the answers, and the connection serves the next request.
    """
    app = served(commit_in_exit=False, scope="request", kind=kind)
    answers = _on_one_connection(
        app.base, [("GET", "/count-then-end"), ("POST", "/increment-then-end"), ("GET", "/healthz")]
    )
    assert answers == [(200, {"count": 0}), (200, {"count": 1}), (200, "ok")]
    assert final_count(app.url) == 1
    log = _logged(app, 2)
    assert "response already started" not in log, log[-3000:]
    said = [line for line in log.splitlines() if STANDS in line]
    assert len(said) == 2, log[-3000:]
    assert all(INCIDENT.search(line) for line in said), said


@NEEDS_SCOPES
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_close_that_fails_before_the_answer_leaves_the_answer_formed(
    served: Callable[..., _Served], kind: str
) -> None:
    """``scope="function"``: the close fails after the view returned, before the answer.

    The page and the committed save get the answers their views formed (200), not a 503
    and a 504 outcome-unknown for a save that is durable; the outage is logged under an
    incident, and the connection serves the next request.
    """
    app = served(commit_in_exit=False, scope="function", kind=kind)
    answers = _on_one_connection(
        app.base, [("GET", "/count-then-end"), ("POST", "/increment-then-end"), ("GET", "/healthz")]
    )
    assert answers == [(200, {"count": 0}), (200, {"count": 1}), (200, "ok")]
    assert final_count(app.url) == 1
    log = _logged(app, 2)
    said = [line for line in log.splitlines() if STANDS in line]
    assert len(said) == 2, log[-3000:]
    assert all(INCIDENT.search(line) for line in said), said


# --- served: clients incrementing while the backends are ended ------------------------------

SECONDS = 3.0


def _increment(base: str, told: Told, deadline: float) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            for method, path in [("GET", "/count"), ("POST", "/increment")]:
                try:
                    answer = http.request(method, path)
                except httpx.TransportError as error:
                    told.failed(method, error)
                else:
                    told.note(method, answer)


@pytest.mark.parametrize("commit_in_exit", [True, False], ids=["commit-in-exit", "commit-in-view"])
@pytest.mark.parametrize("scope", SCOPES)
def test_clients_incrementing_while_the_backends_are_ended(
    postgres_server: str, served: Callable[..., _Served], scope: str, commit_in_exit: bool
) -> None:
    """No dropped connection, no plain 500; no save told done is lost, none is unexplained."""
    app = served(commit_in_exit=commit_in_exit, scope=scope)
    told = Told(saved_status=200)
    deadline = time.monotonic() + SECONDS
    clients = [
        threading.Thread(target=_increment, args=(app.base, told, deadline)) for _ in range(4)
    ]
    run_while_ended(postgres_server, app.name, clients)
    final = final_count(app.url)
    said = told.summary(final)
    assert told.wrong == [], f"{said}: {told.wrong[:3]}"
    # A POST whose connection was found dead at its first statement, or lost at its UPDATE
    # before the COMMIT was sent (rolled back), applied nothing: 503 with Retry-After; the
    # count never exceeds the saves told done plus the 504s.
    assert set(told.statuses) <= {"GET 200", "GET 503", "POST 200", "POST 503", "POST 504"}, said
    assert told.statuses["POST 200"] > 0, said
    assert told.saved <= final <= told.saved + told.unknown, said


# --- served: a pure counter written with If-Match while the backends are ended --------------


@dataclass
class _Writes:
    """The versions the counter's saves were told (200) and those of the 504s' If-Match."""

    saved: list[int] = field(default_factory=list)
    unknown_from: list[int] = field(default_factory=list)


def _version(etag: str) -> int:
    return int(etag.strip('"'))


def _write_counter(base: str, told: Told, writes: _Writes, deadline: float) -> None:
    """Read n and its ETag, PUT n + 1 with If-Match, again until `deadline`.

    Past it while no client has saved yet (a loaded machine, where most reads of the
    first seconds meet an ended backend), for up to 3 times as long: the checks need a save.
    """
    last = deadline + 2 * SECONDS
    with httpx.Client(base_url=base, timeout=10) as http:
        while (now := time.monotonic()) < deadline or (not writes.saved and now < last):
            try:
                read = http.get("/counter")
            except httpx.TransportError as error:
                told.failed("GET", error)
                continue
            told.note("GET", read)
            if read.status_code != 200:
                continue
            etag = read.headers["ETag"]
            try:
                wrote = http.put(
                    "/counter", json={"n": read.json()["n"] + 1}, headers={"If-Match": etag}
                )
            except httpx.TransportError as error:
                told.failed("PUT", error)
                continue
            told.note("PUT", wrote)
            with told.lock:
                if wrote.status_code == 200:
                    writes.saved.append(_version(wrote.headers["ETag"]))
                elif wrote.status_code == 504:
                    writes.unknown_from.append(_version(etag))


@pytest.mark.parametrize(
    ("kind", "scope", "commit_in_exit"),
    # Each session kind, scope and commit place once (the async request scope is hammered
    # above too): the four pairings held alike, and each test holds 3 s of load.
    [
        pytest.param(
            "async", "function", False, id="async-function-commit-in-view", marks=NEEDS_SCOPES
        ),
        pytest.param("sync", "request", True, id="sync-request-commit-in-exit"),
    ],
)
def test_a_pure_counter_written_with_if_match_while_the_backends_are_ended(
    postgres_server: str,
    served: Callable[..., _Served],
    kind: str,
    scope: str,
    commit_in_exit: bool,
) -> None:
    """Each 200 is an increment stored, on a version of its own; no plain 500.

    The counter's version counts its stored increments (n == version - 1). Every one
    that no 200 claims is the write of a 504 (outcome unknown) whose If-Match named the
    version before it: none is a save told done and lost, none is applied unexplained.
    """
    app = served(commit_in_exit=commit_in_exit, scope=scope, kind=kind)
    told = Told(saved_status=200)
    writes = _Writes()
    deadline = time.monotonic() + SECONDS
    clients = [
        threading.Thread(target=_write_counter, args=(app.base, told, writes, deadline))
        for _ in range(4)
    ]
    run_while_ended(postgres_server, app.name, clients)
    _, n, version = stored(app.url)
    stored_versions = set(range(2, version + 1))
    unclaimed = stored_versions - set(writes.saved)
    said = (
        f"{dict(told.statuses)}, n {n}, told saved {len(writes.saved)}, "
        f"stored but not told saved {len(unclaimed)}"
    )
    assert told.wrong == [], f"{said}: {told.wrong[:3]}"
    assert set(told.statuses) <= {
        "GET 200",
        "GET 503",
        "PUT 200",
        "PUT 412",
        "PUT 503",
        "PUT 504",
    }, said
    assert writes.saved, said
    assert n == version - 1, said
    assert len(set(writes.saved)) == len(writes.saved), said  # no save told done is lost
    assert set(writes.saved) <= stored_versions, said
    assert all(v - 1 in writes.unknown_from for v in unclaimed), said  # each one a 504's
