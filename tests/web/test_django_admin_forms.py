"""The Django admin's forms (`httpconflict.django.forms`) clicked in a real browser.

Chromium (tests/web/conftest.py) drives the test project of
tests/adapters/django_admin_site.py, served by one process on SQLite, then
on PostgreSQL; each test checks the rows in the database itself. What the
httpx tests of tests/adapters/test_django_forms.py cannot show: a user's
double click (two clicks 50 ms apart, the second while the first save
runs: a record named ``slow...`` takes half a second to save), a multipart
form whose boundary Chromium draws anew for each submission, the page the
browser ends on, and what the admin's history says of a save.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.adapters.django_servers import notes_database
from tests.servers import start_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ADMIN = "/admin/counters"


class Project:
    """The test project's server, and its database read directly."""

    def __init__(self, url: str, database: str, log_dir: Path) -> None:
        self.url = url
        self.database = database
        self.log_dir = log_dir

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows `sql` selects, read from the database (not through the app)."""
        if self.database.startswith("postgresql://"):
            import psycopg

            with psycopg.connect(self.database) as connection:
                return connection.execute(sql, params).fetchall()
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()

    def posts(self, path: str) -> int:
        """How many POSTs of `path` the server logged."""
        log = "".join(p.read_text() for p in self.log_dir.glob("app-*.log"))
        return log.count(f"POST {path} HTTP/1.1")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    """The admin test project on a fresh database of its own."""
    log_dir = tmp_path_factory.mktemp(f"admin-browser-{request.param}")
    database = notes_database(request, request.param, log_dir)
    env = {"COUNTERS_DATABASE": database, "COUNTERS_KEYS": str(log_dir / "keys.db"), "NAIVE": "0"}
    target = "tests.adapters.django_admin_site:create_app"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield Project(url, database, log_dir)


@pytest.fixture(scope="module")
def staff_pages(browser: Browser, project: Project) -> Iterator[list[Page]]:
    """Two browsers (contexts of their own), each logged in to a staff session of its own.

    One page in each for the module's tests: a page opened for each test cost
    Chromium a renderer process of its own (0.3-0.5 s of CPU to start). Each
    test starts by going to a page of its own, and goes back only to pages
    it opened itself.
    """
    contexts = [browser.new_context(base_url=project.url) for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "staff")
        page.click("input[type=submit]")
        page.wait_for_url(f"{project.url}/admin/")
    yield pages
    for context in contexts:
        context.close()


@pytest.fixture
def staff(staff_pages: list[Page]) -> list[Page]:
    """The page of each of the two staff browsers."""
    return staff_pages


def double_click(page: Page, button: str, then: str | re.Pattern[str]) -> None:
    """Two clicks on `button`, 50 ms apart, as a hand does; then wait for the page at `then`.

    The browser drops the first click's navigation for the second's: the
    page it ends on is the second's answer.
    """
    page.locator(button).scroll_into_view_if_needed()  # a long list's Save is below the fold
    box = page.locator(button).bounding_box()
    assert box is not None, button
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(50)
    page.mouse.click(x, y)
    from playwright.sync_api import expect

    # Polled: waiting for a navigation would catch the first click's, which the browser dropped.
    expect(page).to_have_url(then)
    page.wait_for_load_state("load")


def submit(page: Page, button: str = "input[name=_save]") -> None:
    """Click `button`, and wait for the page the form's answer leads to."""
    with page.expect_navigation():
        page.click(button)


def save_and_continue(page: Page) -> str:
    """Click "Save and continue editing": the change form's URL the admin goes to."""
    submit(page, "input[name=_continue]")
    assert re.search(r"/\d+/change/$", page.url), page.url
    return page.url


def add_counter(page: Page, name: str) -> str:
    """A counter named `name` added through the admin's add form: its change form's URL."""
    page.goto(f"{ADMIN}/counter/add/")
    page.fill("#id_name", name)
    return save_and_continue(page)


def shown_errors(page: Page) -> list[str]:
    """The errors the page shows: the admin's note and its fields' error lists."""
    return page.locator(".errornote, .errorlist li").all_inner_texts()


def test_a_double_clicked_add_form_adds_one_row(staff: list[Page], project: Project) -> None:
    """Both clicks were sent; one counter was added, and the browser is on the changelist."""
    page = staff[0]
    page.goto(f"{ADMIN}/counter/add/")
    page.fill("#id_name", "slow double add")
    page.fill("#id_count", "1")
    before = project.posts(f"{ADMIN}/counter/add/")
    double_click(page, "input[name=_save]", f"{project.url}{ADMIN}/counter/")
    assert project.posts(f"{ADMIN}/counter/add/") - before == 2
    assert project.rows(
        "SELECT count(*) FROM counters_counter WHERE name = %s", "slow double add"
    ) == [(1,)]
    assert page.url == f"{project.url}{ADMIN}/counter/"
    assert shown_errors(page) == []
    # The first's message, kept in the session (a cookie's is lost: see django.md).
    message = page.locator(".messagelist li").inner_text()
    assert message == "The counter “slow double add” was added successfully."


def test_a_double_clicked_upload_adds_one_row(
    staff: list[Page], project: Project, tmp_path: Path
) -> None:
    """A multipart form: Chromium draws a new boundary per submission, and still one row."""
    upload = tmp_path / "notes.txt"
    upload.write_text("a line\n" * 200)
    page = staff[0]
    page.goto(f"{ADMIN}/attachment/add/")
    page.fill("#id_title", "slow upload")
    page.set_input_files("#id_file", str(upload))
    before = project.posts(f"{ADMIN}/attachment/add/")
    double_click(page, "input[name=_save]", f"{project.url}{ADMIN}/attachment/")
    assert project.posts(f"{ADMIN}/attachment/add/") - before == 2
    assert project.rows(
        "SELECT count(*) FROM counters_attachment WHERE title = %s", "slow upload"
    ) == [(1,)]
    assert page.url == f"{project.url}{ADMIN}/attachment/"
    assert shown_errors(page) == []


def test_a_double_clicked_change_form_saves_once(staff: list[Page], project: Project) -> None:
    """One save (version 1 to 2), not "someone else saved": the second click is a duplicate."""
    page = staff[0]
    page.goto(f"{ADMIN}/counter/add/")
    page.fill("#id_name", "slow double change")
    change = save_and_continue(page)
    page.fill("#id_note", "clicked twice")
    double_click(page, "input[name=_save]", f"{project.url}{ADMIN}/counter/")
    ((pk, version, note),) = project.rows(
        "SELECT id, version, note FROM counters_counter WHERE name = %s", "slow double change"
    )
    assert project.posts(f"{ADMIN}/counter/{pk}/change/") == 2
    assert (version, note) == (2, "clicked twice")
    assert change.endswith(f"/{pk}/change/")
    assert shown_errors(page) == []


def test_the_history_names_the_fields_the_user_changed(staff: list[Page], project: Project) -> None:
    """The admin's history says "Changed Note.", not the form's hidden key; no change: none."""
    page = staff[0]
    page.goto(f"{ADMIN}/counter/add/")
    page.fill("#id_name", "history")
    change = save_and_continue(page)
    page.fill("#id_note", "a note")
    save_and_continue(page)
    page.goto(change)
    save_and_continue(page)  # nothing changed
    page.goto(change.replace("/change/", "/history/"))
    actions = page.locator("#change-history tbody tr td:last-child").all_inner_texts()
    assert actions == ["Added.", "Changed Note.", "No fields changed."]


def test_a_stale_save_in_another_browser_shows_what_is_stored(
    staff: list[Page], project: Project
) -> None:
    """The second to save is shown the first's note, keeps their input, and saving again wins."""
    first, second = staff
    change = add_counter(first, "two browsers")
    second.goto(change)
    first.fill("#id_note", "from the first")
    submit(first)
    second.fill("#id_note", "from the second")
    submit(second)
    assert second.url == change
    (message,) = second.locator(".errorlist li").all_inner_texts()
    assert message.startswith(
        "Someone else saved this counter after you opened it (version 1, now 2); "
        "nothing was saved. Stored now: note “from the first”."
    ), message
    assert second.input_value("#id_note") == "from the second"
    query = "SELECT version, note FROM counters_counter WHERE name = %s"
    assert project.rows(query, "two browsers") == [(2, "from the first")]
    # The browser asks to send the refused form again: the same page, nothing saved.
    second.reload()
    assert re.match(r"Someone else saved", second.locator(".errorlist li").inner_text())
    assert project.rows(query, "two browsers") == [(2, "from the first")]
    submit(second)
    assert second.url == f"{project.url}{ADMIN}/counter/"
    assert project.rows(query, "two browsers") == [(3, "from the second")]


def test_a_stale_save_names_what_is_stored_now_in_its_inline_rows(
    staff: list[Page], project: Project
) -> None:
    """A tally changed and one added by someone else: named, so saving again is knowing."""
    first, second = staff
    inlines = "/inlines-admin/counters/counter"
    first.goto(f"{inlines}/add/")
    first.fill("#id_name", "inlines")
    first.fill("#id_tally_set-0-text", "one")
    change = save_and_continue(first)
    second.goto(change)
    first.fill("#id_tally_set-0-text", "one, edited")
    first.fill("#id_tally_set-1-text", "two")
    save_and_continue(first)
    second.fill("#id_tally_set-0-text", "one, by the second")
    submit(second)
    messages = second.locator(".errorlist.nonfield li").all_inner_texts()
    assert len(messages) == 2, messages
    assert messages[0].endswith("The fields below hold your values: save again to save them.")
    (first_tally, second_tally) = project.rows(
        "SELECT t.id FROM counters_tally t JOIN counters_counter c ON c.id = t.counter_id "
        "WHERE c.name = %s ORDER BY t.id",
        "inlines",
    )
    assert messages[1] == (
        f"Stored now in the rows below: tally “Tally object ({first_tally[0]})”: "
        f"text “one, edited”; tally “Tally object ({second_tally[0]})” added. "
        "Saving again replaces them with the rows as shown."
    )
    assert second.input_value("#id_tally_set-0-text") == "one, by the second"  # kept
    submit(second)
    assert second.url == f"{project.url}{inlines}/"
    assert project.rows(
        "SELECT text FROM counters_tally WHERE id IN (%s, %s) ORDER BY id",
        first_tally[0],
        second_tally[0],
    ) == [("one, by the second",), ("two",)]


def test_back_then_save_again_adds_a_row_only_when_the_form_was_changed(
    staff: list[Page], project: Project, tmp_path: Path
) -> None:
    """Back shows the add form again (fetched anew, the user's values restored by the browser).

    Saved unchanged, it is the first submission again: its answer, no second
    row. Changed, it is another: a second row, not a refusal.
    """
    upload = tmp_path / "receipt.txt"
    upload.write_text("paid\n")
    page = staff[0]
    page.goto(f"{ADMIN}/attachment/add/")
    page.fill("#id_title", "back and save")
    page.set_input_files("#id_file", str(upload))
    submit(page)
    query = "SELECT title FROM counters_attachment WHERE title LIKE %s ORDER BY id"
    assert project.rows(query, "back and save%") == [("back and save",)]
    page.go_back()
    assert page.input_value("#id_title") == "back and save"  # restored by the browser
    submit(page)
    assert page.url == f"{project.url}{ADMIN}/attachment/"
    assert shown_errors(page) == []
    assert project.rows(query, "back and save%") == [("back and save",)]
    page.go_back()
    page.fill("#id_title", "back and save, changed")
    submit(page)
    assert shown_errors(page) == []
    assert project.rows(query, "back and save%") == [
        ("back and save",),
        ("back and save, changed",),
    ]


def test_a_double_clicked_save_as_new_makes_one_copy(staff: list[Page], project: Project) -> None:
    """ "Save as new" clicked twice: one copy (version 1, its inline row too); the original kept."""
    inlines = "/inlines-admin/counters/counter"
    page = staff[0]
    page.goto(f"{inlines}/add/")
    page.fill("#id_name", "original")
    page.fill("#id_tally_set-0-text", "a tally")
    original = save_and_continue(page).removeprefix(project.url)
    page.fill("#id_name", "slow copy")
    pk = original.split("/")[-3]
    # The copy's change form, not the original's, where the page is until then.
    double_click(page, "input[name=_saveasnew]", re.compile(rf".*/(?!{pk}/)\d+/change/$"))
    assert project.posts(original) == 2
    assert shown_errors(page) == []
    counters = project.rows(
        "SELECT c.name, c.version, t.text FROM counters_counter c "
        "JOIN counters_tally t ON t.counter_id = c.id WHERE c.name IN (%s, %s) ORDER BY c.id",
        "original",
        "slow copy",
    )
    assert counters == [("original", 1, "a tally"), ("slow copy", 1, "a tally")]


def test_a_double_clicked_delete_confirmation_says_deleted(
    staff: list[Page], project: Project
) -> None:
    """The second click finds the counter gone, deleted by this user: "deleted successfully"."""
    page = staff[0]
    page.goto(f"{ADMIN}/counter/add/")
    page.fill("#id_name", "slow delete")
    change = save_and_continue(page).removeprefix(project.url)
    page.goto(change.replace("/change/", "/delete/"))
    confirmation = page.url.removeprefix(project.url)  # with the version it shows
    double_click(page, "input[type=submit]", f"{project.url}{ADMIN}/counter/")
    assert project.posts(confirmation) == 2
    assert project.rows("SELECT count(*) FROM counters_counter WHERE name = %s", "slow delete") == [
        (0,)
    ]
    messages = page.locator(".messagelist li").all_inner_texts()
    assert messages == ["The counter “slow delete” was deleted successfully."]


def test_a_refused_form_saved_again_unchanged_runs_again(
    staff: list[Page], project: Project
) -> None:
    """ "Name already exists", the other counter renamed meanwhile: Save again on the page saves."""
    first, second = staff
    second.goto(f"{ADMIN}/counter/add/")
    second.fill("#id_name", "taken")
    taken = save_and_continue(second)
    first.goto(f"{ADMIN}/counter/add/")
    first.fill("#id_name", "taken")
    submit(first)
    assert shown_errors(first)[-1] == "Counter with this Name already exists."
    second.fill("#id_name", "taken, renamed")
    submit(second)
    assert second.url == f"{project.url}{ADMIN}/counter/", taken
    submit(first)  # the page's form, unchanged
    assert shown_errors(first) == []
    assert first.url == f"{project.url}{ADMIN}/counter/"
    names = project.rows("SELECT name FROM counters_counter WHERE name LIKE %s", "taken%")
    assert sorted(names) == [("taken",), ("taken, renamed",)]


def test_a_stale_row_of_the_changelist_is_marked_and_nothing_saved(
    staff: list[Page], project: Project
) -> None:
    """``list_editable``: the row someone else saved is marked; saving again saves the list."""
    first, second = staff
    for name in ("listed below", "listed"):
        first.goto(f"{ADMIN}/counter/add/")
        first.fill("#id_name", name)
        pk = save_and_continue(first).split("/")[-3]
    listing = "/list-admin/counters/counter/"
    first.goto(listing)
    second.goto(listing)
    assert first.locator("#id_form-0-id").input_value() == pk  # the newest: the first row
    first.fill("#id_form-0-count", "1")
    submit(first)
    second.fill("#id_form-0-count", "1")
    second.fill("#id_form-1-note", "the row below")
    submit(second)
    assert shown_errors(second)[0] == "Please correct the error below."
    # The error's row, then the row it is about: the counter's own link.
    marked = second.locator("tr:has(ul.errorlist) + tr th.field-id a")
    assert marked.inner_text() == pk
    assert "Someone else saved this counter after you opened it" in shown_errors(second)[1]
    query = "SELECT version, count FROM counters_counter WHERE id = %s"
    assert project.rows(query, int(pk)) == [(2, 1)]
    assert project.rows(
        "SELECT count(*) FROM counters_counter WHERE note = %s", "the row below"
    ) == [(0,)]
    submit(second)  # knowingly, over what it was shown: both rows saved
    assert shown_errors(second) == []
    assert project.rows(query, int(pk)) == [(3, 1)]
    assert project.rows(
        "SELECT count(*) FROM counters_counter WHERE note = %s", "the row below"
    ) == [(1,)]
    # The history names the user's change, not the version or the values the page showed.
    second.goto(f"{ADMIN}/counter/{pk}/history/")
    actions = second.locator("#change-history tbody tr td:last-child").all_inner_texts()
    assert actions == ["Added.", "Changed Count.", "Changed Count."]


def test_a_double_clicked_save_of_the_list_saves_once(staff: list[Page], project: Project) -> None:
    """``list_editable``: the second click gets the first's redirect, not "someone else saved"."""
    page = staff[0]
    pk = add_counter(page, "slow double list").split("/")[-3]
    listing = "/list-admin/counters/counter/"
    page.goto(listing)
    assert page.locator("#id_form-0-id").input_value() == pk
    page.fill("#id_form-0-count", "1")
    posts = project.posts(listing)
    double_click(page, "input[name=_save]", f"{project.url}{listing}")
    from playwright.sync_api import expect

    # Polled: the list's address is the page's own, so double_click returned at once.
    expect(page.locator(".messagelist li")).to_have_text(["1 counter was changed successfully."])
    assert shown_errors(page) == []
    query = "SELECT version, count FROM counters_counter WHERE id = %s"
    assert project.rows(query, int(pk)) == [(2, 1)]
    assert project.posts(listing) - posts == 2  # both clicks were sent


def test_delete_selected_confirmed_after_someone_saved_deletes_nothing(
    staff: list[Page], project: Project
) -> None:
    """The list's "Delete selected": the confirmation carries the version the list showed."""
    first, second = staff
    pk = add_counter(first, "selected for deletion").split("/")[-3]
    listing = "/list-admin/counters/counter/"
    first.goto(listing)
    assert first.locator("#id_form-0-id").input_value() == pk  # the newest: the first row
    first.locator("input.action-select").first.check()
    first.select_option("select[name=action]", "delete_selected")
    submit(first, "button[name=index]")
    assert "Are you sure" in first.locator("#content").inner_text()
    second.goto(listing)
    second.fill("#id_form-0-note", "saved meanwhile")
    submit(second)
    submit(first, "input[type=submit]")  # "Yes, I'm sure"
    assert first.url == f"{project.url}{listing}"
    assert first.locator(".messagelist li.error").all_inner_texts() == [
        "Someone else saved the counter “selected for deletion” (version 1, now 2) after this "
        "page showed it; nothing was deleted. The list shows what is stored now: select "
        "again to delete."
    ]
    query = "SELECT version, note FROM counters_counter WHERE id = %s"
    assert project.rows(query, int(pk)) == [(2, "saved meanwhile")]
