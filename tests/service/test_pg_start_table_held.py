"""An instance starting while another transaction holds the documents table stops no other.

Each start runs the stores' DDL, and much of it locks the tables it names
even with nothing left to do: ``ALTER TABLE documents ADD COLUMN`` takes
ACCESS EXCLUSIVE before it finds the column there, ``CREATE INDEX IF NOT
EXISTS`` SHARE before it finds the index. A lock that waits holds every
later request on the table behind it. So a second instance (or a worker
uvicorn replaced) starting while a backup read the table (pg_dump holds
ACCESS SHARE for the whole dump) stopped every request of the running
instance until the dump ended: GETs 503 and POSTs 504 at the statement
deadline, each. Here another session holds the table, as a dump's read
or as a long write; the second instance must start, and the first must
answer meanwhile as fast as ever (the DDL waits half a second at most for
a lock, and is let through when everything it makes is there).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import LiteralString

import pytest

from tests.servers import ServiceProcess, start_service
from tests.service.held_tables import table_held

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: The first instance's statement deadline: a request stuck behind the lock gets its 5xx then.
DEADLINE = "3"
#: The slowest answer allowed meanwhile: the DDL's wait (0.5 s), and room for a loaded machine.
SLOWEST = 1.5


@pytest.mark.parametrize(
    "held_by",
    [
        pytest.param("SELECT count(*) FROM documents", id="a-dump-s-read"),
        pytest.param(
            "UPDATE documents SET modified_us = modified_us WHERE id = 'held'", id="a-long-write"
        ),
    ],
)
def test_a_start_while_the_table_is_held_stops_no_other_instance(
    postgres_schema: str, tmp_path: Path, held_by: LiteralString
) -> None:
    """The second instance starts; the first answers reads and writes at once meanwhile."""
    extra = ("--pg-statement-timeout", DEADLINE)
    with start_service(postgres_schema, tmp_path, extra=extra) as first, first.client() as http:
        assert http.put("/v1/c/held", json={"n": 0}).status_code == 201
        started: list[ServiceProcess] = []
        done = threading.Event()

        def second() -> None:
            try:
                with start_service(postgres_schema, tmp_path) as running:
                    started.append(running)
                    done.wait(30)
            finally:
                done.set()

        starting = threading.Thread(target=second, daemon=True)
        with contextlib.ExitStack() as stack:
            # Whatever fails, the second instance is stopped before the first.
            stack.callback(starting.join, 20)
            stack.callback(done.set)
            stack.enter_context(table_held(postgres_schema, held_by))
            starting.start()
            slowest = 0.0
            deadline = time.monotonic() + 30
            while not started and time.monotonic() < deadline and starting.is_alive():
                for method, url, body in (("GET", "/v1/c/held", None), ("POST", "/v1/c", {})):
                    began = time.monotonic()
                    answer = http.request(method, url, json=body)
                    slowest = max(slowest, time.monotonic() - began)
                    assert answer.status_code < 300, f"{method}: {answer.text}"
            assert started, "the second instance did not start while the table was held"
            with started[0].client() as other:
                assert other.get("/v1/c/held").status_code == 200
        assert slowest < SLOWEST, f"an answer took {slowest:.2f} s while the second one started"
