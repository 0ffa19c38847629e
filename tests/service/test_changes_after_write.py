"""A feed request asked after a write's answer starts after that write (read your writes).

The feed answers from its worker's pump, which polls the database: a page
asked the moment a write was answered, of another worker or another
instance, found the pump not yet past the write, and answered without it
(``last_seq`` short of it), as if the write had not happened; ``since=now``
then began before it. A feed request now waits (briefly) for its pump to
reach every change committed when it came. Each round here writes a pure
counter n + 1 with If-Match on one connection, then asks the feed on
another: on two workers of one SQLite file, and on two instances on one
PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ServiceProcess, start_service

ROUNDS = 60


@pytest.fixture(params=["sqlite", "postgres"])
def writer_and_reader(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """Two services on one database: two workers of one SQLite file, or two PostgreSQL instances."""
    if request.param == "sqlite":
        with start_service(str(tmp_path / "feed.db"), tmp_path, workers=2) as service:
            service.wait_for_workers(2)
            yield service, service
        return
    url = request.getfixturevalue("postgres_schema")
    with start_service(url, tmp_path) as writer, start_service(url, tmp_path) as reader:
        yield writer, reader


def test_a_page_asked_after_a_write_holds_it(
    writer_and_reader: tuple[ServiceProcess, ServiceProcess],
) -> None:
    writer, reader = writer_and_reader
    collection = f"after-{uuid.uuid4().hex[:8]}"
    doc = f"/v1/{collection}/counter"
    feed = f"/v1/{collection}/_changes"
    with (
        httpx.Client(base_url=writer.url, timeout=10) as writes,
        httpx.Client(
            base_url=reader.url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        ) as reads,
    ):
        made = writes.put(doc, json={"n": 0}, headers={"If-None-Match": "*"})
        assert made.status_code == 201, made.text
        etag, seen = made.headers["etag"], 0
        missed: list[tuple[int, list[int]]] = []
        began: list[tuple[int, list[int]]] = []
        for n in range(1, ROUNDS + 1):
            now = reads.get(feed, params={"since": "now"}).json()["last_seq"]
            written = writes.put(doc, json={"n": n}, headers={"If-Match": etag})
            assert written.status_code == 200, written.text
            etag = written.headers["etag"]
            answer = reads.get(feed, params={"since": seen})
            assert answer.status_code == 200, answer.text
            versions = [c["version"] for c in answer.json()["results"]]
            if not versions or versions[-1] != n + 1:
                missed.append((n, versions))
            seen = answer.json()["last_seq"]
            # "now" asked before the write starts before it: the write follows it.
            after_now = reads.get(feed, params={"since": now}).json()["results"]
            if [c["version"] for c in after_now] != [n + 1]:
                began.append((n, [c["version"] for c in after_now]))
        assert missed == [], f"{len(missed)} of {ROUNDS} pages lacked the write just answered"
        assert began == [], f"{len(began)} of {ROUNDS} 'now's began before an earlier write"
        assert writes.get(doc).json() == {"n": ROUNDS}
