"""Django's own statements (opening a connection, COMMIT): their errors told by the traceback.

In-process, on SQLite aliases of the test's own: a file that cannot be
opened fails Django's ``connect``, which sent nothing of the request's;
an error raised by a ``connection_created`` receiver of the app's, which
may have written, is not taken for one of Django's own. Each runs in a
context of its own: a write an earlier test sent unwatched in this thread
would make its request start as one that wrote.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.signals import connection_created

if not settings.configured:
    settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()

from httpconflict._request_writes import nothing_sent, watching_writes  # noqa: E402
from httpconflict.django._own_statements import note_own_statement_failure  # noqa: E402


def _alias(name: str, path: str) -> str:
    alias = f"hc_own_{name}"
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    connections.settings[alias] = connections.configure_settings({"default": sqlite})["default"]
    return alias


def _failure(alias: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as raised:
        connections[alias].ensure_connection()
    connections[alias].close()
    return raised.value


@pytest.fixture
def receiver_fails() -> Iterator[str]:
    """An alias whose app receiver runs a statement that fails as each connection opens."""

    def fail(sender: Any, connection: Any, **_: Any) -> None:
        if connection.alias == alias:  # on the driver's connection: no hook sees it
            connection.connection.execute("SELECT * FROM no_such_table")

    alias = _alias("receiver", ":memory:")
    connection_created.connect(fail)
    try:
        yield alias
    finally:
        connection_created.disconnect(fail)


def test_a_connection_that_failed_to_open_sent_nothing(tmp_path: Path) -> None:
    """Django's connect failed (no such folder): told, so the request sent nothing."""
    alias = _alias("unopened", str(tmp_path / "missing" / "x.db"))

    def run() -> None:
        with watching_writes():
            error = _failure(alias)
            assert not nothing_sent(error)  # no hook saw it
            note_own_statement_failure(error)
            assert nothing_sent(error)

    contextvars.Context().run(run)


def test_an_error_of_the_apps_receiver_while_opening_is_not_djangos(receiver_fails: str) -> None:
    """A receiver of the app's runs in connect: its statement's error stays in doubt."""

    def run() -> None:
        with watching_writes():
            error = _failure(receiver_fails)
            note_own_statement_failure(error)
            assert not nothing_sent(error)

    contextvars.Context().run(run)
