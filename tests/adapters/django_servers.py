"""Starting the Django test project (django_notes.py) as server processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.servers import start_app

NOTE = {"title": "a note", "count": 0, "writer": "test"}


@contextmanager
def notes_server(database: str, log_dir: Path) -> Iterator[str]:
    """The project on `database` (a SQLite file or a postgresql:// URL), threaded WSGI."""
    env = {"NOTES_DATABASE": database}
    target = "tests.adapters.django_notes:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield url


def create_note(http: httpx.Client, prefix: str = "", **fields: Any) -> tuple[str, str]:
    """A new note through `prefix`/notes ("" plain Django, "/api" DRF): its path and ETag."""
    answer = http.post(f"{prefix}/notes", json={**NOTE, **fields})
    assert answer.status_code == 201, answer.text
    return answer.headers["location"], answer.headers["etag"]
