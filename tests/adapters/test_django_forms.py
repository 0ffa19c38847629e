"""HTML forms that save only over what they showed: the admin and generic edit views.

A browser's form cannot send If-Match: `httpconflict.django.forms` carries
the version in the form. The project (django_admin_site.py) runs as two
server processes on one database; staff clients log in and use the
admin's change form as a browser would (open, edit, save).

Shown to fail on the naive project (``NAIVE=1``: Django's own ModelAdmin
and views, the same models): the counter ended short of the saves on each
database (see the CHANGELOG entry), a stale save overwrote the other's
edit, and a duplicate slug was a 500.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.adapters.admin_pages import (
    errors,
    open_form,
    read_form,
    save,
    staff_client,
)
from tests.adapters.django_servers import DATABASES, admin_servers
from tests.adapters.form_counter import edit_at_once
from tests.at_once import at_once

STAFF = 4
INCREMENTS = 4
_ADMIN = "/admin/counters/counter"


#: Two server processes of the project on one fresh database (of each kind in turn).
servers = admin_servers(DATABASES)


def _create(http: httpx.Client, name: str) -> str:
    """A new counter through the admin's add form: its change form's path."""
    # "Save and continue editing": the answer leads to the new counter's change form.
    form = open_form(http, f"{_ADMIN}/add/")
    answer = save(http, form, name=name, count="0", _continue="1")
    assert answer.status_code == 302, errors(answer.text)
    change: str = answer.headers["location"]
    assert re.fullmatch(rf"{_ADMIN}/\d+/change/", change), change
    return change


def _rows(http: httpx.Client, name: str) -> int:
    """The admin changelist's rows of counters named `name`."""
    listing = http.get(f"{_ADMIN}/").text
    return len(
        re.findall(rf'<th class="field-__str__"><a href="[^"]*">{re.escape(name)}</a>', listing)
    )


@pytest.mark.slow
def test_staff_editing_one_counter_lose_no_increment(servers: list[str]) -> None:
    """Each saved form is one increment: the count ends at the number of saves."""
    with staff_client(servers[0]) as http:
        change = _create(http, "hits")
    tally = edit_at_once(
        lambda number: staff_client(servers[number % 2]),
        lambda http: open_form(http, change),
        lambda http, form, count: save(http, form, count=count),
        clients=STAFF,
        increments=INCREMENTS,
    )
    with staff_client(servers[1]) as http:
        final = int(open_form(http, change).values["count"])
    tally.assert_exact(final, STAFF * INCREMENTS)


def test_a_stale_change_form_is_refused_with_what_is_stored(servers: list[str]) -> None:
    """The second of two staff to save is shown what the first saved; saving again replaces it."""
    with staff_client(servers[0]) as first, staff_client(servers[1]) as second:
        change = _create(first, "stale-form")
        mine, theirs = open_form(first, change), open_form(second, change)
        assert mine.values["version"] == theirs.values["version"] == "1"
        assert save(first, mine, note="from the first").status_code == 302
        # The same count as stored: a stale form is refused whatever it holds.
        refused = save(second, theirs, note="from the second")
        assert refused.status_code == 200
        (message,) = errors(refused.text)
        assert message.startswith(
            "Someone else saved this counter after you opened it (version 1, now 2); "
            "nothing was saved. Stored now: note “from the first”."
        ), message
        again = read_form(change, refused.text)
        assert again.values["note"] == "from the second"  # the user's input is kept
        assert again.values["version"] == "2"  # and now goes over what they were shown
        assert open_form(first, change).values["note"] == "from the first"
        assert save(second, again).status_code == 302
        assert open_form(first, change).values["note"] == "from the second"


def test_a_duplicate_the_form_does_not_check_is_a_form_error(servers: list[str]) -> None:
    """A unique slug outside the form: the admin's and a CreateView's page say so, no 500."""
    with staff_client(servers[0]) as http:
        _create(http, "Dup Slug")
        for url in (f"{_ADMIN}/add/", "/counters/new"):
            answer = save(http, open_form(http, url), name="dup-slug", count="0")
            assert answer.status_code == 200, answer.text[:300]
            assert errors(answer.text) == ["Another record already has this value for slug."]
            assert read_form(url, answer.text).values["name"] == "dup-slug"
        assert _rows(http, "Dup Slug") == 1
        assert _rows(http, "dup-slug") == 0


def test_a_generic_update_view_refuses_a_stale_form(servers: list[str]) -> None:
    """``UpdateView`` with `VersionedEditViewMixin`: the same refusal, then the save."""
    with staff_client(servers[0]) as http:
        pk = _create(http, "update-view").split("/")[-3]
        edit = f"/counters/{pk}/edit"
        mine, theirs = open_form(http, edit), open_form(http, edit)
        assert save(http, mine, count="5").status_code == 302
        refused = save(http, theirs, count="6")
        assert refused.status_code == 200
        (message,) = errors(refused.text)
        assert "Stored now: count “5”" in message
        assert int(open_form(http, edit).values["count"]) == 5
        assert save(http, read_form(edit, refused.text)).status_code == 302
        assert int(open_form(http, edit).values["count"]) == 6


def _delete_link(page: str) -> str:
    """Where the change form's "Delete" link leads."""
    found = re.search(r'<a href="([^"]*)" class="deletelink">', page)
    assert found is not None, page[:300]
    return html.unescape(found.group(1))


def _messages(page: str) -> list[str]:
    """The admin's messages on `page`."""
    found = re.findall(r'<li class="(?:error|success|warning|info)">(.*?)</li>', page)
    return [html.unescape(m) for m in found]


@pytest.mark.skipif(os.environ.get("NAIVE") == "1", reason="the mixin's delete confirmation")
def test_the_delete_link_of_a_change_form_someone_saved_since_deletes_nothing(
    servers: list[str],
) -> None:
    """The link carries the version the form showed: a save since is shown, not deleted unseen.

    Pure counter: each increment the admin said it saved is one; the count
    the deleter was shown must be the count deleted.
    """
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        change = _create(mine, "linked delete")
        page = mine.get(change).text
        shown = read_form(change, page).values["count"]
        saved = 0
        for _ in range(2):  # increments acknowledged after the deleter's page showed the count
            form = open_form(theirs, change)
            assert save(theirs, form, count=str(int(form.values["count"]) + 1)).status_code == 302
            saved += 1
        refused = mine.get(_delete_link(page), follow_redirects=True)
        if not _messages(refused.text):  # a confirmation, saying nothing: confirmed as shown
            confirm = read_form(refused.url.raw_path.decode(), refused.text)
            mine.post(confirm.url, data=confirm.values)
            assert mine.get(change).status_code == 200, (
                f"deleted at count {int(shown) + saved}; the deleter was shown {shown}"
            )
        assert _delete_link(page).endswith("?_version=1")
        assert _messages(refused.text) == [
            "Someone else saved this counter after you opened it (version 1, now 3); nothing "
            "was deleted. Stored now: name “linked delete”; count “2”; note “”. What is deleted "
            "with it is listed below: confirm to delete it as stored now."
        ]
        assert open_form(mine, change).values["count"] == str(int(shown) + saved)
        # The confirmation shown now is of what is stored now: confirmed, it deletes.
        confirm = read_form(refused.url.raw_path.decode(), refused.text)
        assert confirm.url.endswith("?_version=3"), confirm.url
        assert mine.post(confirm.url, data=confirm.values).status_code == 302
        assert mine.get(change).status_code == 302  # gone
        # Unchanged since the form showed it: the link leads to its confirmation, and the
        # list's filters are kept (the list shown after the delete).
        change = _create(mine, "linked delete 2")
        page = mine.get(change + "?_changelist_filters=q%3Dlinked").text
        link = _delete_link(page)
        assert link.endswith("?_changelist_filters=q%3Dlinked&_version=1"), link
        assert f'href="{_ADMIN}/"' in page  # the breadcrumbs' list: no version
        confirm = read_form(link, mine.get(link).text)
        done = mine.post(link, data=confirm.values)
        assert done.headers["location"] == f"{_ADMIN}/?q=linked"
        assert mine.get(change).status_code == 302


def _close_link(page: str) -> str:
    """Where a read-only change view's "Close" link leads."""
    found = re.search(r'<a href="([^"]*)" class="closelink">', page)
    assert found is not None, page[:300]
    return html.unescape(found.group(1))


@pytest.mark.skipif(os.environ.get("NAIVE") == "1", reason="the mixin's delete confirmation")
def test_the_delete_link_of_a_view_only_page_someone_saved_since_deletes_nothing(
    servers: list[str],
) -> None:
    """A user who may view and delete, not change: the read-only page's link carries its version.

    Before, the link carried none, and led to the confirmation of what was
    stored by then: the user confirmed and deleted a save they never saw.
    """
    with staff_client(servers[0]) as staff, staff_client(servers[1], "viewer") as viewer:
        change = _create(staff, "view-only delete")
        page = viewer.get(change).text
        assert 'name="_save"' not in page  # read-only to this user
        form = open_form(staff, change)  # a save acknowledged after the viewer's page showed 0
        assert save(staff, form, count="1").status_code == 302
        refused = viewer.get(_delete_link(page), follow_redirects=True)
        if not _messages(refused.text):  # a confirmation, saying nothing: confirmed as shown
            confirm = read_form(refused.url.raw_path.decode(), refused.text)
            viewer.post(confirm.url, data=confirm.values)
            assert staff.get(change).status_code == 200, "deleted at count 1; the page showed 0"
        assert _delete_link(page).endswith("?_version=1")
        assert _messages(refused.text) == [
            "Someone else saved this counter after you opened it (version 1, now 2); nothing "
            "was deleted. Stored now: name “view-only delete”; count “1”; note “”. What is "
            "deleted with it is listed below: confirm to delete it as stored now."
        ]
        assert open_form(staff, change).values["count"] == "1"
        # Confirmed after another save: nothing deleted either.
        confirm = read_form(refused.url.raw_path.decode(), refused.text)
        assert confirm.url.endswith("?_version=2"), confirm.url
        assert save(staff, open_form(staff, change), count="2").status_code == 302
        again = viewer.post(confirm.url, data=confirm.values, follow_redirects=True)
        assert "(version 2, now 3)" in again.text
        assert open_form(staff, change).values["count"] == "2"
        # The page's Close link (beside Delete, the same filters) still leads to the list.
        listing = viewer.get(_close_link(page))
        assert (listing.status_code, listing.url.query) == (200, b"_version=1")
        assert "view-only delete" in listing.text
        filtered = viewer.get(change + "?_changelist_filters=q%3Dview-only").text
        assert _close_link(filtered) == f"{_ADMIN}/?q=view-only"
        # The confirmation of what is stored now, confirmed: deleted.
        confirm = read_form(again.url.raw_path.decode(), again.text)
        assert viewer.post(confirm.url, data=confirm.values).status_code == 302
        assert staff.get(change).status_code == 302  # gone


@pytest.mark.skipif(os.environ.get("NAIVE") == "1", reason="a mixin's own admin options")
def test_an_admin_with_fieldsets_and_the_version_read_only_still_checks_it(
    servers: list[str],
) -> None:
    """Fieldsets that do not name the version, and the version in readonly_fields."""
    with staff_client(servers[0]) as http:
        pk = _create(http, "fieldsets").split("/")[-3]
        change = f"/fieldsets-admin/counters/counter/{pk}/change/"
        mine, theirs = open_form(http, change), open_form(http, change)
        assert mine.values["version"] == "1"
        assert save(http, mine, count="1").status_code == 302
        refused = save(http, theirs, count="2")
        assert refused.status_code == 200
        assert "Stored now: count “1”" in errors(refused.text)[0]


def test_a_version_out_of_any_column_is_refused_as_stale(servers: list[str]) -> None:
    """A version no integer column holds, or none at all: the form again, nothing written."""
    with staff_client(servers[0]) as http:
        change = _create(http, "hostile")
        for version in ("99999999999999999999", "-5", "abc", ""):
            answer = save(http, open_form(http, change), version=version, note=version)
            assert answer.status_code == 200, (version, answer.text[:300])
            assert any("nothing was saved" in e for e in errors(answer.text)), version
        assert open_form(http, change).values["note"] == ""


def test_the_checks_name_a_versioned_admin_of_a_model_without_a_version(tmp_path: Path) -> None:
    """``manage.py check``: an error for it; none for the project's admins (list_editable too)."""
    script = (
        "from tests.adapters.django_admin_site import Tally\n"
        "from django.contrib import admin\n"
        "from django.core import checks\n"
        "from httpconflict.django.forms import VersionedAdminMixin\n"
        "class TallyAdmin(VersionedAdminMixin, admin.ModelAdmin): pass\n"
        "site = admin.AdminSite(name='unversioned')\n"
        "site.register(Tally, TallyAdmin)\n"
        "for m in checks.run_checks(): print(m.id, m.obj.__name__)\n"
    )
    env = {
        **os.environ,
        "COUNTERS_DATABASE": str(tmp_path / "checks.db"),
        "COUNTERS_KEYS": str(tmp_path / "keys.db"),
        "NAIVE": "0",
    }
    found = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert found == ["httpconflict.E001 TallyAdmin"]


@pytest.mark.parametrize("add", [f"{_ADMIN}/add/", "/counters/new"])
def test_a_double_clicked_add_form_creates_one_row(servers: list[str], add: str) -> None:
    """Both clicks are answered with the first's redirect, to the one row it made."""
    name = f"double {add.count('/')}"
    with staff_client(servers[0]) as http:
        form = open_form(http, add)
        assert len(form.values["idempotency_key"]) == 24
        answers = at_once(lambda: save(http, form, name=name, count="0"))
        assert [a.status_code for a in answers] == [302, 302], [a.text[:300] for a in answers]
        assert answers[0].headers["location"] == answers[1].headers["location"]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert _rows(http, name) == 1
        # A page renders a new key: the same form opened again is another request.
        assert open_form(http, add).values["idempotency_key"] != form.values["idempotency_key"]


def test_a_double_clicked_change_form_saves_once(servers: list[str]) -> None:
    """Not "someone else saved": the second click is the first's duplicate, and replayed."""
    with staff_client(servers[1]) as http:
        change = _create(http, "double change")
        form = open_form(http, change)
        answers = at_once(lambda: save(http, form, note="clicked twice"))
        assert [a.status_code for a in answers] == [302, 302], [a.text[:300] for a in answers]
        assert open_form(http, change).values["version"] == "2"


@pytest.mark.skipif(os.environ.get("NAIVE") == "1", reason="the mixin's delete confirmation")
def test_a_delete_confirmed_after_someone_saved_deletes_nothing(servers: list[str]) -> None:
    """The confirmation page carries the version it showed; confirmed stale, nothing goes."""
    with staff_client(servers[0]) as mine, staff_client(servers[1]) as theirs:
        change = _create(mine, "stale delete")
        delete = change.replace("/change/", "/delete/")
        page = mine.get(delete, follow_redirects=True)
        confirm = read_form(page.url.raw_path.decode(), page.text)
        assert confirm.url.endswith("?_version=1")
        assert save(theirs, open_form(theirs, change), note="kept").status_code == 302
        refused = mine.post(confirm.url, data=confirm.values, follow_redirects=True)
        assert "nothing was deleted" in refused.text
        assert "(version 1, now 2)" in refused.text
        assert open_form(mine, change).values["note"] == "kept"
        # The page shown now is for what is stored: confirmed, it deletes.
        again = read_form(refused.url.raw_path.decode(), refused.text)
        assert again.url.endswith("?_version=2")
        assert mine.post(again.url, data=again.values).status_code == 302
        assert mine.get(change).status_code == 302  # gone: the admin sends the user away
