"""ConflictClient and AsyncConflictClient against `httpconflict serve`, on SQLite and PostgreSQL.

The server is a real process; the clients are real httpx clients. Only
waiting is skipped (`VirtualClock`), and lost answers are made by a
transport that forwards a request and then drops its answer. The
16-client pure-counter hammers of both clients are in
tests/service/test_lost_update.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    RequestRefused,
    RetryPolicy,
    VirtualClock,
)
from tests.servers import ServiceProcess


def collection() -> str:
    return f"/v1/notes-{uuid.uuid4().hex[:10]}"


class LoseAnswers(httpx.BaseTransport):
    """Send each request; for the first `count` of `method`, drop the answer after it came."""

    def __init__(self, method: str, count: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.method, self.count = method, count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == self.method and self.count > 0:
            self.count -= 1
            response.read()
            response.close()
            raise httpx.ReadError("the connection dropped before the answer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncLoseAnswers(httpx.AsyncBaseTransport):
    """`LoseAnswers` for httpx.AsyncClient."""

    def __init__(self, method: str, count: int = 1) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.method, self.count = method, count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == self.method and self.count > 0:
            self.count -= 1
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("the connection dropped before the answer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def client(
    service: ServiceProcess,
    policy: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[ConflictClient]:
    with httpx.Client(base_url=service.url, timeout=10, transport=transport) as http:
        yield ConflictClient(http, policy=policy, clock=VirtualClock())


@asynccontextmanager
async def async_client(
    service: ServiceProcess,
    policy: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[AsyncConflictClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=10, transport=transport) as http:
        yield AsyncConflictClient(http, policy=policy, clock=VirtualClock())


def patches(service: ServiceProcess, url: str, count: int) -> list[dict[str, Any]]:
    """The access-log records of the PATCHes of `url`, once there are `count` of them.

    A line is written just after its answer is sent, so the last may lag.
    """
    path = url.removeprefix(service.url)
    deadline = time.monotonic() + 5
    while True:
        found = [r for r in service.access_log() if r["method"] == "PATCH" and r["path"] == path]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


# -- blocking --------------------------------------------------------------------------------


def test_two_increments_from_one_version_both_count(service: ServiceProcess) -> None:
    """A increments between B's read and B's write: B's increment is redone, not merged away."""
    with client(service) as a, client(service) as b:
        url = a.create(collection(), {"count": 0}).url
        runs: list[int] = []

        def b_change(doc: dict[str, Any]) -> None:
            if not runs:
                a.update(url, lambda theirs: theirs.update(count=theirs["count"] + 1, a=1))
            runs.append(doc["count"])
            doc.update(count=doc["count"] + 1, b=1)

        result = b.update(url, b_change)
        assert (runs, result.document) == ([0, 1], {"count": 2, "a": 1, "b": 1})


def test_edits_of_different_fields_from_one_stale_etag_both_land(service: ServiceProcess) -> None:
    """B reads, A writes another field, B's patch from the stale ETag is merged: both land."""
    with client(service) as a, client(service) as b:
        created = a.create(collection(), {"title": "t", "tags": []})
        url = created.url

        def b_change(doc: dict[str, Any]) -> None:
            # A writes between B's read and B's write.
            a.update(url, lambda theirs: theirs.update(title="A's title"))
            doc["tags"] = ["b"]

        result = b.update(url, b_change)
        assert result.document == {"title": "A's title", "tags": ["b"]}
        assert (result.attempts, result.rebased_from) == (1, created.etag)
        assert a.get(url).json() == result.document
    assert [r["status"] for r in patches(service, url, 2)] == [200, 200]


def test_an_overlapping_edit_is_redone_on_what_was_written(service: ServiceProcess) -> None:
    """B and A change the same field: 409 merge-conflict, and B's change runs again on A's value."""
    with client(service) as a, client(service) as b:
        url = a.create(collection(), {"title": "t"}).url
        seen: list[str] = []

        def b_change(doc: dict[str, Any]) -> None:
            if not seen:
                a.update(url, lambda theirs: theirs.update(title="A"))
            seen.append(doc["title"])
            doc["title"] += "!"

        result = b.update(url, b_change)
        assert (seen, result.document, result.attempts) == (["t", "A"], {"title": "A!"}, 2)
    log = patches(service, url, 3)
    assert [(r["status"], r["problem"]) for r in log] == [
        (200, None),
        (409, "merge-conflict"),
        (200, None),
    ]


def test_a_lost_patch_answer_is_not_applied_twice(service: ServiceProcess) -> None:
    """The answer to an applied PATCH is lost: its resend, with the same key, is answered from
    the key (replayed), and the count goes up once."""
    with client(service) as setup:
        url = setup.create(collection(), {"count": 0}).url
    with client(service, transport=LoseAnswers("PATCH")) as flaky:
        result = flaky.update(url, lambda doc: doc.update(count=doc["count"] + 1))
    assert (result.document, result.attempts) == ({"count": 1}, 2)
    path = url.removeprefix(service.url)
    patches = service.wait_for_log(lambda r: r["method"] == "PATCH" and r["path"] == path, count=2)
    assert [r["status"] for r in patches] == [200, 200]
    with client(service) as reader:
        assert len(reader.get(f"{url}/versions").json()["items"]) == 2


def test_a_null_member_is_sent_as_a_put(service: ServiceProcess) -> None:
    """Setting a member to null cannot be a merge patch: the whole document goes as PUT."""
    with client(service) as c:
        url = c.create(collection(), {"title": "t", "due": "monday"}).url
        result = c.update(url, lambda doc: doc.update(due=None))
        assert result.document == {"title": "t", "due": None}
        assert c.get(url).json() == {"title": "t", "due": None}
    path = url.removeprefix(service.url)
    puts = service.wait_for_log(lambda r: r["method"] == "PUT" and r["path"] == path)
    assert [r["status"] for r in puts] == [200]


def test_a_create_whose_answer_was_lost_is_not_duplicated(service: ServiceProcess) -> None:
    """The POST is applied, its answer lost; the retry with the same key replays the 201."""
    name = collection()
    with client(service, transport=LoseAnswers("POST")) as flaky:
        result = flaky.create(name, {"item": "tea"})
    assert (result.attempts, result.replayed, result.document) == (2, True, {"item": "tea"})
    with client(service) as reader:
        items = reader.get(name).json()["items"]
        assert [item["id"] for item in items] == [result.url.rsplit("/", 1)[1]]
        assert reader.get(result.url).headers["etag"] == result.etag


def test_a_reused_key_is_a_typed_error_with_the_problem(service: ServiceProcess) -> None:
    """The same key for another body: RequestRefused carrying the 422 problem, not retried."""
    name, key = collection(), str(uuid.uuid4())
    with client(service) as c:
        first = c.create(name, {"item": "tea"}, key=key)
        again = c.create(name, {"item": "tea"}, key=key)
        assert (again.url, again.replayed) == (first.url, True)
        with pytest.raises(RequestRefused) as raised:
            c.create(name, {"item": "coffee"}, key=key)
    error = raised.value
    assert (error.status, error.attempts) == (422, 1)
    assert error.problem is not None
    assert error.problem.type == PROBLEM_TYPE_BASE + "idempotency-key-reused"
    assert error.response is not None
    assert error.response.headers["content-type"] == "application/problem+json"
    assert "failed after 1 attempt: POST answered 422 idempotency-key-reused" in str(error)


def test_updating_a_missing_document_is_a_typed_error(service: ServiceProcess) -> None:
    """404: RequestRefused with the not-found problem."""
    with client(service) as c, pytest.raises(RequestRefused) as raised:
        c.update(f"{collection()}/nothing", lambda doc: None)
    assert raised.value.problem is not None
    assert raised.value.problem.status == 404


def test_passthrough_writes_carry_the_remembered_etag(service: ServiceProcess) -> None:
    """put() after get() sends If-Match by itself: 200, then 412 once someone else wrote."""
    with client(service) as a, client(service) as b:
        url = a.create(collection(), {"n": 1}).url
        assert a.put(url, json={"n": 2}).status_code == 200
        b.get(url)
        assert b.put(url, json={"n": 3}).status_code == 200
        stale = a.put(url, json={"n": 4})
        assert stale.status_code == 412
        assert a.get(url).json() == {"n": 3}
        assert a.delete(url).status_code == 204
        assert a.etags.recall(url) is None


# -- async ----------------------------------------------------------------------------------


def test_async_stale_etag_patch_of_another_field_is_merged(service: ServiceProcess) -> None:
    """A passthrough PATCH with the remembered (stale) ETag: merged, Rebased-From names it."""

    async def run() -> None:
        async with async_client(service) as a, async_client(service) as b:
            url = (await a.create(collection(), {"title": "t", "n": 0})).url
            await b.get(url)
            stale = b.etags.recall(url)
            await a.update(url, lambda doc: doc.update(n=1))
            merged = await b.patch(
                url,
                json={"title": "B"},
                headers={"Content-Type": "application/merge-patch+json", "Prefer": "rebase"},
            )
            assert merged.status_code == 200
            assert merged.request.headers["if-match"] == stale
            assert merged.headers["rebased-from"] == stale
            assert merged.json() == {"title": "B", "n": 1}

    asyncio.run(run())


def test_async_create_whose_answer_was_lost_is_not_duplicated(service: ServiceProcess) -> None:
    """The async driver resends the same key too: one document."""
    name = collection()

    async def run() -> None:
        async with async_client(service, transport=AsyncLoseAnswers("POST", 2)) as flaky:
            result = await flaky.create(name, {"item": "tea"})
        assert (result.attempts, result.replayed) == (3, True)
        async with async_client(service) as reader:
            assert len((await reader.get(name)).json()["items"]) == 1

    asyncio.run(run())


def test_async_refusal_is_a_typed_error(service: ServiceProcess) -> None:
    """An async update of a missing document raises RequestRefused with the problem."""

    async def run() -> None:
        async with async_client(service) as c:
            await c.update(f"{collection()}/nothing", lambda doc: None)

    with pytest.raises(RequestRefused) as raised:
        asyncio.run(run())
    assert raised.value.problem is not None
    assert raised.value.problem.type == PROBLEM_TYPE_BASE + "not-found"
