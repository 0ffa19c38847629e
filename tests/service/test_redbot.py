"""REDbot ("lint for HTTP") finds nothing to warn about in the service's answers.

REDbot fetches each URL as a client would, then probes it: a gzip request
(content negotiation), If-None-Match and If-Modified-Since with the
validators it got (304s), a Range request. Each finding is a note with a
level: good, info, warn or bad. The test runs its command line
(``python -m redbot.cli URL -o har``) against a running service, on a
document (a large one, so that it is compressed, and a small one), a
page of a collection, a document's history, the editor page, the OpenAPI
document and a problem type's page, and asserts that no note is a
warning or bad.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import need
from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

PATHS = [
    pytest.param("/v1/notes/large", id="document"),
    pytest.param("/v1/notes/small", id="small-document"),
    pytest.param("/v1/notes", id="list"),
    pytest.param("/v1/notes/large/versions", id="versions"),
    pytest.param("/", id="editor"),
    pytest.param("/openapi.json", id="openapi"),
    pytest.param("/problems/precondition-failed", id="problem-page"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    if importlib.util.find_spec("redbot") is None:
        need("REDbot is not installed (pip install -e '.[dev]')")
    db = str(tmp_path_factory.mktemp("db") / "service.db")
    with start_service(db, tmp_path_factory.mktemp("log")) as running:
        with running.client() as http:
            large = {"title": "A note", "text": "Conflicts, handled. " * 100}
            for name, document in (("large", large), ("small", {"title": "small"})):
                created = http.put(
                    f"/v1/notes/{name}", json=document, headers={"If-None-Match": "*"}
                )
                assert created.status_code == 201
            etag = http.get("/v1/notes/large").headers["etag"]
            changed = http.put(
                "/v1/notes/large", json={**large, "title": "B"}, headers={"If-Match": etag}
            )
            assert changed.status_code == 200
        yield running


def notes(url: str) -> list[dict[str, Any]]:
    """REDbot's notes on `url`, subnotes included, from its HAR output."""
    run = subprocess.run(
        [sys.executable, "-m", "redbot.cli", "-o", "har", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    log = json.loads(run.stdout)["log"]
    assert "_red_error" not in log, log["_red_error"]
    found: list[dict[str, Any]] = []
    pending = [note for entry in log["entries"] for note in entry["_red_messages"]]
    while pending:
        note = pending.pop()
        found.append(note)
        pending.extend(note.get("subnotes", []))
    return found


@pytest.mark.parametrize("path", PATHS)
def test_redbot_finds_no_warning_and_nothing_bad(service: ServiceProcess, path: str) -> None:
    """No note is "warn" or "bad"; the validators and gzip it probes are there."""
    found = notes(service.url + path)
    complaints = [
        f"{note['level']} {note['note_id']}: {note['summary']}"
        for note in found
        if note["level"].lower() in ("warn", "bad")
    ]
    assert not complaints, complaints
    ids = {note["note_id"] for note in found}
    assert "INM_304" in ids  # a validator, and a 304 for it
    assert "DATE_CORRECT" in ids
    if path != "/v1/notes/small":
        assert "CONNEG_GZIP_GOOD" in ids
