"""A large realistic log: 200,000 nginx lines of a day in +02:00, counted exactly, in
reasonable time, with the one real burst found and named among chance clusters.

The day is `realistic.traffic` (pages, static files, an API with ids and
queries, 3,886 conflicts spread at random) plus a client that retried one
note for a minute and got 412 each time. With 1-minute buckets the day has
about 1.2 412s a minute, so minutes of five and six happen by chance: the
old median rule called about ten of them spikes; only the retrying client is.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import httpconflict.tools.logs.tally as tally_module
from httpconflict.tools.logs.buckets import bucket_start
from httpconflict.tools.logs.entry import AccessEntry
from httpconflict.tools.logs.tally import Tally
from tests.logs.realistic import DAY, Hit, lines, traffic
from tests.logs.running import logs_json, rows, timeline, write_log

pytestmark = pytest.mark.slow

LINES = 200_000
RETRIES = 40
RETRY_AT = DAY + timedelta(hours=6, minutes=31)  # 13:31 local
RETRY_CLIENT = "198.51.100.77"


def _day() -> list[Hit]:
    hits = traffic(LINES - RETRIES, seed=11, start=DAY, span=timedelta(hours=24))
    retry = Hit(
        RETRY_AT, "PUT", "/api/v2/notes/8812", "/api/v2/notes/{id}", 412, RETRY_CLIENT, "okhttp"
    )
    retries = [replace(retry, when=RETRY_AT + timedelta(seconds=n)) for n in range(RETRIES)]
    return sorted(hits + retries, key=lambda hit: hit.when)


def _timed(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, Any], float]:
    began = time.perf_counter()
    report = logs_json(capsys, *argv)
    return report, time.perf_counter() - began


def test_a_large_log_is_counted_exactly_and_its_burst_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every count matches the generator; the run takes seconds; one spike, the retries."""
    hits = _day()
    conflicts = [hit for hit in hits if hit.status in (409, 412, 428)]
    path = write_log(tmp_path / "access.log", lines(hits))
    report, seconds = _timed(capsys, str(path))
    with capsys.disabled():
        print(f"\n{LINES} lines ({path.stat().st_size / 1e6:.1f} MB) read in {seconds:.2f} s")
    assert report["lines"]["requests"] == LINES
    assert report["conflicts"]["total"] == len(conflicts)
    assert rows(report, "routes", "route") == Counter((h.route, h.status) for h in conflicts)
    assert rows(report, "clients", "client") == Counter((h.client, h.status) for h in conflicts)
    assert report["bucket"]["seconds"] == 900
    assert timeline(report) == Counter((_local_bucket(hit, 900), hit.status) for hit in conflicts)
    assert [(s["start"], s["status"]) for s in report["spikes"]] == [
        ("2026-11-24T13:30:00+02:00", 412)
    ]
    assert seconds < 60  # about 3 s on an idle laptop core

    minutes, seconds = _timed(capsys, str(path), "--bucket", "1m")
    with capsys.disabled():
        print(f"again with 1-minute buckets in {seconds:.2f} s")
    (spike,) = minutes["spikes"]
    assert (spike["start"], spike["status"]) == ("2026-11-24T13:31:00+02:00", 412)
    assert spike["clients"][0] == {"client": RETRY_CLIENT, "count": RETRIES}
    assert spike["routes"][0]["route"] == "/api/v2/notes/{id}"
    per_minute = Counter(_local_bucket(hit, 60) for hit in conflicts if hit.status == 412)
    chance = [minute for minute, n in per_minute.items() if 5 <= n < RETRIES]
    assert len(chance) >= 5  # the minutes the old rule called spikes


def _local_bucket(hit: Hit, length: int) -> str:
    """The start of the bucket holding `hit`, on the +02:00 clock, as the report writes it."""
    start = bucket_start(hit.when.timestamp(), length, 7200)
    return datetime.fromtimestamp(start, timezone(timedelta(hours=2))).isoformat()


def test_distinct_keys_past_the_limit_are_counted_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log of millions of distinct conflict paths took gigabytes (2.76 GB for 3 million):
    each table keeps `MAX_KEYS` keys, and counts the rest together, exactly in total."""
    monkeypatch.setattr(tally_module, "MAX_KEYS", 100)
    tally = Tally()
    for n in range(1000):
        tally.add(
            AccessEntry(
                log_format="combined",
                status=409,
                method="PUT",
                target=f"/blog/post-about-topic-{n}",
                time=None,
                client=f"203.0.113.{n % 250}",
                offset=None,
                agent=None,
                problem="edit-conflict",
            )
        )
    assert len(tally.routes) == 101
    assert sum(tally.routes.values()) == 1000
    assert tally.routes[tally_module.OTHERS, 409] == 900
    assert len(tally.clients) == 101
    assert sum(tally.clients.values()) == 1000
    assert tally.routes["/blog/post-about-topic-5", 409] == 1
