"""httpconflict.sqlalchemy on real SQLite files and PostgreSQL, sync and async.

The check and the write are one statement: a matching If-Match costs one
UPDATE; 8 concurrent writers retrying on 412 lose no increment, while the
same writers doing a plain read-then-write lose some.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, String, Table, create_engine, event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from httpconflict import (
    Conditions,
    ETag,
    InvalidDocument,
    MergeConflict,
    NotFound,
    Patch,
    PatchOutcome,
    PatchTestFailed,
    PreconditionFailed,
    PreconditionRequired,
    Validators,
    VersionedRow,
)
from httpconflict.sqlalchemy import (
    aflush_versioned,
    aversioned_delete,
    aversioned_patch,
    aversioned_update,
    etag_of,
    flush_versioned,
    version_etag,
    versioned_delete,
    versioned_patch,
    versioned_update,
)

# 8 writers x 5: still a race (the naive writers below lost 19 to 35 of the
# 40 increments in each of 10 runs on each database), for a fraction of the
# retries 16 x 10 cost (a refused writer reads again at once).
WRITERS = 8
INCREMENTS = 5


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "hc_counters"
    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    writer: Mapped[str] = mapped_column(String(20), default="")
    version: Mapped[int] = mapped_column(default=1)


class Page(Base):
    """SQLAlchemy's own optimistic locking: the ORM's flush checks `revision`."""

    __tablename__ = "hc_pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))
    revision: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012  # SQLAlchemy's own spelling


# A Core table with a composite key and a version column named otherwise.
cells = Table(
    "hc_cells",
    Base.metadata,
    Column("sheet", String(20), primary_key=True),
    Column("cell", String(10), primary_key=True),
    Column("value", String(50)),
    Column("rev", Integer, nullable=False),
)


@dataclass
class Database:
    """One database: a sync engine on it, and the URL for an async one."""

    engine: Engine
    async_url: str

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def async_engine(self) -> AsyncIterator[AsyncEngine]:
        # SQLite: a writer waits for the lock as long as the sync engine's do (30 s,
        # not 5: the machine may be busy running other tests).
        sqlite = self.async_url.startswith("sqlite")
        engine = create_async_engine(
            self.async_url, pool_size=WRITERS + 4, connect_args={"timeout": 30} if sqlite else {}
        )
        try:
            yield engine
        finally:
            await engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """A fresh database (a SQLite file, a PostgreSQL schema, a MariaDB database) with rows.

    MariaDB has no UPDATE ... RETURNING, and its REPEATABLE READ snapshots
    make the read after a refused write a locking read.
    """
    if request.param == "sqlite":
        path = tmp_path / "versions.db"
        engine = create_engine(f"sqlite:///{path}", pool_size=WRITERS + 4)
        event.listen(engine, "connect", _sqlite_pragmas)
        async_url = f"sqlite+aiosqlite:///{path}"
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_schema")
        async_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(async_url, pool_size=WRITERS + 4)
    else:
        database = request.getfixturevalue("mariadb_database")["database"]
        where = f"root@127.0.0.1:3306/{database}"
        engine = create_engine(f"mysql+pymysql://{where}", pool_size=WRITERS + 4)
        async_url = f"mysql+aiomysql://{where}"
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Counter(id=1), Page(id=1, text="first")])
        session.execute(cells.insert().values(sheet="s", cell="A1", value="1", rev=1))
        session.commit()
    try:
        yield Database(engine, async_url)
    finally:
        engine.dispose()


def if_match(value: str) -> Conditions:
    return Conditions.from_headers({"If-Match": value})


def count_of(db: Database) -> tuple[int, int]:
    with db.session() as session:
        row = session.get(Counter, 1)
        assert row is not None
        return row.count, row.version


def test_matching_if_match_is_one_update(db: Database) -> None:
    """The check and the write are ONE statement; the answer is the row written and its ETag."""
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db.session() as session:
        written = versioned_update(session, Counter, 1, {"count": 5}, if_match('"1"'))
        assert (written.row.count, written.row.version) == (5, 2)
        assert written.row is session.get(Counter, 1)
        session.commit()
    assert written.etag == ETag("2")
    kinds = [s.split()[0] for s in statements]
    # Without RETURNING, the version just written is read back (the row is ours till commit).
    assert kinds == (["UPDATE"] if db.engine.dialect.update_returning else ["UPDATE", "SELECT"])
    assert "version = " in statements[0]
    assert count_of(db) == (5, 2)


def test_stale_if_match_is_412_and_writes_nothing(db: Database) -> None:
    """A version no longer stored: 412 naming the current one; the row is unchanged."""
    with db.session() as session:
        versioned_update(session, Counter, 1, {"count": 1}, if_match('"1"'))
        session.commit()
        with pytest.raises(PreconditionFailed) as caught:
            versioned_update(session, Counter, 1, {"count": 99}, if_match('"1"'))
    assert caught.value.problem.extensions["current_etag"] == '"2"'
    assert count_of(db) == (1, 2)


@pytest.mark.parametrize(
    ("header", "written"),
    [
        pytest.param('"1"', True, id="exact"),
        pytest.param('"7", "1"', True, id="list"),
        pytest.param("*", True, id="star"),
        pytest.param('W/"1"', False, id="rfc9110-13.1.1-weak-never-matches-if-match"),
        pytest.param('"one"', False, id="not-a-version"),
        pytest.param('"2"', False, id="future-version"),
        # Strong comparison is character by character: "01" is not the tag "1".
        pytest.param('"01"', False, id="leading-zero"),
        # Past what the INTEGER column holds (32 bits on PostgreSQL and MariaDB, 64 on
        # SQLite) or past 64 bits: no version, never a refusal of the body.
        pytest.param('"2147483648"', False, id="past-32-bits"),
        pytest.param('"1", "2147483648"', True, id="past-32-bits-beside-the-version"),
        pytest.param('"1", "9223372036854775808"', True, id="past-64-bits-beside-the-version"),
        pytest.param('"1", "' + "9" * 5000 + '"', True, id="5000-digits-beside-the-version"),
    ],
)
def test_if_match_forms(db: Database, header: str, written: bool) -> None:
    """If-Match compares strongly against the version, over lists and "*"."""
    with db.session() as session:
        if written:
            assert versioned_update(session, Counter, 1, {"count": 1}, if_match(header))
        else:
            with pytest.raises(PreconditionFailed):
                versioned_update(session, Counter, 1, {"count": 1}, if_match(header))
        session.commit()
    assert count_of(db) == ((1, 2) if written else (0, 1))


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(2**63, id="past-64-bits"),
        pytest.param(-(2**63) - 1, id="below-64-bits"),
        pytest.param(10**20 - 1, id="20-digits"),
        pytest.param(int("9" * 4000), id="4000-digits"),
    ],
)
def test_a_key_past_its_columns_range_is_404(db: Database, key: int) -> None:
    """A key no row can have (a path's digits, as `{id:int}` reads them) is 404, not the driver's
    error (SQLite cannot bind an integer past 64 bits: an OverflowError, a 500)."""
    conditions = if_match('"1"')
    with db.session() as session:
        with pytest.raises(NotFound):
            versioned_update(session, Counter, key, {"count": 1}, conditions)
        with pytest.raises(NotFound):
            versioned_delete(session, Counter, key, conditions)
        with pytest.raises(NotFound):
            versioned_patch(
                session, Counter, key, merge({"count": 5}), conditions, document=counter_json
            )
        # The session is still usable: nothing was sent.
        assert versioned_update(session, Counter, 1, {"count": 1}, conditions)
        session.commit()
    assert count_of(db) == (1, 2)


def test_each_write_carries_its_own_values(db: Database) -> None:
    """Statements are built once per shape; each run binds its own values and key.

    A value that is a SQL expression is part of its statement, which is not
    kept: the next write with the same fields sets its own plain value.
    """
    with db.session() as session:
        session.add(Counter(id=2, count=100))
        session.flush()
        writes: list[tuple[int, dict[str, Any], str]] = [
            (1, {"count": 1, "writer": "a"}, '"1"'),
            (2, {"count": 7, "writer": "x"}, '"1"'),  # same shape, another row
            (1, {"count": 2, "writer": "b"}, '"2"'),
            (1, {"writer": "c"}, '"3"'),  # another shape
            (1, {"count": Counter.count + 10}, '"4"'),  # an expression
            (1, {"count": 40}, '"5", "9"'),  # the same field, plain again, a list of tags
            (1, {"count": 41}, "*"),
        ]
        for key, values, tags in writes:
            versioned_update(session, Counter, key, values, if_match(tags))
        session.commit()
    with db.session() as session:
        found = {c.id: (c.count, c.writer, c.version) for c in session.query(Counter)}
    assert found == {1: (41, "c", 7), 2: (7, "x", 2)}


def test_a_stale_write_is_412_even_when_its_values_are_stored(db: Database) -> None:
    """The same write again from its stale ETag is a 412: two clients may have sent it.

    Only an Idempotency-Key tells a retry from a second writer; the values
    stored prove nothing, and nothing is written again.
    """
    with db.session() as session:
        first = versioned_update(session, Counter, 1, {"count": 5, "writer": "a"}, if_match('"1"'))
        session.commit()
        assert first.etag == ETag("2")
        for values in (
            {"count": 5, "writer": "a"},
            {"count": 6, "writer": "a"},
            {"count": Counter.count + 0},
        ):
            with pytest.raises(PreconditionFailed):
                versioned_update(session, Counter, 1, values, if_match('"1"'))
        session.commit()
    assert count_of(db) == (5, 2)


def test_no_precondition_is_428_and_absent_is_404(db: Database) -> None:
    """Without If-Match: 428 when the row exists; 404 when it does not, with or without one."""
    with db.session() as session:
        with pytest.raises(PreconditionRequired):
            versioned_update(session, Counter, 1, {"count": 1}, Conditions())
        with pytest.raises(NotFound):
            versioned_update(session, Counter, 2, {"count": 1}, Conditions())
        with pytest.raises(NotFound):
            versioned_update(session, Counter, 2, {"count": 1}, if_match('"1"'))
        with pytest.raises(NotFound):
            versioned_update(session, Counter, 2, {"count": 1}, if_match("*"))
        # Opting out of the 428 makes it an unconditional (but still one-statement) write.
        etag = versioned_update(
            session, Counter, 1, {"count": 3}, Conditions(), require_precondition=False
        ).etag
        session.commit()
    assert etag == ETag("2")
    assert count_of(db) == (3, 2)


def test_versioned_delete(db: Database) -> None:
    """DELETE: 428 without If-Match, 412 when stale, then gone, then 404."""
    with db.session() as session:
        with pytest.raises(PreconditionRequired):
            versioned_delete(session, Counter, 1, Conditions())
        with pytest.raises(PreconditionFailed) as caught:
            versioned_delete(session, Counter, 1, if_match('"3"'))
        assert caught.value.problem.extensions["current_etag"] == '"1"'
        versioned_delete(session, Counter, 1, if_match('"1"'))
        session.commit()
        assert session.get(Counter, 1) is None
        with pytest.raises(NotFound):
            versioned_delete(session, Counter, 1, if_match('"1"'))


def test_core_table_composite_key_and_named_version(db: Database) -> None:
    """A `Table`, a composite key as a tuple, and a version column named "rev"."""
    with db.session() as session:
        written = versioned_update(
            session, cells, ("s", "A1"), {"value": "2"}, if_match('"1"'), version_field="rev"
        )
        with pytest.raises(PreconditionFailed):
            versioned_update(
                session, cells, ("s", "A1"), {"value": "3"}, if_match('"1"'), version_field="rev"
            )
        with pytest.raises(NotFound):
            versioned_delete(session, cells, ("s", "B9"), if_match('"1"'), version_field="rev")
        with pytest.raises(ValueError, match="2 columns"):
            versioned_update(
                session, cells, "s", {"value": "4"}, if_match('"2"'), version_field="rev"
            )
        session.commit()
        assert written.etag == ETag("2")
        assert (written.row.value, written.row.rev) == ("2", 2)
        assert session.execute(cells.select()).one().value == "2"


def test_etag_of_reads_the_version_column(db: Database) -> None:
    """etag_of uses `version`, or the mapper's version_id_col."""
    with db.session() as session:
        counter, page = session.get(Counter, 1), session.get(Page, 1)
        assert counter is not None
        assert page is not None
        assert etag_of(counter) == version_etag(1) == ETag("1")
        assert etag_of(page) == ETag("1")
        assert not etag_of(page).weak


def test_flush_versioned_with_version_id_col(db: Database) -> None:
    """The ORM's own version check: If-Match checked on load, the flush re-checks it."""
    with db.session() as session:
        page = session.get(Page, 1)
        assert page is not None
        page.text = "second"
        with pytest.raises(PreconditionFailed):
            flush_versioned(session, page, if_match('"9"'))
        session.rollback()
        page.text = "second"
        with pytest.raises(PreconditionRequired):
            flush_versioned(session, page, Conditions())
        assert flush_versioned(session, page, if_match('"1"')) == ETag("2")
        session.commit()


def test_flush_versioned_turns_stale_data_into_412(db: Database) -> None:
    """Another writer between load and flush: StaleDataError becomes 412 naming its version."""
    with db.session() as mine, db.session() as theirs:
        page = mine.get(Page, 1)
        other = theirs.get(Page, 1)
        assert page is not None
        assert other is not None
        other.text = "theirs"
        theirs.commit()
        page.text = "mine"
        with pytest.raises(PreconditionFailed) as caught:
            flush_versioned(mine, page, if_match('"1"'))
        assert caught.value.problem.extensions["current_etag"] == '"2"'
    with db.session() as session:
        stored = session.get(Page, 1)
        assert stored is not None
        assert stored.text == "theirs"


def test_flush_versioned_delete_and_vanished_row(db: Database) -> None:
    """A deletion flushes through the same check; a row deleted meanwhile is a 404."""
    with db.session() as mine, db.session() as theirs:
        page = mine.get(Page, 1)
        assert page is not None
        theirs.delete(theirs.get(Page, 1))
        theirs.commit()
        page.text = "too late"
        with pytest.raises(NotFound):
            flush_versioned(mine, page, if_match('"1"'))
    with db.session() as session:
        session.add(Page(id=2, text="doomed"))
        session.commit()
        doomed = session.get(Page, 2)
        session.delete(doomed)
        assert flush_versioned(session, doomed, if_match('"1"')) is None
        session.commit()
        assert session.get(Page, 2) is None
        with pytest.raises(TypeError, match="version_id_col"):
            flush_versioned(session, session.get(Counter, 1), if_match('"1"'))


def test_async_session(db: Database) -> None:
    """The async helpers behave as the sync ones on an AsyncSession."""

    async def scenario() -> None:
        async with db.async_engine() as engine, AsyncSession(engine) as session:
            assert await aversioned_update(session, Counter, 1, {"count": 2}, if_match('"1"'))
            await session.commit()
            with pytest.raises(PreconditionFailed):
                await aversioned_update(session, Counter, 1, {"count": 3}, if_match('"1"'))
            await session.rollback()
            with pytest.raises(PreconditionRequired):
                await aversioned_delete(session, Counter, 1, Conditions())
            page = await session.get(Page, 1)
            assert page is not None
            page.text = "async"
            assert await aflush_versioned(session, page, if_match('"1"')) == ETag("2")
            await session.commit()
            await aversioned_delete(session, Counter, 1, if_match('"2"'))
            await session.commit()
            assert await session.get(Counter, 1) is None

    asyncio.run(scenario())


def _versioned_increment(db: Database) -> int:
    """Read, then write with If-Match: the read's version; on 412, read again."""
    retries = 0
    for _ in range(INCREMENTS):
        while True:
            with db.session() as session:
                row = session.get(Counter, 1)
                assert row is not None
                count, etag = row.count, etag_of(row)
                time.sleep(0.001)  # what a client's round trip leaves room for
                try:
                    versioned_update(
                        session,
                        Counter,
                        1,
                        {"count": count + 1},  # a pure counter: equal writes race
                        if_match(etag.to_header()),
                    )
                    session.commit()
                    break
                except PreconditionFailed:
                    session.rollback()
                    retries += 1
    return retries


def _naive_increment(db: Database) -> int:
    """The lost-update pattern: read, then write whatever is there."""
    for _ in range(INCREMENTS):
        with db.session() as session:
            row = session.get(Counter, 1)
            assert row is not None
            count = row.count
            time.sleep(0.001)
            session.execute(
                Counter.__table__.update().values(count=count + 1)  # type: ignore[attr-defined]  # the mapped Table
            )
            session.commit()
    return 0


def _run_writers(db: Database, increment: Any) -> int:
    retries: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            retries.append(increment(db))
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(retries)


@pytest.mark.slow
def test_concurrent_versioned_writers_lose_nothing(db: Database) -> None:
    """8 threads incrementing one row with If-Match and retry on 412 end at the exact count."""
    retries = _run_writers(db, _versioned_increment)
    assert count_of(db) == (WRITERS * INCREMENTS, WRITERS * INCREMENTS + 1)
    assert retries > 0  # they did collide: the 412s are what saved the increments


@pytest.mark.slow
def test_concurrent_naive_writers_lose_updates(db: Database) -> None:
    """The same writers doing a plain read-then-write lose increments (the control)."""
    _run_writers(db, _naive_increment)
    count, _ = count_of(db)
    print(f"naive writers: final count {count} of {WRITERS * INCREMENTS} increments")
    assert count < WRITERS * INCREMENTS


@pytest.mark.slow
def test_concurrent_async_writers_lose_nothing(db: Database) -> None:
    """8 tasks on AsyncSessions, If-Match and retry on 412: the exact count."""

    async def writer(engine: AsyncEngine) -> None:
        for _ in range(INCREMENTS):
            while True:
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    row = await session.get(Counter, 1)
                    assert row is not None
                    count, etag = row.count, etag_of(row)
                    await asyncio.sleep(0.001)
                    try:
                        await aversioned_update(
                            session,
                            Counter,
                            1,
                            {"count": count + 1},
                            if_match(etag.to_header()),
                        )
                        await session.commit()
                        break
                    except PreconditionFailed:
                        await session.rollback()

    async def scenario() -> None:
        async with db.async_engine() as engine:
            await asyncio.gather(*(writer(engine) for _ in range(WRITERS)))

    asyncio.run(scenario())
    assert count_of(db) == (WRITERS * INCREMENTS, WRITERS * INCREMENTS + 1)


def test_loaded_objects_follow_the_write(db: Database) -> None:
    """An object already in the session shows the update, and is gone after the delete."""
    with db.session() as session:
        counter = session.get(Counter, 1)
        assert counter is not None
        versioned_update(session, Counter, 1, {"count": 4}, if_match('"1"'))
        assert (counter.count, counter.version) == (4, 2)
        versioned_delete(session, Counter, 1, if_match('"2"'))
        session.commit()
        assert session.get(Counter, 1) is None


# -- versioned_patch: a JSON patch of a row, rebased when asked -------------------------------


def counter_json(row: Any) -> dict[str, Any]:
    """What the API shows of a counter row."""
    return {"count": row.count, "writer": row.writer}


class CounterHistory:
    """The app's record of what each version of counter 1 held, in a real table."""

    table = Table(
        "hc_counter_history",
        Base.metadata,
        Column("version", Integer, primary_key=True),
        Column("count", Integer),
        Column("writer", String(20)),
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        self.keep(1, {"count": 0, "writer": ""})

    def keep(self, version: int, document: dict[str, Any]) -> None:
        self.session.execute(self.table.insert().values(version=version, **document))

    def at(self, version: int) -> dict[str, Any] | None:
        found = self.session.execute(
            select(self.table.c.count, self.table.c.writer).where(self.table.c.version == version)
        ).first()
        return None if found is None else {"count": found[0], "writer": found[1]}

    def patch(
        self, patch: Patch, conditions: Conditions, *, rebase: bool = False
    ) -> VersionedRow[Counter]:
        """Patch counter 1 and keep the version written, in the same transaction."""
        written = versioned_patch(
            self.session,
            Counter,
            1,
            patch,
            conditions,
            document=counter_json,
            rebase=rebase,
            history=self.at,
        )
        if written.changed:
            self.keep(int(written.etag.opaque), counter_json(written.row))
        self.session.commit()
        return written


def merge(patch: dict[str, Any]) -> Patch:
    return Patch("application/merge-patch+json", patch)


def test_versioned_patch_applies_a_merge_patch_in_one_update(db: Database) -> None:
    """The current version: the patch is applied to the row's document, one guarded UPDATE."""
    with db.session() as session:
        history = CounterHistory(session)
        written = history.patch(merge({"count": 5}), if_match('"1"'))
        assert (counter_json(written.row), written.etag) == ({"count": 5, "writer": ""}, ETag("2"))
    assert written.rebased_from is None
    assert count_of(db) == (5, 2)


JSON_PATCH = "application/json-patch+json"
NOT_A_ROW = [
    pytest.param(Patch(JSON_PATCH, [{"op": "add", "path": "/nope", "value": 1}]), id="add-member"),
    pytest.param(Patch(JSON_PATCH, [{"op": "add", "path": "/-", "value": 1}]), id="add-dash"),
    pytest.param(Patch(JSON_PATCH, [{"op": "remove", "path": "/writer"}]), id="remove-member"),
    pytest.param(Patch(JSON_PATCH, [{"op": "replace", "path": "", "value": [1]}]), id="an-array"),
    pytest.param(merge({"writer": None}), id="merge-null"),
    pytest.param(merge({"a": {"b": {"c": None}}}), id="merge-deep-new"),
    pytest.param(Patch("application/merge-patch+json", [1, 2]), id="merge-array"),
    pytest.param(merge({"writer": {"name": "x"}}), id="text-set-to-an-object"),
    pytest.param(
        Patch(JSON_PATCH, [{"op": "replace", "path": "/writer", "value": [1]}]),
        id="text-set-to-an-array",
    ),
    pytest.param(merge({"count": {"n": 1}}), id="integer-set-to-an-object"),
]


@pytest.mark.parametrize("patch", NOT_A_ROW)
def test_versioned_patch_keeps_the_rows_members(db: Database, patch: Patch) -> None:
    """A patch adding a member, removing one or making the document no object: 422, no UPDATE."""
    with db.session() as session:
        with pytest.raises(InvalidDocument) as refused:
            CounterHistory(session).patch(patch, if_match('"1"'))
        session.rollback()
    assert refused.value.status == 422
    assert count_of(db) == (0, 1)


def test_versioned_patch_names_the_member_set_to_an_object(db: Database) -> None:
    """A JSON object for a text column is a 422 naming the member, decided by the column's type."""
    with db.session() as session:
        with pytest.raises(InvalidDocument) as refused:
            CounterHistory(session).patch(merge({"writer": {"a": 1}, "count": 2}), if_match('"1"'))
        session.rollback()
    assert refused.value.problem.extensions["members"] == ["writer"]
    assert "'writer' (a JSON object)" in str(refused.value)
    assert count_of(db) == (0, 1)


def test_versioned_patch_stale_is_412_unless_a_rebase_is_asked_for(db: Database) -> None:
    """RFC 5789: a stale conditional patch fails, even one that touches nothing changed since."""
    with db.session() as session:
        history = CounterHistory(session)
        history.patch(merge({"count": 5}), if_match('"1"'))
        with pytest.raises(PreconditionFailed) as caught:
            history.patch(merge({"writer": "b"}), if_match('"1"'))
    assert caught.value.problem.extensions["current_etag"] == '"2"'
    assert count_of(db) == (5, 2)


def test_versioned_patch_rebases_what_touches_nothing_changed(db: Database) -> None:
    """Prefer: rebase, a kept base, another field: applied to the current row, base named."""
    with db.session() as session:
        history = CounterHistory(session)
        history.patch(merge({"count": 5}), if_match('"1"'))
        written = history.patch(merge({"writer": "b"}), if_match('"1"'), rebase=True)
        assert counter_json(written.row) == {"count": 5, "writer": "b"}
        assert written.rebased_from == "1"
        with session.begin():
            row = session.get(Counter, 1)
            assert row is not None
            assert (row.count, row.writer, row.version) == (5, "b", 3)


def test_versioned_patch_rebase_of_a_changed_field_is_409(db: Database) -> None:
    """The same field changed since the base: 409 naming it, even with the same value."""
    with db.session() as session:
        history = CounterHistory(session)
        history.patch(merge({"count": 1}), if_match('"1"'))
        with pytest.raises(MergeConflict) as caught:
            history.patch(merge({"count": 1}), if_match('"1"'), rebase=True)
    assert caught.value.conflicts == [
        {"pointer": "/count", "base": 0, "current": 1, "requested": 1}
    ]
    assert caught.value.current_etag == '"2"'
    assert count_of(db) == (1, 2)


def test_versioned_patch_rebase_without_its_base_is_412(db: Database) -> None:
    """A version the history no longer keeps cannot be merged from: 412."""
    with db.session() as session:
        versioned_update(session, Counter, 1, {"count": 1}, if_match('"1"'))
        session.commit()
        with pytest.raises(PreconditionFailed, match="no longer kept"):
            versioned_patch(
                session,
                Counter,
                1,
                merge({"writer": "b"}),
                if_match('"1"'),
                document=counter_json,
                rebase=True,
                history=lambda version: None,
            )


def test_versioned_patch_refusals(db: Database) -> None:
    """Without If-Match 428, an absent row 404, a failed JSON Patch test 409; nothing written."""
    with db.session() as session:
        for key, conditions, error in [
            (1, Conditions(), PreconditionRequired),
            (99, if_match('"1"'), NotFound),
        ]:
            with pytest.raises(error):
                versioned_patch(
                    session, Counter, key, merge({"count": 9}), conditions, document=counter_json
                )
        test = Patch("application/json-patch+json", [{"op": "test", "path": "/count", "value": 7}])
        with pytest.raises(PatchTestFailed):
            versioned_patch(session, Counter, 1, test, if_match('"1"'), document=counter_json)
    assert count_of(db) == (0, 1)


def test_async_versioned_patch(db: Database) -> None:
    """`aversioned_patch` runs the same flow on an AsyncSession."""

    async def scenario() -> ETag:
        async with db.async_engine() as engine, AsyncSession(engine) as session:
            written = await aversioned_patch(
                session, Counter, 1, merge({"count": 3}), if_match('"1"'), document=counter_json
            )
            await session.commit()
            return written.etag

    assert asyncio.run(scenario()) == ETag("2")
    assert count_of(db) == (3, 2)


# -- the names of the previous release, one more release with a warning --------------------


def test_the_old_answers_still_read_with_a_warning(db: Database) -> None:
    """The ETag and PatchDecision the helpers used to return: their attributes warn."""
    with db.session() as session:
        written = versioned_update(session, Counter, 1, {"count": 1}, if_match('"1"'))
        with pytest.deprecated_call():
            assert written.to_header() == '"2"'  # type: ignore[attr-defined]  # the old answer
        patched = versioned_patch(
            session, Counter, 1, merge({"count": 2}), if_match('"2"'), document=counter_json
        )
        with pytest.deprecated_call():
            assert patched.outcome is PatchOutcome.WRITTEN  # type: ignore[attr-defined]
        with pytest.deprecated_call():
            assert patched.current == Validators(ETag("3"))  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            _ = written.nothing  # type: ignore[attr-defined]  # not a name of either answer
        session.commit()


def test_version_is_the_old_name_of_version_field(db: Database) -> None:
    """`version=` still names the version column, with a warning."""
    with db.session() as session:
        with pytest.deprecated_call():
            written = versioned_update(
                session, cells, ("s", "A1"), {"value": "2"}, if_match('"1"'), version="rev"
            )
        assert written.etag == ETag("2")
        with pytest.deprecated_call():
            assert etag_of(session.get(Counter, 1), version="version") == ETag("1")
