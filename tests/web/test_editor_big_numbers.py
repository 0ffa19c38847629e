"""A whole number past 2^53 in a document: the page never saves the browser's rounding of it.

A double holds every whole number up to 2^53 - 1 and not all beyond, so JSON.parse reads a
stored 9007199254740993 as 9007199254740992. Before, the page showed that in the number box,
and ArrowUp then Ctrl+S on the counter sent ``{"n":9007199254740992}``: one less than
stored, answered 200. Now such a stored number is read-only in its box (with a note), and
one typed in a box or the raw JSON is not saved (the save state and the box say why); the
other fields save as ever.

Real `httpconflict serve` (SQLite) and Debian's Chromium.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request

PAST_2_53 = 2**53 + 1  # 9007199254740993: JSON.parse reads 9007199254740992


def test_a_number_past_2_53_is_never_saved_rounded(
    editor_service: RestartableService, contexts: list[BrowserContext]
) -> None:
    """ArrowUp on a stored 2^53 + 1, or 2^53 + 3 typed in a box or the raw JSON: nothing sent."""
    doc_id = create(editor_service, {"n": PAST_2_53, "title": "t", "m": 5})
    page = open_editor(contexts[0], editor_service, doc_id)
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "PATCH":
            sent.append(request.post_data or "")

    page.on("request", record)
    counter = page.locator("#field-n")
    expect(counter).to_have_js_property("readOnly", True)
    expect(page.locator(".field .note.inexact")).to_contain_text("not editable here")
    counter.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Control+s")
    page.locator("#field-m").fill(str(PAST_2_53 + 2))
    expect(page.locator("#save-state")).to_contain_text("m is past 2^53")
    page.locator("#field-m").fill("6")
    expect_state(page, "saved")
    raw = page.locator("#raw-json")
    raw.fill(raw.input_value().replace('"m": 6', f'"m": {PAST_2_53 + 2}'))
    expect(page.locator("#raw-error")).to_contain_text("not held exactly")
    expect(page.locator("#save-state")).to_contain_text("Not saved: m:")
    assert stored(editor_service, doc_id) == {"n": PAST_2_53, "title": "t", "m": 6}
    assert sent == ['{"m":6}'], sent
