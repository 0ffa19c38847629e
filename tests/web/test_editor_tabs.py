"""Two tabs of one document in one browser (one localStorage): each tab's unsaved edits are
kept for it, never written over by the other's; a tab's reload gets its own back, and
the edits of a tab closed unsaved are taken up by the next tab that opens the document.

The network is cut for the document's saves by a route in each page (the page keeps the
edits and retries); real `httpconflict serve` (SQLite) and Debian's Chromium; what is
stored is read through the HTTP API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route


def cut_saves(page: Page, doc_id: str) -> None:
    """The page's saves of the document never reach the server (reads still do)."""

    def drop(route: Route) -> None:
        if route.request.method == "PATCH":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(f"**/v1/notes/{doc_id}", drop)


def reconnect(page: Page) -> None:
    """The page's saves reach the server again."""
    page.unroute_all()


def type_into(page: Page, field: str, text: str) -> None:
    page.locator(f"#field-{field}").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)


def two_tabs_offline(
    context: BrowserContext, service: RestartableService
) -> tuple[Page, Page, str]:
    """Tabs A and B of one document in one browser: A types the title and B the body,
    neither saved."""
    doc_id = create(service, {"title": "Draft", "body": "text"})
    a = open_editor(context, service, doc_id)
    b = open_editor(context, service, doc_id)
    for page, field, text in ((a, "title", "Title from A"), (b, "body", "Body from B")):
        cut_saves(page, doc_id)
        type_into(page, field, text)
        expect_state(page, "offline")
    return a, b, doc_id


def test_a_reloaded_tab_gets_its_own_edits_back_not_the_other_tabs(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A and B keep different edits of one document; A reloads: A still shows its title,
    B its body, and once both are back online both edits are stored."""
    a, b, doc_id = two_tabs_offline(contexts[0], editor_service)
    a.reload()
    expect(a.locator("#field-title")).to_have_value("Title from A")
    expect_state(a, "offline")  # its save is sent again (and cut again)
    expect(b.locator("#field-body")).to_have_value("Body from B")
    reconnect(a)
    reconnect(b)
    expect_state(a, "saved")
    expect_state(b, "saved")
    assert stored(editor_service, doc_id) == {"title": "Title from A", "body": "Body from B"}


def test_the_edits_of_two_closed_tabs_are_both_saved_by_the_next_tab(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A and B keep different edits of one document and are closed unsaved: a third tab
    opened online saves both, one after the other, and keeps nothing afterwards."""
    a, b, doc_id = two_tabs_offline(contexts[0], editor_service)
    a.close()
    b.close()
    c = contexts[0].new_page()
    c.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect(c.locator("#field-title")).to_have_value("Title from A", timeout=10_000)
    expect(c.locator("#field-body")).to_have_value("Body from B", timeout=10_000)
    expect_state(c, "saved")
    assert stored(editor_service, doc_id) == {"title": "Title from A", "body": "Body from B"}
    assert c.evaluate("localStorage.length") == 0


def test_a_second_tab_is_told_of_the_first_tabs_unsaved_edits(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A keeps an unsaved title; B opened on the same document says another tab holds
    unsaved changes to it, saves nothing of them, and says no more once A has saved."""
    doc_id = create(editor_service, {"title": "Draft", "body": "text"})
    a = open_editor(contexts[0], editor_service, doc_id)
    cut_saves(a, doc_id)
    type_into(a, "title", "Title from A")
    expect_state(a, "offline")
    b = contexts[0].new_page()
    b.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect(b.locator("#other-tabs")).to_have_text(
        "Another tab of this browser holds unsaved changes to this document."
    )
    expect(b.locator("#field-title")).to_have_value("Draft")
    reconnect(a)
    expect_state(a, "saved")
    expect(b.locator("#other-tabs")).to_be_hidden()
    expect(b.locator("#field-title")).to_have_value("Title from A")
    assert stored(editor_service, doc_id) == {"title": "Title from A", "body": "text"}


def test_a_tab_closed_unsaved_has_its_edits_saved_by_the_other_tab_still_open(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A keeps an unsaved title and is closed while B shows the document: B takes A's
    title up and saves it, without being opened again, and no longer speaks of A."""
    doc_id = create(editor_service, {"title": "Draft", "body": "text"})
    a = open_editor(contexts[0], editor_service, doc_id)
    cut_saves(a, doc_id)
    type_into(a, "title", "Title from A")
    expect_state(a, "offline")
    b = open_editor(contexts[0], editor_service, doc_id)
    expect(b.locator("#other-tabs")).to_be_visible()
    a.close()
    expect(b.locator("#field-title")).to_have_value("Title from A")
    expect(b.locator("#other-tabs")).to_be_hidden()
    expect_state(b, "saved")
    assert stored(editor_service, doc_id) == {"title": "Title from A", "body": "text"}
    assert b.evaluate("localStorage.length") == 0


def test_edits_a_tab_left_unsaved_for_another_document_are_saved_by_a_tab_showing_theirs(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A's save of X's title gets no answer, and A moves on to Y: B, opening X, takes the
    title up and saves it (A's tab no longer shows X, so they are not A's to send now)."""
    doc_id = create(editor_service, {"title": "Draft", "body": "text"})
    other = create(editor_service, {"title": "Other", "body": "y"})
    a = open_editor(contexts[0], editor_service, doc_id)
    cut_saves(a, doc_id)
    type_into(a, "title", "Title from A")
    expect_state(a, "offline")
    a.evaluate("(hash) => { location.hash = hash; }", f"#/notes/{other}")
    expect(a.locator("#field-title")).to_have_value("Other")
    b = contexts[0].new_page()
    b.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect(b.locator("#field-title")).to_have_value("Title from A")
    expect_state(b, "saved")
    expect(b.locator("#other-tabs")).to_be_hidden()
    assert stored(editor_service, doc_id) == {"title": "Title from A", "body": "text"}
