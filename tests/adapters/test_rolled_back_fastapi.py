"""A FastAPI app whose session dependency's COMMIT the database rolls back for another's.

The app (`rolled_back_fastapi`) commits in the exit of its ``yield``
dependency (``async with session.begin(): yield session``), after the
view formed its answer, which the write's hold keeps back; its INSERTs go
at that COMMIT's flush. At SERIALIZABLE isolation, PostgreSQL (asyncpg)
refuses one of two concurrent ledger writes (40001), InnoDB (aiomysql)
deadlocks one (1213): the whole transaction rolled back, nothing applied.
The answer is a 503 with Retry-After, the key released, the resend run once.

Measured before (uvicorn, 3 counter and 3 order clients for 3 s):
PostgreSQL 36 of 36 such answers were 504 outcome-unknown, MariaDB 34 of 34.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.conflict_hammer import check, hammered

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

FACTORY = "tests.adapters.rolled_back_fastapi:create"


def test_postgres_serialization_failures_are_503(postgres_schema: str, tmp_path: Path) -> None:
    """asyncpg's 40001 at the dependency's COMMIT: 503, the resend runs once, n adds up."""
    pytest.importorskip("asyncpg")
    tally, found = hammered(FACTORY, postgres_schema, tmp_path, wsgi=False)
    check(tally, found)
    assert tally.resent, tally.summary(found)


def test_mariadb_deadlocks_are_503(mariadb_url: str, tmp_path: Path) -> None:
    """aiomysql's deadlock (1213) at the dependency's flush: 503, the resend runs once."""
    pytest.importorskip("aiomysql")
    url = mariadb_url.replace("mysql+pymysql://", "mysql://", 1)
    tally, found = hammered(FACTORY, url, tmp_path, wsgi=False)
    check(tally, found)
    assert tally.resent, tally.summary(found)
