"""The web editor by keyboard alone: after each choice in the conflict view the focus is
on something to act on next, never on the page's body.

Real `httpconflict serve` (SQLite) and Debian's Chromium; no mouse clicks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

FOCUSED = "document.activeElement === document.body ? 'body' : document.activeElement.outerHTML"


def type_raw_json(page: Page, document: object) -> None:
    """Replaces the raw JSON by keyboard: select all, type the new text."""
    page.locator("#raw-json").focus()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(json.dumps(document))


def test_choices_on_an_object_field_keep_the_focus(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Two conflicts, one inside an object field: Enter on the first choice moves the focus
    to the next conflict's buttons, Enter there to the resolved object field; both stored."""
    doc_id = create(editor_service, {"address": {"city": "Lyon", "zip": "69001"}, "title": "A"})
    page = open_editor(contexts[0], editor_service, doc_id)
    contexts[0].set_offline(True)
    type_raw_json(page, {"address": {"city": "Nice", "zip": "69001"}, "title": "Mine"})
    expect_state(page, "offline")
    with editor_service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
        theirs = {"address": {"city": "Paris", "zip": "69001"}, "title": "Theirs"}
        answer = http.put(f"/v1/notes/{doc_id}", json=theirs, headers={"If-Match": etag})
        assert answer.status_code == 200, answer.text
    contexts[0].set_offline(False)
    expect_state(page, "conflict")
    boxes = page.locator(".conflict")
    expect(boxes).to_have_count(2)
    first, second = boxes.nth(0), boxes.nth(1)
    first_pointer = first.get_attribute("data-pointer")
    expect(first.get_by_role("button").first).to_be_focused()
    page.keyboard.press("Enter")  # Keep mine
    expect(second.get_by_role("button").first).to_be_focused()
    page.keyboard.press("Tab")  # Use theirs
    page.keyboard.press("Enter")
    expect_state(page, "saved")
    field = "address" if first_pointer == "/address/city" else "title"
    assert page.evaluate(FOCUSED) != "body"
    expect(page.locator(f"#field-{field}")).to_be_focused()
    mine_first = {
        "/address/city": ("address", {"city": "Nice", "zip": "69001"}),
        "/title": ("title", "Mine"),
    }
    theirs_second = {"/address/city": ("address", theirs["address"]), "/title": ("title", "Theirs")}
    name, value = mine_first[first_pointer or ""]
    other = next(p for p in theirs_second if p != first_pointer)
    other_name, other_value = theirs_second[other]
    assert stored(editor_service, doc_id) == {name: value, other_name: other_value}
    page.keyboard.press("Tab")  # on, from the focused field, to the next control
    assert page.evaluate(FOCUSED) != "body"
