"""A save answered after the user has left its document for another one in the editor: its
answer is the left document's, never shown on (or applied to) the one now open, and what
it says is not lost: failed, the edit stays kept for its own document; edits typed on it
while it was in flight go to the server as the page leaves, as any edit would.

Real `httpconflict serve` (SQLite) and Debian's Chromium; each document's saves are held
back by a route until the test lets them go; what is stored is read through the HTTP API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route


class HeldSaves:
    """Holds the page's first save of a document until `release()`; the others go."""

    def __init__(self, page: Page, doc_id: str) -> None:
        self.held: list[Route] = []
        self.answered: list[int] = []
        page.route(f"**/v1/notes/{doc_id}", self)

    def __call__(self, route: Route) -> None:
        if route.request.method == "PATCH" and not self.held:
            self.held.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        answer = self.held[0].fetch()
        self.answered.append(answer.status)
        self.held[0].fulfill(response=answer)


def change_title_elsewhere(service: RestartableService, doc_id: str, title: str) -> None:
    with service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
        changed = http.patch(
            f"/v1/notes/{doc_id}",
            json={"title": title},
            headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
    assert changed.status_code == 200, changed.text


def go(page: Page, service: RestartableService, doc_id: str) -> None:
    """To another document, as a link in the page would (the hash changes)."""
    page.evaluate("(hash) => { location.hash = hash; }", f"#/notes/{doc_id}")


def left_during_a_save(
    context: BrowserContext, service: RestartableService
) -> tuple[Page, HeldSaves, str, str]:
    """X's title typed and its save held; the page then opens Y."""
    x = create(service, {"title": "Draft", "body": "text"})
    y = create(service, {"title": "Other", "body": "y"})
    page = open_editor(context, service, x)
    held = HeldSaves(page, x)
    page.locator("#field-title").fill("Mine")
    expect_state(page, "saving")
    return page, held, x, y


def test_a_refused_save_answered_after_leaving_is_asked_when_its_document_is_opened(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """X's save of the title meets another writer's title (409) after the page moved to Y:
    Y shows nothing of it and saves nothing; X, opened again, asks about the title."""
    page, held, x, y = left_during_a_save(contexts[0], editor_service)
    change_title_elsewhere(editor_service, x, "Theirs")
    go(page, editor_service, y)
    expect(page.locator("#field-title")).to_have_value("Other")
    held.release()
    assert held.answered == [409]
    page.wait_for_timeout(300)
    expect(page.locator("#field-title")).to_have_value("Other")
    expect_state(page, "saved")
    expect(page.locator("#conflicts")).to_be_hidden()
    assert stored(editor_service, y) == {"title": "Other", "body": "y"}
    go(page, editor_service, x)
    expect_state(page, "conflict")
    expect(page.locator("#field-title")).to_have_value("Mine")
    page.get_by_role("button", name="Keep mine: title").focus()
    page.keyboard.press("Enter")
    expect_state(page, "saved")
    assert stored(editor_service, x) == {"title": "Mine", "body": "text"}


def test_an_edit_typed_during_a_save_goes_when_the_page_leaves(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """X's body is typed while its save of the title is in flight, and the page moves to Y
    at once: once the save is answered, the body is saved too, without opening X again."""
    page, held, x, y = left_during_a_save(contexts[0], editor_service)
    page.locator("#field-body").fill("typed during the save")
    go(page, editor_service, y)
    expect(page.locator("#field-title")).to_have_value("Other")
    held.release()
    assert held.answered == [200]
    for _ in range(50):
        if stored(editor_service, x)["body"] != "text":
            break
        page.wait_for_timeout(100)
    assert stored(editor_service, x) == {"title": "Mine", "body": "typed during the save"}
    expect_state(page, "saved")
    expect(page.locator("#field-body")).to_have_value("y")
    assert page.evaluate("localStorage.length") == 0
