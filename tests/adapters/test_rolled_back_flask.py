"""A Flask app whose teardown's COMMIT the database rolls back for a concurrent transaction.

The app (`rolled_back_flask`) commits its SQLAlchemy session in
``teardown_appcontext``, after the view formed its answer; its INSERTs go
at that COMMIT's flush. Concurrent writes to one ledger at SERIALIZABLE
isolation fail there: PostgreSQL's serialization failure (40001), InnoDB's
deadlock (1213). The database says that it rolled the whole transaction
back, and nothing was applied: the answer is a 503 with Retry-After, the
key released, and the resend under the same key runs once.

Measured before (werkzeug's server, 3 counter and 3 order clients for 3 s):
PostgreSQL 155 of 155 such answers were 504 outcome-unknown (keys held as
unknown, none resent), MariaDB 17 of 17; the counts right all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.conflict_hammer import check, hammered

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")

FACTORY = "tests.adapters.rolled_back_flask:create"


def test_postgres_serialization_failures_are_503(postgres_schema: str, tmp_path: Path) -> None:
    """PostgreSQL's 40001 at the teardown's COMMIT: 503, the resend runs once, n adds up."""
    tally, found = hammered(FACTORY, postgres_schema, tmp_path, wsgi=True)
    check(tally, found)
    assert tally.resent, tally.summary(found)


def test_mariadb_deadlocks_are_503(mariadb_url: str, tmp_path: Path) -> None:
    """InnoDB's deadlock (1213) at the teardown's flush: 503, the resend runs once."""
    url = mariadb_url.replace("mysql+pymysql://", "mysql://", 1)
    tally, found = hammered(FACTORY, url, tmp_path, wsgi=True)
    check(tally, found)


def test_sqlite_busy_stays_unknown(tmp_path: Path) -> None:
    """SQLite busy at the teardown's flush: a 504 still (SQLite rolls no transaction back).

    A busy statement undoes itself alone, and a busy COMMIT leaves its
    transaction open (`test_outage_rolled_back`): the database does not say
    that nothing can be applied. The counts add up: no 504's write was made.
    """
    tally, found = hammered(FACTORY, str(tmp_path / "ledger.db"), tmp_path, wsgi=True)
    check(tally, found, unknown_allowed=True)
