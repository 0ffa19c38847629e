"""The admin's changelist edited in the list (``list_editable``): each row over its version.

The project of django_admin_site.py (``/list-admin/``: the counters' name,
count and note edited in the list) runs as two server processes on one
database; staff clients open the changelist, edit rows and save it, as a
browser would.

Shown to fail on the old code (the changelist's rows carried no version):
the count ended short of the saves, a stale row overwrote the other's edit,
and a duplicate slug was a 500 (see the CHANGELOG entry).
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.adapters.admin_pages import (
    OpenForm,
    errors,
    open_form,
    read_form,
    save,
    staff_client,
)
from tests.adapters.django_servers import admin_servers
from tests.adapters.form_counter import edit_at_once

STAFF = 3
INCREMENTS = 4
_LIST = "/list-admin/counters/counter/"
_STALE = "Someone else saved this counter after you opened it"


#: Two server processes of the project on one fresh database (of each kind in turn).
servers = admin_servers(("sqlite", "postgres"))


def _create(http: httpx.Client, name: str) -> str:
    """A new counter through the admin's add form: its primary key."""
    form = open_form(http, "/admin/counters/counter/add/")
    answer = save(http, form, name=name, count="0", _continue="1")
    assert answer.status_code == 302, errors(answer.text)
    found = re.search(r"/(\d+)/change/$", answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return found.group(1)


def _row(form: OpenForm, pk: str) -> str:
    """The prefix of the changelist form's row of the counter `pk` (``form-3-``)."""
    for name, value in form.values.items():
        found = re.fullmatch(r"(form-\d+-)id", name)
        if found and value == pk:
            return found.group(1)
    raise AssertionError(f"no row of counter {pk}: {sorted(form.values)}")


def _stored(http: httpx.Client, pk: str) -> dict[str, str]:
    """The counter `pk`'s name, count and note as the changelist shows them now."""
    form = open_form(http, _LIST)
    row = _row(form, pk)
    return {name: form.values[row + name] for name in ("name", "count", "note")}


def _marked(page: str) -> list[tuple[str, str]]:
    """The rows shown after an error: the counter each one's checkbox names, its inputs' prefix."""
    found = re.findall(
        r'class="errorlist nonfield".*?</tr>\s*<tr>.*?name="_selected_action" value="(\d+)"'
        r'.*?name="(form-\d+-)',
        page,
        re.DOTALL,
    )
    return [(pk, prefix) for pk, prefix in found]


def _refused(answer: httpx.Response) -> bool:
    """The changelist again, a row saying someone else saved it."""
    return answer.status_code == 200 and any(_STALE in e for e in errors(answer.text))


@pytest.mark.slow
def test_staff_incrementing_a_row_in_the_list_lose_no_increment(servers: list[str]) -> None:
    """Each saved changelist is one increment: the count ends at the number of saves."""
    with staff_client(servers[0]) as http:
        pk = _create(http, "listed hits")  # the newest: the list's first row
        assert _row(open_form(http, _LIST), pk) == "form-0-"
    tally = edit_at_once(
        lambda number: staff_client(servers[number % 2]),
        lambda http: open_form(http, _LIST),
        lambda http, form, count: save(http, form, **{"form-0-count": count}),
        clients=STAFF,
        increments=INCREMENTS,
        stale=_refused,
        field="form-0-count",
    )
    with staff_client(servers[1]) as http:
        final = int(_stored(http, pk)["count"])
    tally.assert_exact(final, STAFF * INCREMENTS)


def test_a_stale_row_refuses_the_whole_list_and_says_why(servers: list[str]) -> None:
    """Nothing of a list with a stale row is saved; the row says what is stored; again saves."""
    with staff_client(servers[0]) as first, staff_client(servers[1]) as second:
        a, b = _create(first, "stale row a"), _create(first, "stale row b")
        mine, theirs = open_form(first, _LIST), open_form(second, _LIST)
        assert save(first, mine, **{_row(mine, a) + "count": "1"}).status_code == 302
        _create(first, "stale row added")  # the list read now has a row more at its top
        edits = {_row(theirs, a) + "note": "from the second", _row(theirs, b) + "note": "b too"}
        refused = save(second, theirs, **edits)
        assert refused.status_code == 200
        (message,) = [e for e in errors(refused.text) if _STALE in e]
        assert message.startswith(
            f"{_STALE} (version 1, now 2); nothing was saved. Stored now: count “1”; note “”."
        ), message
        # Marked on its own row: its link and checkbox, and its inputs.
        assert _marked(refused.text) == [(a, _row(theirs, a))]
        # Nothing saved, not even the row no one else changed.
        assert _stored(first, a) == {"name": "stale row a", "count": "1", "note": ""}
        assert _stored(first, b)["note"] == ""
        # The page keeps the input, the stale row now over the version it names: saved again.
        again = save(second, read_form(_LIST, refused.text))
        assert again.status_code == 302, errors(again.text)
        assert _stored(first, a) == {"name": "stale row a", "count": "0", "note": "from the second"}
        assert _stored(first, b)["note"] == "b too"


def test_a_row_someone_else_saved_but_not_edited_here_is_left_alone(servers: list[str]) -> None:
    """Not refused, and not overwritten with the old values the page still holds."""
    with staff_client(servers[0]) as first, staff_client(servers[1]) as second:
        a, b = _create(first, "untouched a"), _create(first, "untouched b")
        mine, theirs = open_form(first, _LIST), open_form(second, _LIST)
        assert save(first, mine, **{_row(mine, a) + "note": "first's"}).status_code == 302
        answer = save(second, theirs, **{_row(theirs, b) + "note": "second's"})
        assert answer.status_code == 302, errors(answer.text)
        assert _stored(first, a)["note"] == "first's"
        assert _stored(first, b)["note"] == "second's"


def test_a_violation_after_a_row_was_saved_rolls_the_list_back(servers: list[str]) -> None:
    """Two rows whose slugs clash on save: neither saved, the list says why, no 500."""
    with staff_client(servers[0]) as http:
        a, b = _create(http, "clash a"), _create(http, "clash b")
        form = open_form(http, _LIST)
        # The names differ; the slugs made from them in save() do not.
        edits = {_row(form, a) + "name": "Slug Clash", _row(form, b) + "name": "slug-clash"}
        answer = save(http, form, **edits)
        assert answer.status_code == 200, answer.text[:300]
        assert "Another record already has this value for slug." in errors(answer.text)
        assert _stored(http, a)["name"] == "clash a"
        assert _stored(http, b)["name"] == "clash b"


def test_a_row_deleted_meanwhile_stops_the_list_only_when_edited(servers: list[str]) -> None:
    """Left alone, the others are saved; edited, nothing is, and the row says it is gone."""
    with staff_client(servers[0]) as http:
        a, b, c = (_create(http, f"deleted {n}") for n in "abc")
        form = open_form(http, _LIST)
        delete = f"/admin/counters/counter/{a}/delete/"
        confirm = http.get(delete, follow_redirects=True)
        answer = http.post(str(confirm.url), data=read_form(delete, confirm.text).values)
        assert answer.status_code == 302
        answer = save(http, form, **{_row(form, b) + "note": "kept"})
        assert answer.status_code == 302, errors(answer.text)
        assert _stored(http, b)["note"] == "kept"
        answer = save(http, form, **{_row(form, a) + "note": "x", _row(form, c) + "note": "y"})
        assert answer.status_code == 200
        assert errors(answer.text) == [
            "This counter was deleted after you opened it; nothing was saved. Put back its "
            "values as shown, or open the list again, to save the other rows."
        ]
        assert _stored(http, c)["note"] == ""
        again = read_form(_LIST, answer.text)
        assert save(http, again, **{_row(form, a) + "note": ""}).status_code == 302
        assert _stored(http, c)["note"] == "y"
