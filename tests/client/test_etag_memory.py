"""The ETag memory: what it learns from, what it forgets on, when it adds If-Match."""

from __future__ import annotations

import asyncio
import threading

import pytest

from httpconflict._client_etags import ETagMemory

URL = "http://api.test/v1/notes/n1"
ETAG = {"etag": '"e1"'}


@pytest.mark.parametrize(
    ("method", "status", "headers", "url", "remembered"),
    [
        pytest.param("GET", 200, ETAG, URL, '"e1"', id="get-200"),
        pytest.param("HEAD", 200, ETAG, URL, '"e1"', id="head-200"),
        pytest.param("PUT", 201, ETAG, URL, '"e1"', id="put-201"),
        pytest.param("PATCH", 200, ETAG, URL, '"e1"', id="patch-200"),
        pytest.param(
            "POST",
            201,
            {"etag": '"e1"', "location": "/v1/notes/n1"},
            "http://api.test/v1/notes",
            '"e1"',
            id="post-with-location-names-the-created-url",
        ),
        pytest.param("GET", 200, {"etag": 'W/"e1"'}, URL, None, id="weak-is-useless-in-if-match"),
        pytest.param("GET", 200, {"etag": "e1"}, URL, None, id="malformed-is-ignored"),
        pytest.param("GET", 200, {}, URL, None, id="no-etag"),
        pytest.param("PUT", 412, {"etag": '"e1"'}, URL, None, id="an-error-teaches-nothing"),
    ],
)
def test_what_is_learned(
    method: str, status: int, headers: dict[str, str], url: str, remembered: str | None
) -> None:
    """A 2xx with a strong ETag names the current version; nothing else does."""
    memory = ETagMemory()
    memory.observe(method, url, status, headers)
    assert memory.recall(URL) == remembered


def test_a_post_without_location_teaches_nothing() -> None:
    """Without Location, the POST's ETag names nothing the client can address."""
    memory = ETagMemory()
    memory.observe("POST", "http://api.test/v1/notes", 201, ETAG)
    assert len(memory) == 0


@pytest.mark.parametrize(
    ("method", "status"),
    [
        pytest.param("DELETE", 204, id="delete-204"),
        pytest.param("DELETE", 200, id="delete-200"),
        pytest.param("GET", 404, id="404"),
        pytest.param("PUT", 410, id="410"),
    ],
)
def test_what_is_forgotten(method: str, status: int) -> None:
    """A successful DELETE, a 404 or a 410: nothing is there any more."""
    memory = ETagMemory()
    memory.remember(URL, '"e1"')
    memory.observe(method, URL, status, {})
    assert memory.recall(URL) is None


def test_a_failed_delete_remembers() -> None:
    """A 412 to a DELETE leaves the memory as it was."""
    memory = ETagMemory()
    memory.remember(URL, '"e1"')
    memory.observe("DELETE", URL, 412, {})
    assert memory.recall(URL) == '"e1"'


@pytest.mark.parametrize(
    ("method", "headers", "if_match"),
    [
        pytest.param("PUT", {}, '"e1"', id="put"),
        pytest.param("PATCH", {}, '"e1"', id="patch"),
        pytest.param("delete", {}, '"e1"', id="delete-any-case"),
        pytest.param("GET", {}, None, id="get-is-not-a-write"),
        pytest.param("POST", {}, None, id="post-creates-elsewhere"),
        pytest.param("PUT", {"if-match": '"mine"'}, None, id="callers-if-match-wins"),
        pytest.param("PUT", {"if-none-match": "*"}, None, id="callers-if-none-match-wins"),
    ],
)
def test_when_if_match_is_added(method: str, headers: dict[str, str], if_match: str | None) -> None:
    """PUT, PATCH and DELETE without a precondition of the caller's get the remembered ETag."""
    memory = ETagMemory()
    memory.remember(URL, '"e1"')
    assert memory.if_match(method, URL, headers) == if_match


def test_an_unknown_url_gets_nothing() -> None:
    """Never read: no If-Match (the server answers 428 rather than being guessed at)."""
    assert ETagMemory().if_match("PUT", URL, {}) is None


def test_the_memory_is_bounded_least_recently_used_first() -> None:
    """Past its size, the URL used longest ago is forgotten."""
    memory = ETagMemory(size=2)
    memory.remember("a", '"1"')
    memory.remember("b", '"2"')
    memory.recall("a")
    memory.remember("c", '"3"')
    assert (memory.recall("a"), memory.recall("b"), memory.recall("c")) == ('"1"', None, '"3"')


def test_size_must_be_positive() -> None:
    """A memory that holds nothing is a mistake."""
    with pytest.raises(ValueError, match="at least 1"):
        ETagMemory(size=0)


def test_each_thread_recalls_only_what_it_saw() -> None:
    """Another thread's read is not this thread's: it recalls nothing, and keeps its own."""
    memory = ETagMemory()
    memory.remember(URL, '"mine"')
    seen: list[str | None] = []

    def other() -> None:
        seen.append(memory.recall(URL))
        memory.remember(URL, '"theirs"')
        seen.append(memory.recall(URL))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [None, '"theirs"']
    assert memory.recall(URL) == '"mine"'


def test_each_asyncio_task_recalls_only_what_it_saw() -> None:
    """Tasks on one thread: each its own memory, and none shares the thread's outside a loop."""
    memory = ETagMemory()
    memory.remember(URL, '"outside"')

    async def task(etag: str) -> list[str | None]:
        before = memory.recall(URL)
        memory.remember(URL, etag)
        await asyncio.sleep(0)  # the other task remembers meanwhile
        return [before, memory.recall(URL)]

    async def both() -> list[list[str | None]]:
        return list(await asyncio.gather(task('"a"'), task('"b"')))

    assert asyncio.run(both()) == [[None, '"a"'], [None, '"b"']]
    assert memory.recall(URL) == '"outside"'
