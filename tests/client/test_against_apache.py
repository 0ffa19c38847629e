"""The client against Apache httpd's WebDAV (a real If-Match server nobody here wrote).

httpd gives a gzip answer the file's ETag with ``-gzip`` appended, and
its If-Match compares with the file's own: a write made from a
compressed read was refused 412 every time, until the budget ran out
("time budget spent; last: PUT answered 412"). And a file modified within
the last second has a weak ETag, which no If-Match matches: an update
reading it gave up at once ("came without a strong ETag"), so under any
contention nearly every update failed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    RetryPolicy,
)
from tests.client.apache import apache_dav, put_file
from tests.client.counting import count_updates

PAD = "x" * 600  # httpd compresses it (it leaves a few bytes as they are)


@pytest.fixture
def apache() -> Iterator[tuple[str, Path]]:
    with apache_dav() as running:
        yield running


def old_file(root: Path, name: str, document: dict[str, Any]) -> None:
    """A file last modified a minute ago: httpd gives it a strong ETag."""
    put_file(root, name, json.dumps(document))
    then = time.time() - 60
    os.utime(root / "docs" / name, (then, then))


def stored(root: Path, name: str) -> Any:
    return json.loads((root / "docs" / name).read_text())


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_an_update_of_a_document_httpd_compresses_lands(
    apache: tuple[str, Path], flavour: str
) -> None:
    """The read asks for the identity coding: its ETag is the one If-Match compares with."""
    url, root = apache
    old_file(root, "doc.json", {"n": 0, "pad": PAD})
    with httpx.Client() as http:  # httpd does compress it, and tags it so
        answer = http.get(f"{url}/doc.json", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["etag"].endswith('-gzip"')
    assert updated(flavour, url, "doc.json", clients=1, updates=1, budget=3.0) == (1, [])
    assert stored(root, "doc.json")["n"] == 1


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_document_written_within_the_second_is_read_again(
    apache: tuple[str, Path], flavour: str
) -> None:
    """A weak ETag of a file modified within a second of the answer's Date: read after 1 s."""
    url, root = apache
    put_file(root, "fresh.json", json.dumps({"n": 0}))
    with httpx.Client() as http:
        assert http.get(f"{url}/fresh.json").headers["etag"].startswith("W/")
    assert updated(flavour, url, "fresh.json", clients=1, updates=1, budget=5.0) == (1, [])
    assert stored(root, "fresh.json")["n"] == 1


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_concurrent_counters_through_httpd_all_land(apache: tuple[str, Path], flavour: str) -> None:
    """3 clients x 2 increments each, PUT If-Match (httpd has no PATCH): every one lands.

    Before, every one of the 6 gave up after its 20 s (412 after 412). The
    final count is at most 6, not exactly: httpd checks If-Match and then
    writes, not in one step (4 PUTs with the same If-Match at once: two
    answered 204 in 8 of 20 trials), so it may lose an update whatever a
    client does. No update counts twice.
    """
    url, root = apache
    old_file(root, "counter.json", {"n": 0, "pad": PAD})
    assert updated(flavour, url, "counter.json", clients=3, updates=2, budget=20.0) == (6, [])
    assert 1 <= stored(root, "counter.json")["n"] <= 6


def updated(
    flavour: str, url: str, name: str, *, clients: int, updates: int, budget: float
) -> tuple[int, list[str]]:
    policy = RetryPolicy(budget=budget)
    return count_updates(flavour, url, f"/{name}", clients=clients, updates=updates, policy=policy)
