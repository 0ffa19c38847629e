"""A database setting that refused the service's statements, changed back: writes are taken again.

PostgreSQL gives a session the database's defaults (``ALTER DATABASE ...
SET``) when it begins, and the session keeps them. A real server on a
database of its own: made read-only (``default_transaction_read_only``),
or given a ``statement_timeout`` of a millisecond, its sessions ended so
that the service's pool makes new ones under the setting; writes then get
503 with Retry-After. The setting is reset, as an operator undoes a
mistake, and nothing else is done: no session is ended. The service's
pooled sessions made meanwhile kept the setting, and refused every write
until they ended of age, an hour later (checked for 20 s: every write
refused); now the first refusal has the pool make its sessions again, and
writes are taken within a few seconds. A pure counter equals the writes
acknowledged.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.own_database import own_database as fresh_database
from tests.servers import start_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOC = "/v1/settings/counter"
#: Documents listed before each increment, and their padding: each batch of
#: the list reads half a megabyte, which mostly takes more than a millisecond.
#: Random, so that PostgreSQL cannot compress it to a few bytes.
MANY = 1000
PAD = secrets.token_hex(1000)
#: How soon after the reset the writes must be taken again (a renewal a second, a loaded machine).
TAKEN_WITHIN = 10.0


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(name, URL) of a fresh database, dropped afterwards."""
    with fresh_database(postgres_server, "hc_settings") as made:
        yield made


def alter(postgres_server: str, name: str, change: str, *, end_sessions: bool) -> None:
    """``ALTER DATABASE name change``; with `end_sessions`, its sessions ended and gone."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} {change}")
        if not end_sessions:
            return
        sessions = "FROM pg_stat_activity WHERE datname = %s"
        admin.execute(f"SELECT pg_terminate_backend(pid) {sessions}", (name,))
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT count(*) {sessions}", (name,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "sessions not ended in 10 s"
            time.sleep(0.01)


def increment(http: httpx.Client) -> httpx.Response | None:
    """List the collection, read the counter, write n + 1 with If-Match (None: the list cut).

    The list (statements of some milliseconds each) is what a 1 ms timeout
    always refuses; a read of one row may pass it. A batch refused once the
    list's answer has begun cuts it short.
    """
    try:
        listed = http.get(f"/v1/many?limit={MANY}")
    except httpx.RemoteProtocolError:
        return None
    if listed.status_code != 200:
        return listed
    read = http.get(DOC)
    if read.status_code != 200:
        return read
    match = {"If-Match": read.headers["etag"]}
    return http.put(DOC, json={"n": read.json()["n"] + 1}, headers=match)


def assert_refused(answer: httpx.Response | None) -> None:
    """A 503 with Retry-After, or a list cut short."""
    if answer is not None:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    "setting",
    ["default_transaction_read_only = on", "statement_timeout = '1ms'"],
    ids=["read-only", "statement-timeout"],
)
def test_a_setting_changed_back_is_in_force_without_ending_sessions(
    postgres_server: str, own_database: tuple[str, str], tmp_path: Path, setting: str
) -> None:
    """Refused while set (503 with Retry-After); reset: writes taken within seconds, none lost."""
    name, url = own_database
    with (
        start_service(url, tmp_path, allowed_5xx=frozenset({503})) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        assert http.put(DOC, json={"n": 0}, headers={"If-None-Match": "*"}).status_code == 201
        for n in range(MANY):
            body = {"n": n, "pad": PAD}
            made = http.put(f"/v1/many/{n}", json=body, headers={"If-None-Match": "*"})
            assert made.status_code == 201, made.text
        acknowledged = 0
        for _ in range(3):
            taken = increment(http)
            assert taken is not None
            assert taken.status_code == 200, taken.text
            acknowledged += 1
        alter(postgres_server, name, f"SET {setting}", end_sessions=True)
        refused = 0
        for _ in range(5):  # the list, or the write, refused
            answer = increment(http)
            if answer is not None and answer.status_code == 200:
                # A millisecond is a race: each of a list's statements (a
                # batch) passed it now and then (3 of 50 here), and on a fast
                # machine all of one list's once (CI). What passed is counted.
                assert setting.startswith("statement_timeout"), answer.text
                acknowledged += 1
                continue
            assert_refused(answer)
            refused += 1
        assert refused >= 3, f"only {refused} of 5 refused while {setting}"
        alter(postgres_server, name, f"RESET {setting.split(' = ')[0]}", end_sessions=False)
        reset = time.monotonic()
        taken_in_a_row = 0
        while taken_in_a_row < 10:
            assert time.monotonic() - reset < TAKEN_WITHIN, "writes still refused after the reset"
            answer = increment(http)
            if answer is not None and answer.status_code == 200:
                acknowledged += 1
                taken_in_a_row += 1
            else:
                assert_refused(answer)
                taken_in_a_row = 0
                time.sleep(0.1)
        assert http.get(DOC).json()["n"] == acknowledged
