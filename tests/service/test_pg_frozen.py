"""PostgreSQL frozen (SIGSTOP: it accepts connections and answers nothing), then thawed.

A frozen database, or one cut off by the network without a reset, leaves a
statement already sent waiting on its socket for as long as TCP keeps
trying (minutes). With `--pg-statement-timeout 1`, every request is
answered within a few seconds instead: a read 503 and a write 504 (it may
yet commit: the frozen server holds it), each with Retry-After. Once the
database is thawed, the writes' resends with their Idempotency-Keys tell
what became of them, and exactly the writes answered 200 are in the
document: nothing lost, nothing applied twice.

The server frozen is the test's own (tests/private_postgres.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.private_postgres import PrivatePostgres
from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service

from .auth_helpers import bearer, create_token

DEADLINE = 1.0
#: The deadline, a wait for a pooled connection (1 s) and room for a loaded machine.
ANSWERED_WITHIN = DEADLINE + 1.0 + 3.0
WRITERS = 4


@pytest.fixture
def service(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[ServiceProcess]:
    with start_service(
        private_postgres.url,
        tmp_path,
        extra=("--pg-statement-timeout", str(DEADLINE)),
        allowed_5xx=frozenset({503, 504}),
    ) as running:
        yield running


def server_processes(postgres: PrivatePostgres) -> list[int]:
    """The postmaster and every process it started (backends included), from /proc."""
    postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == postmaster:
                children.append(int(stat.parent.name))
    return [postmaster, *children]


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
            os.kill(pid, sig)


def test_a_frozen_database_gets_answers_within_the_deadline_and_loses_nothing(
    service: ServiceProcess, private_postgres: PrivatePostgres
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        created = http.put("/v1/counters/c", json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
        etag = created.headers["etag"]
        keys = [str(uuid.uuid4()) for _ in range(WRITERS)]

        def write(key: str) -> httpx.Response:
            headers = {"If-Match": etag, "Idempotency-Key": key}
            return http.put("/v1/counters/c", json={"n": 1}, headers=headers)

        def read(_: int) -> httpx.Response:
            return http.get("/v1/counters/c")

        frozen = server_processes(private_postgres)
        signal_all(frozen, signal.SIGSTOP)
        try:
            began = time.monotonic()
            with ThreadPoolExecutor(2 * WRITERS) as pool:
                writes = list(pool.map(write, keys))
                reads = list(pool.map(read, range(WRITERS)))
            took = time.monotonic() - began
            health = http.get("/healthz")
        finally:
            signal_all(frozen, signal.SIGCONT)

        print(f"frozen: {len(writes) + len(reads)} requests answered in {took:.2f} s")
        assert took < 2 * ANSWERED_WITHIN, f"answered in {took:.1f} s"
        for answer in writes:
            assert answer.status_code in (503, 504), answer.text
            assert_problem(answer, answer.status_code)
            assert int(answer.headers["retry-after"]) >= 1
        for answer in reads:
            assert_problem(answer, 503, "unavailable")
            assert int(answer.headers["retry-after"]) >= 1
        assert health.status_code == 503, health.text

        # Thawed: each write sent again with its key says what became of it.
        deadline = time.monotonic() + 30
        outcomes: list[int] = []
        for key in keys:
            while (answer := write(key)).status_code >= 500:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.2)
            outcomes.append(answer.status_code)
        stored = http.get("/v1/counters/c")
    print(f"statuses while frozen {[a.status_code for a in writes + reads]}, resends {outcomes}")
    assert set(outcomes) <= {200, 412}, outcomes
    applied = outcomes.count(200)
    assert applied <= 1, f"one If-Match, several writes answered 200: {outcomes}"
    assert stored.json() == {"n": applied}, (stored.json(), outcomes)


def test_a_token_lookup_in_a_frozen_database_keeps_the_deadline(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """The API tokens sit beside the documents and follow `--pg-statement-timeout` too.

    A token never seen before is looked up in the database: frozen, that
    is a 503 within the deadline, not the 15 s of the default.
    """
    token = create_token(private_postgres.url, "frozen", "writer")
    extra = (
        "--pg-statement-timeout",
        str(DEADLINE),
        "--auth",
        "tokens",
        "--grant",
        "read=authenticated",
    )
    with (
        start_service(
            private_postgres.url, tmp_path, extra=extra, allowed_5xx=frozenset({503})
        ) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        assert http.get("/v1/counters/absent").status_code == 401  # the database answers
        frozen = server_processes(private_postgres)
        signal_all(frozen, signal.SIGSTOP)
        try:
            began = time.monotonic()
            answer = http.get("/v1/counters/absent", headers=bearer(token))
            took = time.monotonic() - began
        finally:
            signal_all(frozen, signal.SIGCONT)
        print(f"token lookup while frozen: {answer.status_code} in {took:.2f} s")
        assert_problem(answer, 503, "unavailable")
        assert took < ANSWERED_WITHIN, f"answered in {took:.1f} s"
        assert http.get("/v1/counters/absent", headers=bearer(token)).status_code == 404


def test_a_frozen_postgresql_replay_cache_costs_each_write_half_a_second_at_most(
    private_postgres: PrivatePostgres, postgres_schema: str, tmp_path: Path
) -> None:
    """Keys cached in another PostgreSQL (frozen) than the documents': keyed writes go on.

    The cache's statements get the cache's 0.5 s, after which it is left
    alone for a second: 10 keyed POSTs in a row all create their document
    (the record in the documents' database decides), in well under the
    15 s one statement used to wait.
    """
    extra = ("--idempotency", private_postgres.url)
    with (
        start_service(postgres_schema, tmp_path, extra=extra) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):

        def post(key: str) -> httpx.Response:
            return http.post("/v1/notes", json={"n": 1}, headers={"Idempotency-Key": key})

        first = str(uuid.uuid4())
        made = post(first)  # the cache answers, and has the copy
        assert made.status_code == 201, made.text
        frozen = server_processes(private_postgres)
        signal_all(frozen, signal.SIGSTOP)
        try:
            began = time.monotonic()
            answers = [post(str(uuid.uuid4())) for _ in range(10)]
            replay = post(first)
            took = time.monotonic() - began
        finally:
            signal_all(frozen, signal.SIGCONT)
        listed = http.get("/v1/notes").json()
    print(f"11 keyed POSTs with the cache frozen: {took:.2f} s")
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers]
    assert replay.status_code == 201, replay.text  # replayed from the documents' record
    assert replay.headers["location"] == made.headers["location"]
    assert len(listed["items"]) == 11, listed
    assert took < 10 * 0.5 + 3.0, f"took {took:.1f} s"
