"""A duplicate refused with the database's own error, passed through by a catch-all handler."""

from __future__ import annotations

from tests.audit.invoke import audit


def test_a_refusal_holding_the_databases_error_fails(passthrough_api: str) -> None:
    """A 400 whose body is SQLAlchemy's IntegrityError with its SQL (Mealie's shape) fails the
    unique check as an escaped violation, naming the error, where a bare 400 only warned."""
    run = audit(f"{passthrough_api}/notes", "--unique", "email", "--json")
    check = run.check("unique")
    assert check["verdict"] == "fail", check
    assert check["data"] == {"status": 400, "fields": ["email"], "passed_through": True}
    said, named = check["evidence"]
    assert said.endswith(
        "-> 400: the unique violation escaped as the database's own error (it is a 409 Conflict)"
    ), said
    assert "IntegrityError" in named, named
    assert named.endswith("its SQL statement with it"), named
    assert run.report()["cleanup"]["left"] == []
