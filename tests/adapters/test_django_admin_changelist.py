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
import threading
import time

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
from tests.at_once import at_once

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


def _rows(form: OpenForm) -> dict[str, str]:
    """The prefix of the changelist form's row (``form-3-``) of each counter, by its key."""
    found = (re.fullmatch(r"(form-\d+-)id", name) for name in form.values)
    return {form.values[m.group(0)]: m.group(1) for m in found if m}


def _row(form: OpenForm, pk: str) -> str:
    """The prefix of the changelist form's row of the counter `pk` (``form-3-``)."""
    found = _rows(form).get(pk)
    assert found is not None, f"no row of counter {pk}: {sorted(form.values)}"
    return found


def _stored(http: httpx.Client, pk: str) -> dict[str, str]:
    """The counter `pk`'s name, count and note as the changelist shows them now."""
    form = open_form(http, _LIST)
    row = _row(form, pk)
    return {name: form.values[row + name] for name in ("name", "count", "note")}


def _marked(page: str) -> list[tuple[str, str]]:
    """The rows shown after an error: the counter each one's checkbox names, its inputs' prefix."""
    found = re.findall(
        r'class="errorlist nonfield".*?</tr>\s*<tr>.*?name="_selected_action" value="(\d+)[@"]'
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
        # The list shown again is a new page: a new form key.
        assert read_form(_LIST, refused.text).values["idempotency_key"] not in (
            theirs.values["idempotency_key"],
            "",
        )
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


def _selectable(page: str) -> dict[str, str]:
    """What each row's checkbox (the confirmation's hidden input) sends, by the row's key."""
    values = re.findall(r'name="_selected_action" value="([^"]*)"', page)
    return {value.partition("@")[0]: value for value in values}


def _delete_selected(http: httpx.Client, page: str, keys: list[str]) -> httpx.Response:
    """The list `page`'s rows `keys` checked, "Delete selected" chosen and Go clicked."""
    return _act(http, page, keys, "delete_selected")


def _act(
    http: httpx.Client, page: str, keys: list[str], action: str, url: str = _LIST
) -> httpx.Response:
    """The list `page` (at `url`)'s rows `keys` checked, the `action` chosen and Go clicked."""
    selectable = _selectable(page)
    values = {
        **read_form(url, page).values,
        "action": action,
        "index": "0",
        "_selected_action": [selectable[key] for key in keys],
    }
    return http.post(url, data=values)


def _confirm(http: httpx.Client, page: str) -> httpx.Response:
    """ "Yes, I'm sure" clicked on the confirmation `page`."""
    values = {**read_form(_LIST, page).values, "_selected_action": list(_selectable(page).values())}
    return http.post(_LIST, data=values)


def _shown_messages(http: httpx.Client, answer: httpx.Response) -> list[str]:
    """The messages of the page `answer` (a redirect) leads to."""
    assert answer.status_code == 302, answer.text[:300]
    page = http.get(answer.headers["location"]).text
    return re.findall(r'<li class="(?:error|success|warning|info)">(.*?)</li>', page)


def _listed(http: httpx.Client) -> set[str]:
    """The keys of the counters the list shows."""
    return set(_selectable(http.get(_LIST).text))


def test_delete_selected_confirmed_after_someone_saved_a_row_deletes_nothing(
    servers: list[str],
) -> None:
    """The confirmation carries the versions shown: a row saved since refuses the whole action."""
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        a, b = _create(mine, "doomed a"), _create(mine, "doomed b")
        confirmation = _delete_selected(mine, mine.get(_LIST).text, [a, b])
        assert confirmation.status_code == 200, confirmation.text[:300]
        assert "Are you sure you want to delete the selected counters?" in confirmation.text
        form = open_form(theirs, _LIST)
        assert save(theirs, form, **{_row(form, b) + "note": "keep me"}).status_code == 302
        refused = _confirm(mine, confirmation.text)
        assert _shown_messages(mine, refused) == [
            "Someone else saved the counter “doomed b” (version 1, now 2) after this page "
            "showed it; nothing was deleted. The list shows what is stored now: select "
            "again to delete."
        ]
        assert {a, b} <= _listed(mine)  # nothing deleted, not even the row left alone
        assert _stored(mine, b)["note"] == "keep me"
        # From the list shown now: deleted.
        confirmation = _delete_selected(mine, mine.get(_LIST).text, [a, b])
        assert _shown_messages(mine, _confirm(mine, confirmation.text)) == [
            "Successfully deleted 2 counters."
        ]
        assert not {a, b} & _listed(mine)


def test_delete_selected_from_a_list_someone_saved_since_asks_nothing(
    servers: list[str],
) -> None:
    """The checkboxes carry the versions shown: a row saved since is not offered for deletion."""
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        a, b = _create(mine, "listed a"), _create(mine, "listed b")
        page = mine.get(_LIST).text
        form = open_form(theirs, _LIST)
        edits = {_row(form, a) + "note": "edited", _row(form, b) + "note": "edited"}
        assert save(theirs, form, **edits).status_code == 302
        answer = _delete_selected(mine, page, [a, b])
        assert _shown_messages(mine, answer) == [
            "Someone else saved the counters “listed a” (version 1, now 2), “listed b” "
            "(version 1, now 2) after this page showed them; nothing was deleted. The list "
            "shows what is stored now: select again to delete."
        ]
        assert {a, b} <= _listed(mine)


@pytest.mark.slow
def test_a_row_deleted_while_staff_increment_it_loses_no_acknowledged_increment(
    servers: list[str],
) -> None:
    """The delete goes only over the count its list showed: every increment saved was seen."""
    with staff_client(servers[0]) as http:
        pk = _create(http, "deleted while counted")
    saved: list[int] = []  # one item per increment the list said it saved
    gone = threading.Event()

    def increment(number: int) -> None:
        with staff_client(servers[number % 2]) as http:
            while not gone.is_set() and len(saved) < 12:
                form = open_form(http, _LIST)
                row = _rows(form).get(pk)
                if row is None:  # deleted
                    break
                answer = save(
                    http, form, **{row + "count": str(int(form.values[row + "count"]) + 1)}
                )
                if answer.status_code == 302:
                    saved.append(1)
                    time.sleep(0.1)  # a staff member's pace: the delete has its moments too
                else:  # someone saved first, or the row is gone: read again
                    assert answer.status_code == 200, answer.text[:300]
                    assert errors(answer.text)

    shown: list[int] = []  # the count of the list whose delete was confirmed

    def delete() -> None:
        with staff_client(servers[1]) as http:
            for _ in range(50):
                page = http.get(_LIST).text
                form = read_form(_LIST, page)
                count = int(form.values[_row(form, pk) + "count"])
                confirmation = _delete_selected(http, page, [pk])
                if confirmation.status_code == 200:
                    done = _shown_messages(http, _confirm(http, confirmation.text))
                    if done == ["Successfully deleted 1 counter."]:
                        shown.append(count)
                        break
                else:
                    http.get(confirmation.headers["location"])  # read its message
        gone.set()

    threads = [threading.Thread(target=increment, args=(n,)) for n in range(2)]
    threads.append(threading.Thread(target=delete))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with staff_client(servers[0]) as http:
        assert pk not in _listed(http)
    assert shown == [len(saved)], f"{len(saved)} increments saved, the deleted list showed {shown}"


def test_a_double_clicked_save_of_the_list_saves_once(servers: list[str]) -> None:
    """Not "someone else saved": the second click (and a resent POST) gets the first's redirect."""
    with staff_client(servers[1]) as http:
        pk = _create(http, "double list")
        form = open_form(http, _LIST)
        row = _row(form, pk)

        def click() -> httpx.Response:
            return save(http, form, **{row + "count": "1"})

        answers = [*at_once(click), click()]  # a double click, then a reload that resends
        assert [a.status_code for a in answers] == [302] * 3, [errors(a.text) for a in answers]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == [
            "",
            "true",
            "true",
        ]
        assert _stored(http, pk)["count"] == "1"
        assert open_form(http, _LIST).values[row + "version"] == "2"  # saved once
        # A page renders a new key: the list opened again is another submission.
        assert len(form.values["idempotency_key"]) == 24
        assert open_form(http, _LIST).values["idempotency_key"] != form.values["idempotency_key"]


def test_an_action_of_ones_own_from_a_list_someone_saved_since_does_nothing(
    servers: list[str],
) -> None:
    """The app's "Reset the count" acts only over the versions the list showed.

    Pure counter: an increment the admin said it saved is never reset unseen.
    """
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        a, b = _create(mine, "reset a"), _create(mine, "reset b")
        form = open_form(mine, _LIST)
        assert save(mine, form, **{_row(form, a) + "count": "3"}).status_code == 302
        page = mine.get(_LIST).text
        form = open_form(theirs, _LIST)
        assert save(theirs, form, **{_row(form, b) + "count": "1"}).status_code == 302
        # An action marked `unversioned_action` (it writes nothing) is done all the same.
        answer = _act(mine, page, [a, b], "sum_counts")
        assert _shown_messages(mine, answer) == ["The counts selected add up to 4."]
        answer = _act(mine, page, [a, b], "reset_counts")
        shown = _shown_messages(mine, answer)
        assert _stored(mine, b)["count"] == "1", "an acknowledged increment reset unseen"
        assert shown == [
            "Someone else saved the counter “reset b” (version 1, now 2) after this page "
            "showed it; “Reset the count” was not done. The list shows what is stored now: "
            "select again to do it."
        ]
        assert _stored(mine, a)["count"] == "3"  # not reset either: nothing was done
        # From the list shown now: done.
        answer = _act(mine, mine.get(_LIST).text, [a, b], "reset_counts")
        assert _shown_messages(mine, answer) == ["Reset 2 counters."]
        assert _stored(mine, b)["count"] == "0"


def test_an_actions_update_moves_the_version_of_the_rows_it_writes(servers: list[str]) -> None:
    """A change form opened before "Add one to the count" does not save over its increment.

    Pure counter: the count is the number of increments the admin said it saved.
    """
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        pk = _create(mine, "acted on")
        change = f"/admin/counters/counter/{pk}/change/"
        form = open_form(theirs, change)
        answer = _act(mine, mine.get(_LIST).text, [pk], "increment_counts")
        assert _shown_messages(mine, answer) == ["Incremented 1 counter."]
        saved = save(theirs, form, count=str(int(form.values["count"]) + 1))
        acknowledged = 1 + (saved.status_code == 302)
        assert int(_stored(mine, pk)["count"]) == acknowledged
        assert any("(version 1, now 2)" in e for e in errors(saved.text))


@pytest.mark.slow
def test_staff_incrementing_with_the_form_and_an_action_at_once_lose_no_increment(
    servers: list[str],
) -> None:
    """Two staff save the change form (count + 1 of what it showed), one runs "Add one".

    Pure counter: the count ends at the number of increments the admin said it made.
    """
    with staff_client(servers[0]) as http:
        pk = _create(http, "form and action")
    change = f"/admin/counters/counter/{pk}/change/"
    acted: list[int] = []
    stop = threading.Event()

    def act() -> None:
        with staff_client(servers[1]) as http:
            # Until the forms are done, and one action at least (the forms may win each race).
            for _ in range(200):
                if stop.is_set() and acted:
                    break
                answer = _act(http, http.get(_LIST).text, [pk], "increment_counts")
                done = _shown_messages(http, answer)
                if done == ["Incremented 1 counter."]:
                    acted.append(1)
                else:  # someone saved since the list showed it: read again
                    assert "was not done" in done[0], done

    thread = threading.Thread(target=act)
    thread.start()
    try:
        tally = edit_at_once(
            lambda number: staff_client(servers[number % 2]),
            lambda http: open_form(http, change),
            lambda http, form, count: save(http, form, count=count),
            clients=2,
            increments=INCREMENTS,
        )
    finally:
        stop.set()
        thread.join()
    with staff_client(servers[0]) as http:
        final = int(open_form(http, change).values["count"])
    assert acted, "no action done"
    tally.assert_exact(final - len(acted), 2 * INCREMENTS)


def test_a_double_clicked_action_on_a_list_without_list_editable_is_done_once(
    servers: list[str],
) -> None:
    """The list's action bar carries the page's form key: the second click is the first's."""
    listed = "/admin/counters/counter/"
    with staff_client(servers[0]) as http:
        pk = _create(http, "double action")
        page = http.get(listed).text
        answers = at_once(lambda: _act(http, page, [pk], "increment_counts", listed))
        assert [a.status_code for a in answers] == [302, 302], [a.text[:300] for a in answers]
        shown = re.findall(r'<li class="\w+">(.*?)</li>', http.get(listed).text)
        assert _stored(http, pk)["count"] == "1"
        assert shown == ["Incremented 1 counter."]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
