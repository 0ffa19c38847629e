"""Starting the Django test project (django_notes.py) as server processes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import start_app

NOTE = {"title": "a note", "count": 0, "writer": "test"}


#: The databases the project runs on: `notes_database` makes one of each.
DATABASES = ("sqlite", "postgres", "mariadb")


def notes_database(request: pytest.FixtureRequest, kind: str, log_dir: Path) -> str:
    """A fresh database of `kind` (one of DATABASES) for the project, as NOTES_DATABASE."""
    if kind == "sqlite":
        return str(log_dir / "notes.db")
    if kind == "postgres":
        url: str = request.getfixturevalue("postgres_module_schema")
        return url
    db = request.getfixturevalue("mariadb_database")
    return f"mysql://{db['user']}@{db['host']}:{db['port']}/{db['database']}"


@contextmanager
def notes_server(database: str, log_dir: Path) -> Iterator[str]:
    """The project on `database` (a SQLite file, postgresql:// or mysql:// URL), threaded WSGI."""
    env = {"NOTES_DATABASE": database}
    target = "tests.adapters.django_notes:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield url


def admin_servers(kinds: Sequence[str]) -> Any:
    """A module's fixture: two processes of the admin project (django_admin_site.py).

    On one fresh database, of each kind of `kinds` (of DATABASES) in turn.
    ``NAIVE=1`` in the environment: Django's own admin and views instead of the mixins.
    """

    @pytest.fixture(scope="module", params=kinds)
    def servers(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[list[str]]:
        module = request.module.__name__.rsplit(".", 1)[-1]
        log_dir = tmp_path_factory.mktemp(f"{module}-{request.param}")
        env = {
            "COUNTERS_DATABASE": notes_database(request, request.param, log_dir),
            "COUNTERS_KEYS": str(log_dir / "keys.db"),
            "NAIVE": os.environ.get("NAIVE", "0"),
        }
        target = "tests.adapters.django_admin_site:create_app"
        with ExitStack() as stack:
            # One after the other: the first creates the tables and the staff user.
            yield [
                stack.enter_context(
                    start_app(target, log_dir, env=env, probe="/healthz", wsgi=True)
                )
                for _ in range(2)
            ]

    return servers


def create_note(http: httpx.Client, prefix: str = "", **fields: Any) -> tuple[str, str]:
    """A new note through `prefix`/notes ("" plain Django, "/api" DRF): its path and ETag."""
    answer = http.post(f"{prefix}/notes", json={**NOTE, **fields})
    assert answer.status_code == 201, answer.text
    return answer.headers["location"], answer.headers["etag"]
