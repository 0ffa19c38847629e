"""A Django project whose middleware's COMMIT, after the view, PostgreSQL refuses (40001).

The project (`rolled_back_django`) runs each request in ``transaction.atomic()``
opened by a middleware, at SERIALIZABLE isolation: two concurrent ledger
writes are told apart at the COMMIT, after the view answered, and the
error reaches Django's ``handler500`` (`httpconflict.django.server_error`).
PostgreSQL rolled the whole transaction back: a 503 with Retry-After (as
the same error in the view already was), the key released, the resend run
once.

Measured before (werkzeug's server, 3 counter and 3 order clients for 3 s):
20 answers 504 outcome-unknown (those refused at COMMIT), 82 503s (those
refused at an INSERT in the view); the counts right all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.conflict_hammer import check, hammered

pytest.importorskip("django")
pytest.importorskip("psycopg")


def test_postgres_serialization_failures_at_commit_are_503(
    postgres_schema: str, tmp_path: Path
) -> None:
    """40001 at the middleware's COMMIT: 503, the resend runs once, n adds up."""
    factory = "tests.adapters.rolled_back_django:create_app"
    tally, found = hammered(factory, postgres_schema, tmp_path, wsgi=True)
    check(tally, found)
    assert tally.resent, tally.summary(found)
