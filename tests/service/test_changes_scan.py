"""A document's changes far behind: looked for a slice at a time, and found whole.

A read of the feed for one document (``id=``) from far behind looks
through every seq since: on SQLite, in the worker's event loop. Found by
an adversarial run: ``?id=nothere&since=0`` over a million changes held
the loop 164 ms per request, and 100 of them kept a plain GET waiting
10.9 s. The feed now reads at most `SCAN` seqs at once, the loop free
between; these tests check that nothing is lost by it: a change found
past many slices, an empty page only once caught up, and a stream.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from httpconflict.service.changes import SCAN
from tests.servers import ServiceProcess, start_service
from tests.sse import events

#: Changes of other documents before the one looked for: several slices' worth.
OTHERS = 3 * SCAN + 123
PAGE = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def far_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, int]]:
    """The service on SQLite, `OTHERS` changes of other documents, then one of `target`."""
    tmp = tmp_path_factory.mktemp("scan")
    db = tmp / "service.db"
    with start_service(str(db), tmp) as service:
        _add_changes(db, OTHERS)
        created = httpx.put(
            f"{service.url}/v1/c/target", json={"n": 1}, headers={"If-None-Match": "*"}
        )
        assert created.status_code == 201, created.text
        latest = httpx.get(f"{service.url}/v1/c/_changes?since=now", headers=PAGE)
        yield service, latest.json()["last_seq"]


def _add_changes(db: Path, count: int) -> None:
    """`count` changes of other documents of the collection, as if written long ago."""
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO changes (collection, id, version, etag, modified_us) "
            "VALUES ('c', ?, 1, 'e', 0)",
            ((f"other-{n}",) for n in range(count)),
        )


def test_a_documents_change_far_behind_is_found(far_behind: tuple[ServiceProcess, int]) -> None:
    """One page from since=0: the target's change, past every slice of the others."""
    service, latest = far_behind
    page = httpx.get(f"{service.url}/v1/c/_changes?id=target&since=0", headers=PAGE).json()
    assert [(r["id"], r["seq"]) for r in page["results"]] == [("target", latest)]
    assert page["last_seq"] == latest


def test_an_empty_page_means_caught_up(far_behind: tuple[ServiceProcess, int]) -> None:
    """No change of the document anywhere: empty, and last_seq is the latest (not a slice's end:
    a client paging until an empty page would stop short)."""
    service, latest = far_behind
    page = httpx.get(f"{service.url}/v1/c/_changes?id=nothere&since=0", headers=PAGE).json()
    assert page == {"results": [], "last_seq": latest}


def test_a_stream_of_one_document_from_far_behind(far_behind: tuple[ServiceProcess, int]) -> None:
    """The stream from since=0 sends the target's change, then heartbeats at the latest."""
    service, latest = far_behind
    headers = {"Accept": "text/event-stream"}
    url = f"{service.url}/v1/c/_changes?id=target&since=0&heartbeat=1"
    with httpx.stream("GET", url, headers=headers, timeout=30) as answer:
        assert answer.status_code == 200
        seen = []
        for event in events(answer):
            seen.append((event.event, event.data.get("id"), event.data["seq"]))
            if event.event == "heartbeat" and event.data["seq"] == latest:
                break
    changes = [s for s in seen if s[0] == "change"]
    assert changes == [("change", "target", latest)]
