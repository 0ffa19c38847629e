"""One contract suite for every document store backend (real SQLite file, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from httpconflict import ETag, Guard, IdempotencyKeyTaken
from httpconflict._idempotency import StoredResponse
from httpconflict.storage import DocumentStore, Version, document_store
from httpconflict.storage.idempotency import Completion
from tests.conftest import _schema_url
from tests.storage.members import numbers

pytestmark = pytest.mark.anyio

EXISTS = Guard(exists=True)
ABSENT = Guard(exists=False)
BLIND = Guard()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    if request.param == "sqlite":
        url = str(tmp_path / "store.db")
    else:
        url = request.getfixturevalue("postgres_schema")
    backend = document_store(url, history=3)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


async def history(
    store: DocumentStore, id: str, *, before: int | None, limit: int
) -> list[Version] | None:
    """A page of the document's history, read whole."""
    kept = numbers(await store.version_members("c", id, before=before, limit=limit))
    if kept is None:
        return None
    return await store.versions_numbered("c", id, kept, max_bytes=1 << 30)


def tag(body: str) -> str:
    return ETag.from_content(body.encode()).opaque


def match(*bodies: str) -> Guard:
    return Guard(exists=True, etags=frozenset(tag(b) for b in bodies))


async def put(
    store: DocumentStore, body: str, guard: Guard, at: int = 1_000_000, id: str = "a"
) -> bool:
    result = await store.put("c", id, body.encode(), tag(body), guard, at)
    return result.written


async def test_create_then_get(store: DocumentStore) -> None:
    """A create stores the body as received, version 1, with its tag and time."""
    result = await store.put("c", "a", b'{"x": 1}', tag('{"x": 1}'), ABSENT, 1_700_000_000_123_456)
    assert result.written
    assert result.created
    doc = await store.get("c", "a")
    assert doc is not None
    assert (doc.body, doc.etag, doc.version) == (b'{"x": 1}', tag('{"x": 1}'), 1)
    assert doc.modified_us == 1_700_000_000_123_456
    assert doc.validators == await store.validators("c", "a")


async def test_create_refused_when_present(store: DocumentStore) -> None:
    """exists=False refuses a second create and reports the current state."""
    assert await put(store, "{}", ABSENT)
    result = await store.put("c", "a", b'{"b": 2}', tag('{"b": 2}'), ABSENT, 2)
    assert not result.written
    assert result.current is not None
    assert result.current.etag == ETag(tag("{}"))


async def test_compare_and_swap(store: DocumentStore) -> None:
    """A replace happens only while the stored tag is one of the guard's."""
    await put(store, '{"v": 1}', ABSENT)
    assert await put(store, '{"v": 2}', match('{"v": 1}'))
    result = await store.put("c", "a", b'{"v": 3}', tag('{"v": 3}'), match('{"v": 1}'), 3)
    assert not result.written
    assert not result.created
    assert result.current is not None
    assert result.current.etag == ETag(tag('{"v": 2}'))
    assert await put(store, '{"v": 3}', match('{"v": 0}', '{"v": 2}'))
    doc = await store.get("c", "a")
    assert doc is not None
    assert (doc.body, doc.version) == (b'{"v": 3}', 3)


async def test_no_op_write_is_refused(store: DocumentStore) -> None:
    """Writing the state already stored leaves no new version."""
    await put(store, "{}", ABSENT)
    for guard in (match("{}"), EXISTS, BLIND):
        result = await store.put("c", "a", b"{}", tag("{}"), guard, 9)
        assert not result.written
        assert result.current is not None
        assert result.current.etag == ETag(tag("{}"))
    versions = await history(store, "a", before=None, limit=10)
    assert versions is not None
    assert [v.version for v in versions] == [1]


async def test_blind_write(store: DocumentStore) -> None:
    """exists=None creates when absent and replaces a different state."""
    created = await store.put("c", "a", b"{}", tag("{}"), BLIND, 1)
    assert created.written
    assert created.created
    replaced = await store.put("c", "a", b"[]", tag("[]"), BLIND, 2)
    assert replaced.written
    assert not replaced.created


async def test_exists_guard_on_absent_is_refused(store: DocumentStore) -> None:
    """exists=True never creates."""
    result = await store.put("c", "a", b"{}", tag("{}"), EXISTS, 1)
    assert not result.written
    assert result.current is None


async def test_delete_leaves_a_tombstone_and_numbers_go_on(store: DocumentStore) -> None:
    """Deleted documents vanish from reads; history and version numbers survive."""
    await put(store, '{"v": 1}', ABSENT)
    stale = await store.delete("c", "a", match('{"v": 0}'), 2)
    assert not stale.written
    assert stale.current is not None
    assert (await store.delete("c", "a", match('{"v": 1}'), 3)).written
    assert await store.get("c", "a") is None
    assert await store.validators("c", "a") is None
    again = await store.delete("c", "a", EXISTS, 4)
    assert not again.written
    assert again.current is None
    recreated = await store.put("c", "a", b'{"v": 2}', tag('{"v": 2}'), ABSENT, 5)
    assert recreated.written
    assert recreated.created
    versions = await history(store, "a", before=None, limit=10)
    assert versions is not None
    assert [(v.version, v.body) for v in versions] == [
        (3, b'{"v": 2}'),
        (2, None),
        (1, b'{"v": 1}'),
    ]
    assert versions[1].etag is None


async def test_delete_guard_must_want_existence(store: DocumentStore) -> None:
    """A delete guarded by absence is a programming error."""
    with pytest.raises(ValueError, match="exists"):
        await store.delete("c", "a", ABSENT, 1)


async def test_history_keeps_the_newest_versions(store: DocumentStore) -> None:
    """With history=3 only the three newest versions remain, newest first."""
    body = "{}"
    await put(store, body, ABSENT)
    for n in range(1, 6):
        new = f'{{"n": {n}}}'
        assert await put(store, new, match(body), at=n)
        body = new
    versions = await history(store, "a", before=None, limit=10)
    assert versions is not None
    assert [v.version for v in versions] == [6, 5, 4]
    older = await history(store, "a", before=6, limit=1)
    assert older is not None
    assert [v.version for v in older] == [5]


async def test_version_body_finds_a_kept_version_by_its_tag(store: DocumentStore) -> None:
    """The body of a kept version by its tag; None once it is older than the history."""
    bodies = ["{}", '{"n": 1}', '{"n": 2}', '{"n": 3}']
    await put(store, bodies[0], ABSENT)
    for previous, body in itertools.pairwise(bodies):
        assert await put(store, body, match(previous))
    assert await store.version_body("c", "a", tag('{"n": 2}')) == b'{"n": 2}'
    assert await store.version_body("c", "a", tag('{"n": 3}')) == b'{"n": 3}'  # the current one
    assert await store.version_body("c", "a", tag("{}")) is None  # beyond history=3
    assert await store.version_body("c", "b", tag('{"n": 2}')) is None
    assert await store.version_body("c", "a", "not-a-tag") is None


async def test_versions_of_unknown_document(store: DocumentStore) -> None:
    """A document that never existed has no history (None, not [])."""
    assert await store.version_members("c", "nope", before=None, limit=10) is None


async def test_list_is_ordered_bytewise_and_skips_deleted(store: DocumentStore) -> None:
    """Pages follow byte order of ids (same on every backend) and omit tombstones."""
    for id in ["b", "B", "a", "_x", "é", "a-1"]:
        assert await put(store, "{}", ABSENT, id=id)
    await store.delete("c", "a-1", EXISTS, 9)
    await put(store, "{}", ABSENT, id="other-collection-doc")
    assert [m.id for m in await store.page_members("c", after=None, limit=3)] == ["B", "_x", "a"]
    rest = [m.id for m in await store.page_members("c", after="a", limit=10)]
    assert rest == ["b", "other-collection-doc", "é"]
    assert [d.id for d in await store.documents("c", rest, max_bytes=1 << 20)] == rest
    assert [m.id for m in await store.page_members("empty", after=None, limit=10)] == []
    assert await store.documents("empty", [], max_bytes=1 << 20) == []


async def test_a_page_member_names_its_version(store: DocumentStore) -> None:
    """Each page member comes with its entity-tag and time: the page's validator is made of them."""
    assert await put(store, '{"n": 1}', ABSENT, at=5)
    assert await put(store, '{"n": 2}', ABSENT, at=7, id="b")
    assert await store.page_members("c", after=None, limit=10) == [
        ("a", tag('{"n": 1}'), 5),
        ("b", tag('{"n": 2}'), 7),
    ]


async def test_concurrent_compare_and_swap_has_one_winner(store: DocumentStore) -> None:
    """Twenty writers racing from the same version: exactly one succeeds."""
    await put(store, "{}", ABSENT)
    bodies = [f'{{"writer": {i}}}' for i in range(20)]
    results = await asyncio.gather(
        *(store.put("c", "a", b.encode(), tag(b), match("{}"), 2) for b in bodies)
    )
    winners = [b for b, r in zip(bodies, results, strict=True) if r.written]
    assert len(winners) == 1
    doc = await store.get("c", "a")
    assert doc is not None
    assert doc.body == winners[0].encode()
    assert doc.version == 2
    losers = [r for r in results if not r.written]
    assert all(r.current is not None and r.current.etag == ETag(tag(winners[0])) for r in losers)


async def test_completion_commits_with_the_document(store: DocumentStore) -> None:
    """A completion is recorded in the document's transaction; a taken key undoes the write."""
    keys = store.idempotency_store()
    await keys.open()
    answer = StoredResponse(201, (("location", "/v1/c/a"),), b"{}")
    now = time.time()
    first = Completion("p", "k", "f" * 64, answer, now, now + 60)
    written = await store.put("c", "a", b"{}", tag("{}"), ABSENT, 1, completion=lambda _: first)
    assert written.written
    live = await keys.get("p", "k", now=time.time())
    assert live is not None
    assert live.response == answer
    second = Completion("p", "k", "f" * 64, answer, now, now + 60)
    with pytest.raises(IdempotencyKeyTaken):
        await store.put("c", "b", b"{}", tag("{}"), ABSENT, 2, completion=lambda _: second)
    assert await store.get("c", "b") is None
    assert await store.version_members("c", "b", before=None, limit=10) is None


async def test_an_expired_key_is_taken_over_by_a_keyed_write(store: DocumentStore) -> None:
    """A key whose retention ran out records the next write's answer; it is no longer taken."""
    keys = store.idempotency_store()
    await keys.open()
    old = StoredResponse(201, (("location", "/v1/c/a"),), b"", echoes=True)
    now = time.time()
    expired = Completion("p", "old", "f" * 64, old, now - 120, now - 60)
    assert (
        await store.put("c", "a", b"{}", tag("{}"), ABSENT, 1, completion=lambda _: expired)
    ).written
    new = StoredResponse(204, (), b"")
    fresh = Completion("p", "old", "e" * 64, new, now, now + 60)
    etag = Guard(exists=True, etags=frozenset({tag("{}")}))
    assert (await store.delete("c", "a", etag, 2, completion=lambda _: fresh)).written
    live = await keys.get("p", "old", now=time.time())
    assert live is not None
    assert (live.fingerprint, live.response) == ("e" * 64, new)


async def test_a_keyed_delete_records_its_answer_and_a_taken_key_undoes_it(
    store: DocumentStore,
) -> None:
    """DELETE with a completion: recorded with the deletion; a live key refuses it whole."""
    keys = store.idempotency_store()
    await keys.open()
    now = time.time()
    assert (await store.put("c", "a", b"{}", tag("{}"), ABSENT, 1)).written
    taken = Completion("p", "k", "f" * 64, StoredResponse(201, (), b"{}"), now, now + 60)
    assert (
        await store.put("c", "b", b"[]", tag("[]"), ABSENT, 2, completion=lambda _: taken)
    ).written
    etag = Guard(exists=True, etags=frozenset({tag("{}")}))
    again = Completion("p", "k", "f" * 64, StoredResponse(204, (), b""), now, now + 60)
    with pytest.raises(IdempotencyKeyTaken):
        await store.delete("c", "a", etag, 3, completion=lambda _: again)
    assert await store.get("c", "a") is not None  # the deletion was undone with the key
    mine = Completion("p", "d", "f" * 64, StoredResponse(204, (), b""), now, now + 60)
    assert (await store.delete("c", "a", etag, 4, completion=lambda _: mine)).written
    live = await keys.get("p", "d", now=time.time())
    assert live is not None
    assert live.response == StoredResponse(204, (), b"")


async def test_documents_are_read_in_batches_of_bounded_size(store: DocumentStore) -> None:
    """A batch stops at the body that reaches max_bytes, and always holds one."""
    ids = [f"d{n}" for n in range(6)]
    for id in ids:
        assert await put(store, '{"pad": "' + "x" * 90 + '"}', ABSENT, id=id)  # 100 bytes
    assert [m.id for m in await store.page_members("c", after=None, limit=10)] == ids
    batch = await store.documents("c", ids, max_bytes=250)
    assert [d.id for d in batch] == ["d0", "d1", "d2"]
    assert [d.id for d in await store.documents("c", ids[3:], max_bytes=1)] == ["d3"]
    assert [d.id for d in await store.documents("c", ids[4:], max_bytes=1000)] == ["d4", "d5"]


async def test_a_batch_reads_only_the_ids_asked_for(store: DocumentStore) -> None:
    """Documents created among the ids since they were read are left out; deleted ones too."""
    for id in ("a", "c", "e"):
        assert await put(store, "{}", ABSENT, id=id)
    ids = [m.id for m in await store.page_members("c", after=None, limit=10)]
    for id in ("b", "d"):
        assert await put(store, "{}", ABSENT, id=id)
    await store.delete("c", "c", EXISTS, 9)
    assert [d.id for d in await store.documents("c", ids, max_bytes=1 << 20)] == ["a", "e"]


async def test_versions_are_read_in_batches_newest_first(store: DocumentStore) -> None:
    """History batches stop at max_bytes; a deletion (no body) counts for nothing."""
    await put(store, '{"n": 1}', ABSENT)
    await store.delete("c", "a", EXISTS, 2)
    await put(store, '{"n": 3}', ABSENT, at=3)
    kept = await store.version_members("c", "a", before=None, limit=10)
    assert kept is not None
    assert [(m.version, m.etag is None, m.modified_us) for m in kept] == [
        (3, False, 3),
        (2, True, 2),
        (1, False, 1_000_000),
    ]
    first = await store.versions_numbered("c", "a", numbers(kept) or [], max_bytes=1)
    assert [v.version for v in first] == [3]
    rest = await store.versions_numbered("c", "a", [2, 1], max_bytes=1)
    assert [(v.version, v.body) for v in rest] == [(2, None), (1, b'{"n": 1}')]
    assert await store.versions_numbered("c", "a", [], max_bytes=1) == []


async def test_the_database_id_names_this_database_and_no_other(
    store: DocumentStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """database_id: the same for every store on one database, another for another database."""
    named = await store.database_id()
    path: str | None = getattr(store, "path", None)
    again = document_store(path or getattr(store, "conninfo"), history=3)  # noqa: B009
    try:
        assert await again.database_id() == named  # opened by the call itself
    finally:
        await again.close()
    with contextlib.ExitStack() as stack:
        if path is not None:
            elsewhere = str(tmp_path / "other.db")
        else:
            server = request.getfixturevalue("postgres_server")
            elsewhere = stack.enter_context(contextlib.contextmanager(_schema_url)(server))
        other = document_store(elsewhere, history=3)
        try:
            assert await other.database_id() not in ("", named)
        finally:
            await other.close()
