"""A key whose value is hostile text: classified in linear time, by the words the server wrote.

The values in PostgreSQL's foreign key detail are another caller's text.
The regular expressions that read ``Key (a)=(1) is not present in table
"t".`` backtracked over them when the detail was the other kind (or in
another language): the DELETE of a row whose 6 KB key is ``Key (a)=(x``
repeated (a repetitive key is compressed, so its index accepts it) took
7.8 s of CPU to turn into its 409, a 20 KB one minutes. A value holding
the other kind's words was taken for that kind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integrity.databases import POSTGRES

from httpconflict import classify, integrity_problem

SCHEMA = f"hc_hostile_keys_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def connection(postgres_server: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}")
        conn.execute("CREATE TABLE parents (name TEXT PRIMARY KEY)")
        conn.execute("CREATE TABLE children (id INTEGER, parent TEXT REFERENCES parents)")
        try:
            yield conn
        finally:
            conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def _refused_delete(conn: Any, name: str) -> BaseException:
    import psycopg

    conn.execute("INSERT INTO parents VALUES (%s)", (name,))
    conn.execute("INSERT INTO children VALUES (1, %s)", (name,))
    with pytest.raises(psycopg.IntegrityError) as refused:
        conn.execute("DELETE FROM parents WHERE name = %s", (name,))
    return refused.value


def test_a_backtracking_key_is_classified_in_linear_time(connection: Any) -> None:
    """A 3 KB referenced key of ``Key (a)=(x`` repeated: a 409 still-referenced in under 50 ms."""
    error = _refused_delete(connection, "Key (a)=(x" * 300)
    started = time.perf_counter()
    problem = integrity_problem(error)
    took = time.perf_counter() - started
    assert problem is not None
    assert (problem.status, problem.type.rsplit("/", 1)[-1]) == (409, "still-referenced")
    assert took < 0.05, f"{took:.2f} s to classify"


def test_a_key_holding_the_other_kinds_words_is_still_referenced(connection: Any) -> None:
    """A key holding ``) is not present in table "x`` is still a row others refer to."""
    error = _refused_delete(connection, 'a) is not present in table "evil')
    violation = classify(error)
    assert violation is not None
    assert (violation.referenced, violation.table) == (True, "children")
    assert violation.values == ('a) is not present in table "evil',)
    problem = integrity_problem(error)
    assert problem is not None
    assert (problem.status, problem.type.rsplit("/", 1)[-1]) == (409, "still-referenced")
