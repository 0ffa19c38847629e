"""Read your writes right after a database outage: a page asked after a write holds it.

A feed request waits for its worker's pump to reach every change committed
when it came (tests/service/test_changes_after_write.py). Through an
outage the pump's polls fail and it backs off, up to 2 s between polls;
the database back, the first requests came while the pump still slept out
its backoff with its last poll's failure on record, and answered at once
from a watermark from before the outage: a page asked right after a write
was answered lacked it, and ``since=now`` began before it. A request that
reads the database's bounds knows the database answers: its pump polls at
once. Here PostgreSQL (a private server) stops for 4 s under two
instances; then, for 3 s, rounds of a pure counter n + 1 written with
If-Match on one instance and a page asked on the other.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.private_postgres import PrivatePostgres
from tests.servers import start_service

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Seconds PostgreSQL stays down: the pump's backoff grows to more than a second.
DOWN = 4.0
#: Seconds of rounds once it is back.
AFTER = 3.0
OUTAGE = frozenset({503, 504})


def _written(http: httpx.Client, doc: str, n: int, etag: str) -> str:
    """Write n with If-Match `etag`, sent again (same key) until definitive; the new ETag."""
    headers = {"If-Match": etag, "Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + 30
    while True:
        try:
            answer = http.put(doc, json={"n": n}, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code == 200:
            return answer.headers["etag"]
        assert answer is None or answer.status_code in OUTAGE, answer.text
        assert time.monotonic() < deadline, "no write for 30 s"
        time.sleep(0.02)


def test_a_page_asked_after_a_write_holds_it_once_the_database_is_back(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    url = private_postgres.url
    collection = f"back-{uuid.uuid4().hex[:8]}"
    doc, feed = f"/v1/{collection}/counter", f"/v1/{collection}/_changes"
    with (
        start_service(url, tmp_path, allowed_5xx=OUTAGE) as writer,
        start_service(url, tmp_path, allowed_5xx=OUTAGE) as reader,
        httpx.Client(base_url=writer.url, timeout=10) as writes,
        httpx.Client(base_url=reader.url, timeout=10) as reads,
    ):
        made = writes.put(doc, json={"n": 0}, headers={"If-None-Match": "*"})
        assert made.status_code == 201, made.text
        etag = made.headers["etag"]
        seen = reads.get(feed, params={"since": "now"}).json()["last_seq"]
        private_postgres.stop()
        down_until = time.monotonic() + DOWN
        while time.monotonic() < down_until:  # the pump runs on, its polls failing
            reads.get(feed, params={"since": "now"})
            time.sleep(0.2)
        private_postgres.start()
        n, missed = 0, []
        rounds_until = time.monotonic() + AFTER
        while time.monotonic() < rounds_until:
            n += 1
            etag = _written(writes, doc, n, etag)
            page = {"since": seen, "limit": 1000}
            while (answer := reads.get(feed, params=page)).status_code in OUTAGE:
                time.sleep(0.02)
            assert answer.status_code == 200, answer.text
            versions = [c["version"] for c in answer.json()["results"]]
            if not versions or versions[-1] != n + 1:
                missed.append((n, versions))
            seen = max(seen, answer.json()["last_seq"])
        assert n >= 10, f"only {n} rounds in {AFTER} s"
        assert missed == [], f"{len(missed)} of {n} pages lacked the write just answered: {missed}"
        assert writes.get(doc).json() == {"n": n}
