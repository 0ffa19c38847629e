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

import asyncio
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    ConflictError,
    RetryPolicy,
)
from tests.client.apache import apache_dav, put_file

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


def increment(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "n": document["n"] + 1}


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
    result = run(flavour, url, "doc.json", updates=1, clients=1, budget=3.0)
    assert result == {"ok": 1, "errors": []}
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
    result = run(flavour, url, "fresh.json", updates=1, clients=1, budget=5.0)
    assert result == {"ok": 1, "errors": []}
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
    result = run(flavour, url, "counter.json", updates=2, clients=3, budget=20.0)
    assert result == {"ok": 6, "errors": []}
    assert 1 <= stored(root, "counter.json")["n"] <= 6


def run(flavour: str, base: str, name: str, *, updates: int, clients: int, budget: float) -> Any:
    """`clients` clients each updating `name` `updates` times: how many succeeded, the errors."""
    policy = RetryPolicy(budget=budget)
    errors: list[str] = []
    ok = 0

    def one_sync() -> None:
        nonlocal ok
        with httpx.Client(base_url=base, timeout=5) as http:
            client = ConflictClient(http, policy=policy)
            for _ in range(updates):
                try:
                    client.update(f"/{name}", increment)
                    ok += 1
                except ConflictError as error:
                    errors.append(str(error))

    async def one_async() -> None:
        nonlocal ok
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            client = AsyncConflictClient(http, policy=policy)
            for _ in range(updates):
                try:
                    await client.update(f"/{name}", increment)
                    ok += 1
                except ConflictError as error:
                    errors.append(str(error))

    async def all_async() -> None:
        await asyncio.gather(*(one_async() for _ in range(clients)))

    if flavour == "sync":
        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(one_sync) for _ in range(clients)]:
                future.result()
    else:
        asyncio.run(all_async())
    return {"ok": ok, "errors": errors}
