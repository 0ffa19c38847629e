"""Starting the Django test project (django_notes.py) as server processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def create_note(http: httpx.Client, prefix: str = "", **fields: Any) -> tuple[str, str]:
    """A new note through `prefix`/notes ("" plain Django, "/api" DRF): its path and ETag."""
    answer = http.post(f"{prefix}/notes", json={**NOTE, **fields})
    assert answer.status_code == 201, answer.text
    return answer.headers["location"], answer.headers["etag"]
