"""A seq held by a transaction whose xid is above the snapshot's xmax is waited for, not skipped.

PostgreSQL's snapshot lists as running (xip) only transactions with an xid
below its xmax, which is one more than the newest *completed* xid, not the
next xid to be handed out. So a writer T that took its xid after another
writer U, then its seq before U's, is absent from the xip list of the
snapshot that first shows U's seq committed and T's missing: judged by that
list alone the gap looks permanent, the watermark passes T's seq, and when
T commits its change is never delivered. A private server, so that no other
transaction moves the newest completed xid past T's.
"""

from __future__ import annotations

import psycopg
import pytest

from httpconflict.storage.postgres import PostgresDocumentStore
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.anyio
WRITE = "INSERT INTO changes SELECT nextval('changes_seq'), 'c', %s, 1, 'e', 0 RETURNING seq"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def xid(conn: psycopg.Connection) -> int:
    value = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
    assert value is not None
    return int(value[0])


async def test_a_writer_with_a_later_xid_and_an_earlier_seq_is_waited_for(
    private_postgres: PrivatePostgres,
) -> None:
    store = PostgresDocumentStore(private_postgres.url)
    await store.open()
    try:
        feed = store.change_feed()
        await feed.poll(100)
        assert feed.watermark == 0
        with psycopg.connect(private_postgres.url) as u, psycopg.connect(private_postgres.url) as t:
            assert xid(u) < xid(t)  # U takes its xid first, T after it...
            held = t.execute(WRITE, ("held",)).fetchone()  # ...then T takes its seq first
            first = u.execute(WRITE, ("first",)).fetchone()
            assert held is not None
            assert first is not None
            assert held[0] < first[0]
            u.commit()
            with psycopg.connect(private_postgres.url) as reader:
                snapshot = reader.execute("SELECT pg_current_snapshot()::text").fetchone()
            assert snapshot is not None
            xmax = int(snapshot[0].split(":")[1])
            assert xid(t) >= xmax, f"T is not above xmax in {snapshot[0]}: nothing to test"
            seen = [change.seq for _ in range(3) for change in await feed.poll(100)]
            assert seen == [], "nothing is final while T may still commit its seq"
            assert feed.watermark == 0
            t.commit()
        seen += [change.seq for _ in range(3) for change in await feed.poll(100)]
        assert seen == [held[0], first[0]]
    finally:
        await store.close()
