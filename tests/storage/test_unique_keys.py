"""Unique keys of a collection, enforced by real indexes (real SQLite file, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import ConstraintViolated, ETag, Guard, InvalidDocument
from httpconflict._idempotency import StoredResponse
from httpconflict.storage import (
    DocumentStore,
    UniqueKey,
    document_store,
    format_unique_keys,
    parse_unique_keys,
)
from httpconflict.storage._unique import INDEX_PREFIX, index_name
from httpconflict.storage.idempotency import Completion
from httpconflict.storage.sqlite import SCHEMA_VERSION

pytestmark = pytest.mark.anyio

ABSENT = Guard(exists=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    schema: str = request.getfixturevalue("postgres_schema")
    return schema


@pytest.fixture
async def store(url: str) -> AsyncIterator[DocumentStore]:
    backend = document_store(url)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()


def tag(body: bytes) -> str:
    return ETag.from_content(body).opaque


async def create(store: DocumentStore, id: str, body: bytes, collection: str = "users") -> None:
    result = await store.put(collection, id, body, tag(body), ABSENT, 1)
    assert result.written


async def refused(store: DocumentStore, id: str, body: bytes, guard: Guard = ABSENT) -> Any:
    """The problem body of a write the unique index refuses."""
    with pytest.raises(ConstraintViolated) as caught:
        await store.put("users", id, body, tag(body), guard, 2)
    return caught.value.problem.to_dict()


def indexes(url: str) -> set[str]:
    """The names of the unique-key indexes the database holds."""
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            ).fetchall()
    else:
        with closing(sqlite3.connect(url, isolation_level=None)) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows if name.startswith(INDEX_PREFIX)}


async def test_declare_and_read_back(store: DocumentStore) -> None:
    """A declaration reads back in its order; a collection without one has no keys."""
    keys = (("email",), ("tenant", "slug"))
    assert await store.declare_unique("users", keys) == keys
    assert await store.unique_keys("users") == keys
    assert await store.unique_keys("other") == ()


async def test_duplicate_create_is_refused_naming_the_field(store: DocumentStore) -> None:
    """A second document with a taken value: 409 problem naming the field, never the value."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "ann@example.com"}')
    problem = await refused(store, "b", b'{"email": "ann@example.com", "n": 2}')
    assert problem["status"] == 409
    assert problem["type"] == "https://httpconflict.dev/problems/unique-violation"
    assert problem["conflicts"] == [
        {"fields": ["email"], "constraint": index_name("users", ("email",))}
    ]
    assert "ann@example.com" not in str(problem)
    assert await store.get("users", "b") is None
    assert await store.version_members("users", "b", before=None, limit=5) is None


async def test_duplicate_replace_is_refused(store: DocumentStore) -> None:
    """Replacing a document with another's value is refused; it keeps its version."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "a"}')
    await create(store, "b", b'{"email": "b"}')
    guard = Guard(exists=True, etags=frozenset({tag(b'{"email": "b"}')}))
    problem = await refused(store, "b", b'{"email": "a"}', guard)
    assert problem["conflicts"][0]["fields"] == ["email"]
    doc = await store.get("users", "b")
    assert doc is not None
    assert (doc.body, doc.version) == (b'{"email": "b"}', 1)


async def test_blind_write_is_refused(store: DocumentStore) -> None:
    """The write without a guard takes the same index."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "a"}')
    await refused(store, "b", b'{"email": "a"}', Guard())


async def test_compound_key(store: DocumentStore) -> None:
    """A compound key refuses only the same combination, and names all its fields."""
    await store.declare_unique("users", [("tenant", "slug")])
    await create(store, "a", b'{"tenant": "t1", "slug": "home"}')
    await create(store, "b", b'{"tenant": "t2", "slug": "home"}')
    await create(store, "c", b'{"tenant": "t1", "slug": "about"}')
    problem = await refused(store, "d", b'{"slug": "home", "tenant": "t1"}')
    assert problem["conflicts"][0]["fields"] == ["tenant", "slug"]
    assert "combination" in problem["detail"]


async def test_missing_or_null_never_conflicts(store: DocumentStore) -> None:
    """Documents without the field, or with null there, conflict with nothing."""
    await store.declare_unique("users", [("email",), ("tenant", "slug")])
    for n in range(2):
        await create(store, f"missing-{n}", b"{}")
        await create(store, f"null-{n}", b'{"email": null, "tenant": null, "slug": "x"}')
        await create(store, f"half-{n}", b'{"tenant": "t", "slug": null}')


async def test_json_types_do_not_collide(store: DocumentStore) -> None:
    """The string "1", the number 1, true, an object and its text are all different values."""
    await store.declare_unique("users", [("v",)])
    values = [b'"1"', b"1", b"true", b'{"a":1}', b'"{\\"a\\":1}"', b"[1]", b'"[1]"', b"false"]
    for n, value in enumerate(values):
        await create(store, f"d{n}", b'{"v": ' + value + b"}")
    await refused(store, "again", b'{"v": "1"}')
    await refused(store, "same-number", b'{"v": 1.0}')


async def test_delete_frees_the_value(store: DocumentStore) -> None:
    """A tombstone holds no value: after a delete the value can be taken again."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "a"}')
    deleted = await store.delete("users", "a", Guard(exists=True), 2)
    assert deleted.written
    await create(store, "b", b'{"email": "a"}')


async def test_other_collections_are_not_constrained(store: DocumentStore) -> None:
    """The index is partial: the same value in another collection is fine."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "a"}')
    await create(store, "a", b'{"email": "a"}', collection="admins")
    await create(store, "b", b'{"email": "a"}', collection="admins")


async def test_redeclare_drops_removed_indexes(store: DocumentStore, url: str) -> None:
    """Declaring a new set creates the new indexes and drops the ones left out."""
    await store.declare_unique("users", [("email",), ("name",)])
    await store.declare_unique("teams", [("name",)])
    assert len(indexes(url)) == 3
    await store.declare_unique("users", [("name",), ("login",)])
    assert indexes(url) == {
        index_name("users", ("name",)),
        index_name("users", ("login",)),
        index_name("teams", ("name",)),
    }
    await create(store, "a", b'{"email": "same"}')
    await create(store, "b", b'{"email": "same"}')
    assert await store.declare_unique("users", []) == ()
    assert indexes(url) == {index_name("teams", ("name",))}
    assert await store.unique_keys("users") == ()


async def test_declaring_over_duplicates_changes_nothing(store: DocumentStore, url: str) -> None:
    """If stored documents already share a value, the declaration is refused as a whole."""
    await store.declare_unique("users", [("login",)])
    before = indexes(url)
    await create(store, "a", b'{"email": "same", "login": "a"}')
    await create(store, "b", b'{"email": "same", "login": "b"}')
    with pytest.raises(ConstraintViolated) as caught:
        await store.declare_unique("users", [("name",), ("email",)])
    conflict = caught.value.problem.to_dict()["conflicts"][0]
    assert conflict["fields"] == ["email"]
    assert "same" not in str(caught.value.problem.to_dict())
    assert await store.unique_keys("users") == (("login",),)
    assert indexes(url) == before
    await create(store, "c", b'{"name": "n1"}')
    await create(store, "d", b'{"name": "n1"}')


async def test_declaring_again_is_a_no_op(store: DocumentStore, url: str) -> None:
    """The same declaration twice keeps the same indexes (names come from the key)."""
    await store.declare_unique("users", [("email",)])
    first = indexes(url)
    await store.declare_unique("users", [("email",)])
    assert indexes(url) == first


async def test_completion_rolls_back_with_the_refused_write(store: DocumentStore) -> None:
    """A refused create records no idempotency key: the transaction is undone as a whole."""
    await store.declare_unique("users", [("email",)])
    await create(store, "a", b'{"email": "a"}')
    keys = store.idempotency_store()
    await keys.open()
    now = time.time()
    answer = StoredResponse(201, (), b"{}")
    completion = Completion("p", "k", "f" * 64, answer, now, now + 60)
    body = b'{"email": "a"}'
    with pytest.raises(ConstraintViolated):
        await store.put("users", "b", body, tag(body), ABSENT, 2, completion=lambda _: completion)
    assert await keys.get("p", "k", now=time.time()) is None
    assert await store.get("users", "b") is None
    # The store is usable afterwards: the transaction did not stay open.
    ok = b'{"email": "b"}'
    assert (
        await store.put("users", "b", ok, tag(ok), ABSENT, 3, completion=lambda _: completion)
    ).written


async def test_a_declaration_by_another_process_is_named(store: DocumentStore, url: str) -> None:
    """A store learns of indexes another store (another worker) declared when one refuses."""
    other = document_store(url)
    await other.open()
    try:
        await other.declare_unique("users", [("email",)])
    finally:
        await other.close()
    await create(store, "a", b'{"email": "a"}')
    problem = await refused(store, "b", b'{"email": "a"}')
    assert problem["conflicts"][0]["fields"] == ["email"]


async def test_concurrent_declarations_leave_a_consistent_state(url: str) -> None:
    """Declarations racing from several stores: the last one wins whole, indexes match it."""
    stores = [document_store(url) for _ in range(4)]
    for backend in stores:
        await backend.open()
    try:
        declarations: list[list[UniqueKey]] = [
            [("a",), ("b",)],
            [("b",), ("c",)],
            [("c", "d")],
            [("e",)],
        ] * 3
        await asyncio.gather(
            *(
                stores[n % len(stores)].declare_unique(collection, keys)
                for collection in ("x", "y")
                for n, keys in enumerate(declarations)
            )
        )
        expected = set()
        for collection in ("x", "y"):
            keys = await stores[0].unique_keys(collection)
            assert list(keys) in declarations
            expected |= {index_name(collection, key) for key in keys}
        assert indexes(url) == expected
    finally:
        for backend in stores:
            await backend.close()


async def test_an_unknown_constraint_is_not_swallowed(store: DocumentStore, url: str) -> None:
    """An integrity error from an index that is not a declared key propagates unchanged."""
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE UNIQUE INDEX by_hand ON documents (modified_us)")
        error: type[Exception] = psycopg.errors.UniqueViolation
    else:
        with closing(sqlite3.connect(url, isolation_level=None)) as db:
            db.execute("CREATE UNIQUE INDEX by_hand ON documents (modified_us)")
        error = sqlite3.IntegrityError
    await create(store, "a", b"{}")
    with pytest.raises(error) as caught:
        await create(store, "b", b'{"b": 1}')
    assert not isinstance(caught.value, ConstraintViolated)
    assert await store.get("users", "b") is None


async def test_invalid_declarations_change_nothing(store: DocumentStore, url: str) -> None:
    """The store checks names itself: they go into DDL."""
    await store.declare_unique("users", [("email",)])
    for keys in ([("bad'name",)], [()], [("a",), ("a",)], [("a", "a")]):
        with pytest.raises(InvalidDocument):
            await store.declare_unique("users", keys)
    assert await store.unique_keys("users") == (("email",),)
    assert indexes(url) == {index_name("users", ("email",))}


async def test_odd_collection_names_are_quoted(store: DocumentStore) -> None:
    """A collection name is an SQL literal in the index's WHERE clause, quoted as one."""
    name = "it's; DROP TABLE documents --"
    await store.declare_unique(name, [("email",)])
    await create(store, "a", b'{"email": "a"}', collection=name)
    with pytest.raises(ConstraintViolated):
        await store.put(name, "b", b'{"email": "a"}', tag(b'{"email": "a"}'), ABSENT, 2)


async def test_postgres_refuses_a_value_too_large_to_index(postgres_schema: str) -> None:
    """PostgreSQL cannot index a value over ~2.7 kB: 422, not 500 or 503."""
    store = document_store(postgres_schema)
    await store.open()
    try:
        await store.declare_unique("users", [("bio",)])
        # Hex digests do not compress: the entry stays over the limit.
        text = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(100))
        body = b'{"bio": "' + text.encode() + b'"}'
        with pytest.raises(InvalidDocument, match="too large to index"):
            await store.put("users", "a", body, tag(body), ABSENT, 1)
        assert await store.get("users", "a") is None
    finally:
        await store.close()


async def test_sqlite_version_1_file_is_upgraded(tmp_path: Path) -> None:
    """A file of schema version 1 (no unique_keys table) is upgraded in place on open."""
    path = tmp_path / "v1.db"
    store = document_store(str(path))
    await store.open()
    await create(store, "a", b'{"email": "a"}')
    await store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("DROP TABLE unique_keys")
        db.execute("PRAGMA user_version = 1")
    store = document_store(str(path))
    await store.open()
    try:
        assert await store.get("users", "a") is not None
        await store.declare_unique("users", [("email",)])
        with pytest.raises(ConstraintViolated):
            await create(store, "b", b'{"email": "a"}')
    finally:
        await store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5


async def test_sqlite_newer_file_is_refused(tmp_path: Path) -> None:
    """A file written by a newer schema is not opened."""
    path = tmp_path / "v9.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA user_version = 9")
    with pytest.raises(RuntimeError, match="schema version 9"):
        await document_store(str(path)).open()


INVALID = [
    pytest.param("email", id="not-a-list"),
    pytest.param({"email": True}, id="object"),
    pytest.param([1], id="number-entry"),
    pytest.param([None], id="null-entry"),
    pytest.param([[]], id="empty-compound"),
    pytest.param([["a", 1]], id="number-in-compound"),
    pytest.param([["a", ["b"]]], id="nested-compound"),
    pytest.param([""], id="empty-name"),
    pytest.param(["1abc"], id="starts-with-digit"),
    pytest.param(["a.b"], id="dotted-path"),
    pytest.param(["a b"], id="space"),
    pytest.param(['a"'], id="quote"),
    pytest.param(["é"], id="non-ascii"),
    pytest.param(["x" * 65], id="name-too-long"),
    pytest.param(["email\n"], id="trailing-newline"),
    pytest.param([f"f{n}" for n in range(17)], id="too-many-keys"),
    pytest.param([[f"f{n}" for n in range(9)]], id="too-many-fields"),
    pytest.param(["a", "a"], id="same-key-twice"),
    pytest.param([["a", "b"], ["b", "a"]], id="same-compound-reordered"),
    pytest.param(["a", ["a"]], id="same-key-as-list"),
    pytest.param([["a", "a"]], id="field-twice-in-key"),
]


@pytest.mark.parametrize("value", INVALID)
def test_invalid_declarations_are_invalid_documents(value: object) -> None:
    """Each malformed declaration is a 422 invalid-document."""
    with pytest.raises(InvalidDocument) as caught:
        parse_unique_keys(value)
    assert caught.value.status == 422


def test_valid_declaration() -> None:
    """Names of 64 characters, _ and - are fine; one-field lists are the field."""
    longest = "_" + "x-" * 31 + "y"
    assert len(longest) == 64
    assert parse_unique_keys(["email", ["tenant", "slug"], [longest]]) == (
        ("email",),
        ("tenant", "slug"),
        (longest,),
    )


def test_index_names_fit_postgres_identifiers() -> None:
    """Names are short, derived from collection and key, and differ when either does."""
    names = {
        index_name("c" * 255, ("x" * 64,) * 8),
        index_name("users", ("email",)),
        index_name("admins", ("email",)),
        index_name("users", ("email", "tenant")),
        index_name("users", ("tenant", "email")),
    }
    assert len(names) == 5
    assert all(len(name) <= 63 and name.isidentifier() for name in names)
    assert index_name("users", ("email",)) == index_name("users", ("email",))


FIELDS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", fullmatch=True)
KEYS = st.lists(
    st.lists(FIELDS, min_size=1, max_size=8, unique=True).map(tuple),
    max_size=16,
    unique_by=frozenset,
)


@given(KEYS)
def test_format_then_parse_is_identity(keys: list[UniqueKey]) -> None:
    """Every valid declaration survives the trip to JSON and back."""
    assert parse_unique_keys(format_unique_keys(keys)) == tuple(keys)
