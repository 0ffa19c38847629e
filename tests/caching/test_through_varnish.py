"""The service and each example app behind Varnish, a shared cache nobody here wrote.

Varnish runs its built-in rules only (tests/caching/varnish.py): it keeps
what RFC 9111 lets a cache keep, one variant per value of the fields an
answer's Vary names, and it drops nothing when a PUT through it succeeds.
Through it, a browser and an API client that take turns each get their
own answer (a page, the problem JSON), a read after a write is the
written one, a stale If-Match is refused, and clients counting through
it (read n, write n + 1 with If-Match) lose no update.

Before, an example app's 404 problem to an API client said nothing of
caching nor of Accept: Varnish kept it 120 s and gave it to the browser
that asked next, in place of its page; and a note read through it was
kept 120 s, so that after a PUT through the same cache every client read
the old count, and every write made from it was refused 412.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

import httpx
import pytest

from tests.caching.counting import CLIENTS, count_through, note
from tests.caching.varnish import varnish
from tests.conformance.targets import STARTERS

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}
PROBLEM = "application/problem+json"
HTML = "text/html; charset=utf-8"


class Cached:
    """A target and the Varnish in front of it."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    @property
    def pages(self) -> bool:
        """Whether a browser's problems are pages (the service's are JSON for everyone)."""
        return self.name != "service"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture(scope="module", params=list(STARTERS))
def cached(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cached]:
    name: str = request.param
    log_dir = tmp_path_factory.mktemp(f"varnish-{name}")
    started = cast(AbstractContextManager[str], STARTERS[name](Path(log_dir)))
    with started as origin, varnish(origin) as url:
        yield Cached(name, url)


def created(http: httpx.Client, count: int = 0) -> tuple[str, str]:
    """A new note's path and ETag."""
    answer = http.post("/v1/notes", json=note(count))
    assert answer.status_code == 201, answer.text
    return answer.headers["location"], answer.headers["etag"]


def test_a_browser_and_an_api_client_taking_turns_each_get_their_own_answer(
    cached: Cached,
) -> None:
    """A 404 read, a 412 write, a 409 create: the page to the browser, JSON to the API client."""
    with cached.client() as http:
        path, etag = created(http)
        http.put(path, json=note(1), headers={"If-Match": etag}).raise_for_status()
        email = f"{cached.name}@example.org"
        http.post("/v1/users", json={"email": email, "name": "n"}).raise_for_status()
        sends: dict[str, Callable[[dict[str, str]], httpx.Response]] = {
            "absent": lambda who: http.get("/v1/notes/987654321", headers=who),
            "stale": lambda who: http.put(path, json=note(2), headers={"If-Match": etag, **who}),
            "taken": lambda who: http.post(
                "/v1/users", json={"email": email, "name": "n"}, headers=who
            ),
        }
        turns = (API, BROWSER, API, BROWSER)
        page = HTML if cached.pages else PROBLEM
        for what, send in sends.items():
            answers = [send(who) for who in turns]
            assert [a.status_code for a in answers] == [answers[0].status_code] * 4, what
            got = [a.headers["content-type"] for a in answers]
            assert got == [PROBLEM, page, PROBLEM, page], what
            # RFC 9111 §4.2.2: a 404 is kept unless it says otherwise; no problem is kept.
            caching = [a.headers.get("cache-control") for a in answers]
            assert caching == ["no-store"] * 4, what
            if cached.pages:
                assert all("Accept" in a.headers["vary"] for a in answers), what


def test_conditional_reads_through_the_cache_follow_a_write_through_it(cached: Cached) -> None:
    """304 for the current tag, the written body after a PUT, 412 for the stale tag."""
    with cached.client() as http:
        path, first = created(http)
        read = http.get(path, headers=API)
        assert (read.status_code, read.json()["count"], read.headers["etag"]) == (200, 0, first)
        assert http.get(path, headers={"If-None-Match": first}).status_code == 304
        written = http.put(path, json=note(1), headers={"If-Match": first})
        assert written.status_code == 200, written.text
        second = written.headers["etag"]
        for tag in (first, None):  # the old tag, then none: the written note, never the old
            headers = {} if tag is None else {"If-None-Match": tag}
            read = http.get(path, headers=headers)
            assert (read.status_code, read.headers.get("etag")) == (200, second)
            assert read.json()["count"] == 1
        assert http.get(path, headers={"If-None-Match": second}).status_code == 304
        stale = http.put(path, json=note(1), headers={"If-Match": first})
        assert stale.status_code == 412, stale.text
        assert http.get(path).json()["count"] == 1


def test_counters_through_the_cache_lose_no_update(cached: Cached) -> None:
    """3 clients read n and write n + 1 with If-Match through the cache: final == 2xx writes.

    And a client's read after its own write is never older than that write.
    """
    with cached.client() as http:
        path, _ = created(http)
    tally = count_through(cached.client, path)
    assert tally.stale_reads == [], f"{len(tally.stale_reads)} stale reads, {tally.writes} writes"
    assert tally.final == tally.writes
    assert tally.writes >= CLIENTS  # each pass through the cache made progress
