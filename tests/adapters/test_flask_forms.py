"""Flask HTML forms that save only over what they showed: WTForms and SQLAlchemy, two processes.

A browser's form cannot send If-Match: `httpconflict.flask.forms` carries
the version in the form and saves with one guarded UPDATE. The app
(flask_forms_app.py) runs as two threaded WSGI server processes on one
database (SQLite, PostgreSQL, MariaDB); clients use its pages as a
browser would (open the form, edit, save).

Shown to fail on the naive app (``NAIVE=1``: the same form saved the way
Flask apps save one, ``form.populate_obj(row)`` and a commit): the count
ended short of the saves on each database (see the CHANGELOG entry), and
a stale save overwrote the other's edit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.adapters.admin_pages import OpenForm, errors, read_form
from tests.adapters.form_counter import edit_at_once
from tests.at_once import at_once
from tests.servers import start_app

CLIENTS = 4
INCREMENTS = 4
NAIVE = os.environ.get("NAIVE") == "1"


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mariadb"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two server processes of the app on one fresh database."""
    log_dir = tmp_path_factory.mktemp(f"flask-forms-{request.param}")
    if request.param == "sqlite":
        database = f"sqlite:///{log_dir / 'forms.db'}"
    elif request.param == "postgres":
        schema: str = request.getfixturevalue("postgres_module_schema")
        database = schema.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        database = request.getfixturevalue("mariadb_module_url")
    env = {
        "FORMS_DATABASE": database,
        "FORMS_KEYS": str(log_dir / "keys.db"),
        "NAIVE": "1" if NAIVE else "0",
    }
    target = "tests.adapters.flask_forms_app:create_app"
    with ExitStack() as stack:
        # One after the other: the first creates the tables.
        yield [
            stack.enter_context(start_app(target, log_dir, env=env, probe="/healthz", wsgi=True))
            for _ in range(2)
        ]


def _open(http: httpx.Client, url: str) -> OpenForm:
    page = http.get(url)
    assert page.status_code == 200, page.text[:500]
    return read_form(url, page.text)


def _save(http: httpx.Client, form: OpenForm, **changes: str) -> httpx.Response:
    """POST `form` with `changes`: 302 when saved, 200 with the form and its errors when not."""
    return http.post(form.url, data={**form.values, **changes})


def _create(http: httpx.Client, name: str) -> str:
    """A new counter through the add form: its edit page's path."""
    answer = _save(http, _open(http, "/counters/new"), name=name, count="0")
    assert answer.status_code == 302, errors(answer.text)
    edit: str = answer.headers["location"]
    assert re.fullmatch(r"/counters/\d+/edit", edit), edit
    return edit


def _rows(http: httpx.Client, name: str) -> int:
    rows: int = http.get("/counters", params={"name": name}).json()["rows"]
    return rows


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30)


@pytest.mark.slow
def test_clients_editing_one_counter_lose_no_increment(servers: list[str]) -> None:
    """Each saved form is one increment: the count ends at the number of saves."""
    with _client(servers[0]) as http:
        edit = _create(http, "hits")
    tally = edit_at_once(
        lambda number: _client(servers[number % 2]),
        lambda http: _open(http, edit),
        lambda http, form, count: _save(http, form, count=count),
        clients=CLIENTS,
        increments=INCREMENTS,
    )
    with _client(servers[1]) as http:
        final = int(_open(http, edit).values["count"])
    tally.assert_exact(final, CLIENTS * INCREMENTS)


def test_a_stale_form_is_refused_with_what_is_stored(servers: list[str]) -> None:
    """The second of two to save is shown what the first saved; saving again replaces it."""
    with _client(servers[0]) as first, _client(servers[1]) as second:
        edit = _create(first, "stale-form")
        mine, theirs = _open(first, edit), _open(second, edit)
        assert mine.values["version"] == theirs.values["version"] == "1"
        assert _save(first, mine, count="5").status_code == 302
        refused = _save(second, theirs, count="7")
        assert refused.status_code == 200
        (message,) = errors(refused.text)
        assert message == (
            "Someone else saved this counter after you opened it (version 1, now 2); "
            "nothing was saved. Stored now: Count “5”. Your values are kept below: save "
            "again to replace the stored ones with them."
        )
        again = read_form(edit, refused.text)
        assert again.values["count"] == "7"  # the user's input is kept
        assert again.values["version"] == "2"  # and now goes over what they were shown
        assert again.values["idempotency_key"] != theirs.values["idempotency_key"]
        assert _open(first, edit).values["count"] == "5"
        assert _save(second, again).status_code == 302
        assert _open(first, edit).values["count"] == "7"


def test_the_same_value_saved_stale_is_refused_too(servers: list[str]) -> None:
    """Two who read 0 and both save 1 made two increments: the second is told, not merged."""
    with _client(servers[0]) as http:
        edit = _create(http, "same-value")
        mine, theirs = _open(http, edit), _open(http, edit)
        assert _save(http, mine, count="1").status_code == 302
        refused = _save(http, theirs, count="1")
        assert refused.status_code == 200
        assert "nothing was saved" in errors(refused.text)[0]


def test_a_duplicate_name_is_the_field_s_error(servers: list[str]) -> None:
    """The unique index decides; its refusal is the Name field's error, with the input kept."""
    with _client(servers[0]) as http:
        _create(http, "taken")
        answer = _save(http, _open(http, "/counters/new"), name="taken", count="3")
        assert answer.status_code == 200, answer.text[:300]
        assert errors(answer.text) == ["Another record already has this value for Name."]
        assert read_form("/counters/new", answer.text).values["count"] == "3"
        edit = _create(http, "renamed")
        answer = _save(http, _open(http, edit), name="taken")
        assert answer.status_code == 200, answer.text[:300]
        assert errors(answer.text) == ["Another record already has this value for Name."]
        assert _rows(http, "taken") == 1
        assert _rows(http, "renamed") == 1


@pytest.mark.skipif(NAIVE, reason="the naive form carries no version")
def test_a_version_no_page_made_is_refused(servers: list[str]) -> None:
    """A version no integer column holds, or none at all: the form again, nothing written."""
    with _client(servers[1]) as http:
        edit = _create(http, "hostile")
        for version in ("99999999999999999999", "-5", "abc", "", "1.0"):
            answer = _save(http, _open(http, edit), version=version, count="9")
            assert answer.status_code == 200, (version, answer.text[:300])
            assert any("nothing was saved" in e for e in errors(answer.text)), version
        form = _open(http, edit)
        del form.values["version"]
        assert _save(http, form, count="9").status_code == 200
        assert _open(http, edit).values["count"] == "0"


def test_a_double_clicked_add_form_creates_one_row(servers: list[str]) -> None:
    """Both clicks are answered with the first's redirect, to the one row it made."""
    with _client(servers[0]) as http:
        form = _open(http, "/counters/new")
        assert len(form.values["idempotency_key"]) == 24
        answers = at_once(lambda: _save(http, form, name="double", count="0"))
        assert [a.status_code for a in answers] == [302, 302], [a.text[:300] for a in answers]
        assert answers[0].headers["location"] == answers[1].headers["location"]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert _rows(http, "double") == 1
        # A page renders a new key: the same form opened again is another request.
        assert (
            _open(http, "/counters/new").values["idempotency_key"] != form.values["idempotency_key"]
        )


@pytest.mark.skipif(NAIVE, reason="the naive form carries no version")
def test_a_double_clicked_edit_form_saves_once(servers: list[str]) -> None:
    """Not "someone else saved": the second click is the first's duplicate, and replayed."""
    with _client(servers[0]) as first, _client(servers[1]) as second:
        edit = _create(first, "double edit")
        form = _open(first, edit)
        answers = [
            *at_once(lambda: _save(first, form, count="1")),
            _save(second, form, count="1"),  # the same click reaching the other process
        ]
        assert [a.status_code for a in answers] == [302] * 3, [a.text[:300] for a in answers]
        assert _open(first, edit).values["version"] == "2"
