"""The web editor when the document changes under the field being typed in.

The save state may only say "All changes saved" when every field and the raw JSON show
what is stored. A field the user has not edited since its last save shows another page's
change at once, focused or not, and says so; text the page cannot save (a number box with
no number, raw JSON that does not parse) stays as typed and is called unsaved until it is
fixed or discarded. Real `httpconflict serve` (SQLite) and Debian's Chromium.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

POLLED_MS = 1_500  # the page polls every second

# Every control's value as the page shows it: {name: value}, and the raw JSON's text.
SHOWN = """() => {
  const fields = {};
  for (const input of document.querySelectorAll('#field-list [data-field]')) {
    const name = input.dataset.field;
    if (input.type === 'checkbox') fields[name] = input.checked;
    else if (input.type === 'number') fields[name] = input.value ? input.valueAsNumber : null;
    else if (input.tagName === 'OUTPUT') fields[name] = JSON.parse(input.textContent);
    else fields[name] = input.value;
  }
  return {fields, raw: document.getElementById('raw-json').value};
}"""


def shown(page: Page) -> tuple[dict[str, Any], str]:
    got = page.evaluate(SHOWN)
    return got["fields"], got["raw"]


def assert_shows_what_is_stored(page: Page, service: RestartableService, doc_id: str) -> None:
    """Called when the page says "All changes saved": every control shows the stored value."""
    expect_state(page, "saved")
    document = stored(service, doc_id)
    fields, raw = shown(page)
    assert fields == document
    assert json.loads(raw) == document


def change_elsewhere(service: RestartableService, doc_id: str, patch: dict[str, Any]) -> None:
    """Another writer's merge patch, on the current version."""
    with service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
        answer = http.patch(
            f"/v1/notes/{doc_id}",
            content=json.dumps(patch),
            headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
    assert answer.status_code == 200, answer.text


def test_keep_mine_elsewhere_shows_in_the_focused_field_at_once(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Page two keeps its title over page one's: page one, still in its title field, shows
    two's title at once and says someone else changed it; "saved" is true on both pages."""
    doc_id = create(editor_service, {"title": "Draft", "body": ""})
    one, two = (open_editor(context, editor_service, doc_id) for context in contexts)
    contexts[1].set_offline(True)
    two.get_by_label("title").fill("Title from two")
    expect_state(two, "offline")
    one.get_by_label("title").fill("Title from one")
    expect_state(one, "saved")
    contexts[1].set_offline(False)
    expect_state(two, "conflict")
    two.get_by_role("button", name="Keep mine: title").click()
    expect_state(two, "saved")
    assert stored(editor_service, doc_id)["title"] == "Title from two"

    title = one.get_by_label("title")
    expect(title).to_be_focused()
    expect(title).to_have_value("Title from two", timeout=POLLED_MS * 2)
    expect(title).to_be_focused()
    expect(one.locator("#field-list .changed")).to_have_text(
        "Someone else changed this field; it shows their value."
    )
    assert_shows_what_is_stored(one, editor_service, doc_id)
    assert_shows_what_is_stored(two, editor_service, doc_id)
    # The next keystroke edits their value, saved with no conflict.
    title.press("End")
    title.press_sequentially("!")
    expect(one.locator("#field-list .changed")).to_have_count(0)
    assert_shows_what_is_stored(one, editor_service, doc_id)
    assert stored(editor_service, doc_id)["title"] == "Title from two!"


def test_the_focused_raw_json_shows_a_change_at_once(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """With the cursor in an unedited raw JSON, another writer's change shows there at once."""
    doc_id = create(editor_service, {"title": "Draft", "count": 1})
    page = open_editor(contexts[0], editor_service, doc_id)
    page.get_by_label("Raw JSON").focus()
    change_elsewhere(editor_service, doc_id, {"count": 2})
    expect(page.get_by_label("Raw JSON")).to_have_value(
        json.dumps({"title": "Draft", "count": 2}, indent=2), timeout=POLLED_MS * 2
    )
    expect(page.get_by_label("Raw JSON")).to_be_focused()
    expect(page.locator("#raw-changed")).to_be_visible()
    assert_shows_what_is_stored(page, editor_service, doc_id)


def test_a_field_added_elsewhere_keeps_the_text_being_typed(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Another writer adds a field while the title is focused: the title keeps its text, its
    focus and its cursor, and the next keystroke extends it instead of replacing it."""
    doc_id = create(editor_service, {"title": "Draft", "body": ""})
    page = open_editor(contexts[0], editor_service, doc_id)
    title = page.get_by_label("title")
    title.press("End")
    title.press_sequentially(" mine")
    expect_state(page, "saved")
    change_elsewhere(editor_service, doc_id, {"added": 1})
    expect(page.get_by_label("added")).to_have_value("1", timeout=POLLED_MS * 2)
    expect(title).to_be_focused()
    expect(title).to_have_value("Draft mine")
    page.keyboard.type("!")
    assert_shows_what_is_stored(page, editor_service, doc_id)
    assert stored(editor_service, doc_id) == {"title": "Draft mine!", "body": "", "added": 1}


def test_text_the_page_cannot_save_is_never_called_saved(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A number box emptied and raw JSON that does not parse are "Not saved", focused or not,
    kept as typed when another writer changes the document, until fixed or discarded."""
    doc_id = create(editor_service, {"title": "Draft", "count": 1})
    page = open_editor(contexts[0], editor_service, doc_id)
    count = page.get_by_label("count")
    count.fill("")
    expect_state(page, "pending")
    expect(page.locator("#save-state")).to_have_text("Not saved: count is not a number")
    page.get_by_label("title").focus()  # leaving the box keeps what was typed
    change_elsewhere(editor_service, doc_id, {"title": "Theirs", "count": 5})
    expect(page.get_by_label("title")).to_have_value("Theirs", timeout=POLLED_MS * 2)
    expect(count).to_have_value("")
    expect_state(page, "pending")
    count.fill("7")  # typed on version 1, where count was 1: their 5 is a conflict
    expect_state(page, "conflict")
    page.get_by_role("button", name="Keep mine: count").click()
    assert_shows_what_is_stored(page, editor_service, doc_id)
    assert stored(editor_service, doc_id) == {"title": "Theirs", "count": 7}

    raw = page.get_by_label("Raw JSON")
    raw.fill('{"title": "Theirs", "count": ')
    expect(page.locator("#save-state")).to_have_text("Not saved: the raw JSON is not valid")
    page.get_by_label("title").focus()
    expect(raw).to_have_value('{"title": "Theirs", "count": ')
    expect_state(page, "pending")
    page.get_by_role("button", name="Discard my unsaved changes").click()
    assert_shows_what_is_stored(page, editor_service, doc_id)
    raw.fill('{"title": "Theirs", "count": 8}')
    assert_shows_what_is_stored(page, editor_service, doc_id)
    assert stored(editor_service, doc_id) == {"title": "Theirs", "count": 8}
