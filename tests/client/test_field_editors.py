"""Concurrent editors of different fields of one document, through `ConflictClient.update`.

Each editor keeps a pure counter of its own field (reads n, writes n + 1,
nothing else): a top-level member, or a member of a shared nested object,
so its merge patch touches only that pointer and a stale one is merged by
the server (``Prefer: rebase``) beside the others' changes. Every field
must end at exactly the number of updates that editor was told succeeded,
and some updates must have been merged from a stale version, or the test
did not test the merge. Two workers, on SQLite and on PostgreSQL: each
worker reads the history and writes on its own connection.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import ConflictClient, RetryPolicy
from tests.conftest import _schema_url
from tests.servers import ServiceProcess, start_service

EDITORS = 6
UPDATES = 8
POLICY = RetryPolicy(attempts=500, budget=120.0, base=0.005, cap=0.1)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """Two workers on SQLite, then on PostgreSQL; a 503 `contended` is an answer they may give.

    A rebased write is pinned to the version it was computed on, and one that
    loses its race 8 times running is answered 503 `contended`, nothing
    applied: six editors of one document make that happen.
    """
    log_dir = tmp_path_factory.mktemp("log")
    if request.param == "sqlite":
        dbs: Iterator[str] = iter([str(log_dir / "service.db")])
    else:
        dbs = _schema_url(request.getfixturevalue("postgres_server"))
    for db in dbs:
        with start_service(db, log_dir, workers=2, allowed_5xx=frozenset({503})) as proc:
            yield proc


def _increment(field: str, nested: bool) -> Any:
    def change(doc: dict[str, Any]) -> dict[str, Any]:
        if nested:
            doc["counts"][field] += 1
        else:
            doc[field] += 1
        return doc

    return change


@pytest.mark.parametrize("sharing", [1, 2], ids=["one-editor-a-field", "two-editors-a-field"])
@pytest.mark.parametrize("nested", [False, True], ids=["members", "nested-members"])
def test_editors_of_different_fields_lose_no_edit(
    two_workers: ServiceProcess, *, nested: bool, sharing: int
) -> None:
    """6 editors x 8 updates of a field: each field ends at the successes of its editors."""
    service = two_workers
    fields = [f"f{n}" for n in range(EDITORS // sharing)]
    start = dict.fromkeys(fields, 0)
    document: dict[str, Any] = {"counts": start} if nested else dict(start)
    url = f"/v1/editors/{uuid.uuid4().hex}"
    with httpx.Client(base_url=service.url, timeout=30) as http:
        assert http.put(url, json=document, headers={"If-None-Match": "*"}).status_code == 201
    done = dict.fromkeys(fields, 0)
    rebased: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(EDITORS)

    def edit(field: str) -> None:
        try:
            with (
                httpx.Client(base_url=service.url, timeout=30) as http,
                ConflictClient(http, policy=POLICY) as client,
            ):
                barrier.wait()
                for _ in range(UPDATES):
                    stored = client.update(url, _increment(field, nested))
                    with lock:
                        done[field] += 1
                        if stored.rebased_from is not None:
                            rebased.append(field)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    lock = threading.Lock()
    threads = [
        threading.Thread(target=edit, args=(fields[n % len(fields)],)) for n in range(EDITORS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:1]
    with httpx.Client(base_url=service.url, timeout=30) as http:
        final = http.get(url).json()
    counts = final["counts"] if nested else final
    path = url
    answers = sorted(
        f"{r['status']} {r.get('problem') or ''}".strip()
        for r in service.access_log()
        if r["path"] == path and r["method"] == "PATCH"
    )
    print(f"{len(rebased)} of {EDITORS * UPDATES} merged; PATCH answers {_tally(answers)}")
    assert counts == done == dict.fromkeys(fields, UPDATES * sharing)
    assert rebased, "no update was merged: the editors never raced"


def _tally(answers: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer] = counts.get(answer, 0) + 1
    return counts
