"""The web editor when another client deletes the open document: "Recreate it from my
copy" creates it again (PUT with If-None-Match: *), and when someone else created it
meanwhile, says so and lets the user choose field by field, losing nothing typed.

Real `httpconflict serve` (SQLite) and Debian's Chromium, driven by keyboard; what is
stored is read through the HTTP API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route


def delete(service: RestartableService, doc_id: str) -> None:
    with service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
        assert http.delete(f"/v1/notes/{doc_id}", headers={"If-Match": etag}).status_code == 204


def deleted_under_an_edit(context: BrowserContext, service: RestartableService) -> tuple[Page, str]:
    """A page whose document was deleted by another client, then typed in: "deleted"."""
    doc_id = create(service, {"title": "Draft", "body": "text"})
    page = open_editor(context, service, doc_id)
    delete(service, doc_id)
    expect_state(page, "error")
    title = page.locator("#field-title")
    title.focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("Mine")
    expect(page.locator("#save-state")).to_have_text(
        "This document was deleted; your changes are kept in this browser"
    )
    return page, doc_id


def recreate_by_keyboard(page: Page) -> None:
    button = page.get_by_role("button", name="Recreate it from my copy")
    page.locator("#field-title").focus()
    page.keyboard.press("Shift+Tab")
    expect(button).to_be_focused()  # the first control of the document, above its fields
    page.keyboard.press("Enter")


THEIRS: dict[str, Any] = {"title": "Theirs", "body": "text", "extra": 1}


def recreated_elsewhere_first(
    context: BrowserContext, service: RestartableService, theirs: dict[str, Any]
) -> tuple[Page, str]:
    """Deleted under an edit, then "Recreate it from my copy" pressed: another client's
    create of `theirs` lands just before the page's (its PUT is held until then)."""
    page, doc_id = deleted_under_an_edit(context, service)

    def recreate_first(route: Route) -> None:
        if route.request.method == "PUT":
            with service.client() as http:
                made = http.put(f"/v1/notes/{doc_id}", json=theirs, headers={"If-None-Match": "*"})
                assert made.status_code == 201, made.text
        route.continue_()

    page.route(f"**/v1/notes/{doc_id}", recreate_first)
    recreate_by_keyboard(page)
    return page, doc_id


def test_recreate_from_my_copy(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Deleted elsewhere, edited here: the copy is created again with If-None-Match: *, its
    answer lost once and the create sent again with the same key: made once, then saved."""
    page, doc_id = deleted_under_an_edit(contexts[0], editor_service)
    sent: list[dict[str, str]] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.headers)
        if len(sent) == 1:
            route.fetch()  # created...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route(f"**/v1/notes/{doc_id}", lose_the_first_answer)
    recreate_by_keyboard(page)
    expect_state(page, "saved")
    assert [headers["if-none-match"] for headers in sent] == ["*", "*"]
    assert sent[0]["idempotency-key"] == sent[1]["idempotency-key"]
    assert stored(editor_service, doc_id) == {"title": "Mine", "body": "text"}
    expect(page.get_by_role("button", name="Recreate it from my copy")).to_be_hidden()
    page.locator("#field-body").focus()
    page.keyboard.press("End")
    page.keyboard.type(" more")  # editing goes on against the new document
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine", "body": "text more"}
    assert page.evaluate("localStorage.length") == 0


def test_recreated_elsewhere_meanwhile_is_a_choice(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Someone else recreates the document just before the page's create: 412, never an
    overwrite; the page says so, shows theirs beside mine for each differing field, keeps
    my text on the page, and stores what was chosen."""
    page, doc_id = recreated_elsewhere_first(contexts[0], editor_service, THEIRS)
    expect_state(page, "conflict")
    expect(page.locator("#save-state")).to_contain_text("Someone else created this document again")
    assert stored(editor_service, doc_id) == THEIRS  # not overwritten
    expect(page.locator("#field-title")).to_have_value("Mine")  # nothing typed is lost
    expect(page.locator(".conflict")).to_have_count(2)  # title and extra; body is the same
    title = page.locator('.conflict[data-pointer="/title"]')
    expect(title.get_by_role("cell", name='"Theirs"')).to_be_visible()
    expect(title.get_by_role("cell", name='"Mine"')).to_be_visible()
    page.get_by_role("button", name="Keep mine: title").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Keep mine: extra")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Use theirs: extra
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine", "body": "text", "extra": 1}


def test_edits_kept_for_a_document_deleted_while_the_tab_was_closed(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Typed offline, tab closed, document deleted: opened again, the page shows the edits
    (it only said "kept in this browser") and recreates the document from them."""
    doc_id = create(editor_service, {"title": "Draft", "body": "text"})
    page = open_editor(contexts[0], editor_service, doc_id)
    contexts[0].set_offline(True)
    page.locator("#field-title").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("Typed offline")
    expect_state(page, "offline")
    page.close()
    contexts[0].set_offline(False)
    delete(editor_service, doc_id)
    page = contexts[0].new_page()
    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "error")
    expect(page.locator("#field-title")).to_have_value("Typed offline")
    expect(page.locator("#field-body")).to_have_value("text")
    recreate_by_keyboard(page)
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Typed offline", "body": "text"}
    assert page.evaluate("localStorage.length") == 0


def recreate_elsewhere(service: RestartableService, doc_id: str, document: dict[str, Any]) -> None:
    with service.client() as http:
        made = http.put(f"/v1/notes/{doc_id}", json=document, headers={"If-None-Match": "*"})
    assert made.status_code == 201, made.text


@pytest.mark.parametrize(
    "again",
    [
        pytest.param({"title": "Draft", "body": "text"}, id="the-same-bytes-the-same-etag"),
        pytest.param({"title": "Again", "body": "new"}, id="other-bytes"),
    ],
)
def test_deleted_and_recreated_elsewhere_shows_the_live_document(
    contexts: list[BrowserContext], editor_service: RestartableService, again: dict[str, Any]
) -> None:
    """Deleted elsewhere with nothing unsaved here, then created again (as the feed says):
    the page shows the live document, no longer "deleted", and saves edits to it."""
    doc_id = create(editor_service, {"title": "Draft", "body": "text"})
    page = open_editor(contexts[0], editor_service, doc_id)
    delete(editor_service, doc_id)
    expect(page.locator("#save-state")).to_have_text(
        "This document was deleted elsewhere; what it held is still shown below"
    )
    recreate_elsewhere(editor_service, doc_id, again)
    expect_state(page, "saved")
    expect(page.locator("#field-title")).to_have_value(again["title"])
    expect(page.get_by_role("button", name="Recreate it from my copy")).to_be_hidden()
    page.locator("#field-body").focus()
    page.keyboard.press("End")
    page.keyboard.type("!")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {**again, "body": again["body"] + "!"}


def test_edits_kept_for_a_deleted_document_are_asked_once_it_is_recreated_elsewhere(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Deleted under an edit of the title, then created again elsewhere with another
    title: the page shows the live document and asks about the title, saving nothing
    over theirs until the choice."""
    page, doc_id = deleted_under_an_edit(contexts[0], editor_service)
    recreate_elsewhere(editor_service, doc_id, THEIRS)
    expect_state(page, "conflict")
    title = page.locator('.conflict[data-pointer="/title"]')
    expect(title.get_by_role("cell", name='"Theirs"')).to_be_visible()
    expect(title.get_by_role("cell", name='"Mine"')).to_be_visible()
    expect(page.locator(".conflict")).to_have_count(1)  # only the field typed here
    expect(page.locator("#field-extra")).to_have_value("1")  # their new field is shown
    assert stored(editor_service, doc_id) == THEIRS
    page.get_by_role("button", name="Keep mine: title").focus()
    page.keyboard.press("Enter")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {**THEIRS, "title": "Mine"}
    assert page.evaluate("localStorage.length") == 0
