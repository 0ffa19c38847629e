"""Integrity errors that are no conflict: not recognised, and the answer says which they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.validation import not_a_conflict

CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize(
    ("case", "said"),
    [
        pytest.param(
            "notconflict-mysql-fk-child-row-insert.txt",
            "a foreign key violation on a write (starred_media_file_ibfk_1)",
            id="mysql-fk",
        ),
        pytest.param(
            "notconflict-django-debug-page-not-null.txt",
            "a NOT NULL violation (check)",
            id="django-debug-page",
        ),
        pytest.param(
            "notconflict-django-chained-not-null.txt",
            "a NOT NULL violation (xp_requested)",
            id="django-chained",
        ),
        pytest.param(
            "notconflict-django-load-not-null.txt",
            "a NOT NULL violation (STMNT_STATUS)",
            id="django-load",
        ),
        pytest.param(
            "notconflict-pg-check-constraint.txt",
            "a CHECK constraint violation (chk_item_contract)",
            id="pg-check",
        ),
    ],
)
def test_a_validation_error_is_named(case: str, said: str) -> None:
    """Real messages (the corpus's sources): "not recognised" alone said nothing of what
    they were; the answer now names the kind, the column or constraint, and the fix."""
    diagnosis = diagnose((CORPUS / case).read_text(encoding="utf-8"))
    assert diagnosis.best is None
    message = diagnosis.not_recognised()
    assert f"It is {said}" in message
    assert "a validation error (422), not a conflict" in message


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("sqlite3.IntegrityError: NOT NULL constraint failed: notes.title", "(notes.title)"),
        ("(1048, \"Column 'email' cannot be null\")", "(email)"),
        (
            "Cannot insert the value NULL into column 'Name', table 'db.dbo.T'; column does "
            "not allow nulls. INSERT fails.",
            "(Name)",
        ),
        ("ORA-02290: check constraint (APP.CK_QTY) violated", "(APP.CK_QTY)"),
        ("sqlite3.IntegrityError: CHECK constraint failed: positive_qty", "(positive_qty)"),
        (
            'insert or update on table "orders" violates foreign key constraint '
            '"orders_user_id_fkey"\nDETAIL:  Key (user_id)=(9) is not present in table "users".',
            "(orders_user_id_fkey)",
        ),
    ],
)
def test_each_database_s_wording(message: str, said: str) -> None:
    found = not_a_conflict(message)
    assert found is not None
    assert said in found


def test_a_conflict_is_not_called_a_validation_error() -> None:
    """A row still referenced on DELETE is a conflict (its own entry), not this."""
    message = (
        'update or delete on table "users" violates foreign key constraint '
        '"orders_user_id_fkey" on table "orders"\nDETAIL:  Key (id)=(9) is still referenced '
        'from table "orders".'
    )
    assert not_a_conflict(message) is None
    assert diagnose(message).best is not None
