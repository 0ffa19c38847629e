"""A conflict chosen after the other side changed the field again: the choice was made
against the value shown as "theirs", so a newer one is shown and asked, never overwritten
by that choice (an edit applied to a version the user did not see).

Pure counters: pages press ArrowUp in a number field (n + 1 of what the page shows) and
the test counts the saves the server accepted (their Idempotency-Keys answered 2xx);
final n is that number. Real `httpconflict serve` (SQLite) and Debian's Chromium, by
keyboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, stored
from tests.web.test_editor_kept_edits import Accepted

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route


class Cuttable(Accepted):
    """Accepted, and while `cut` the saves fail as if offline."""

    cut = False

    def __call__(self, route: Route) -> None:
        if self.cut and route.request.method == "PATCH":
            route.abort("internetdisconnected")
        else:
            super().__call__(route)


def counting_page(
    context: BrowserContext, service: RestartableService, doc_id: str, network: Accepted
) -> Page:
    page = context.new_page()
    page.route(f"**/v1/notes/{doc_id}", network)
    page.goto(f"{service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    return page


def count_one(page: Page) -> None:
    page.locator("#field-n").focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Control+s")


@pytest.mark.parametrize("first", ["Keep mine", "Use theirs"])
def test_a_choice_made_after_theirs_changed_again_is_asked_again(
    contexts: list[BrowserContext], editor_service: RestartableService, first: str
) -> None:
    """A's n + 1 meets B's (409, theirs 1); B counts again (2) while A's conflict is shown;
    A chooses (`first`): asked again with theirs 2, and "Use theirs" then writes nothing,
    so final n == saves accepted (before: A wrote its 1, or theirs 1, over B's 2)."""
    doc_id = create(editor_service, {"n": 0})
    networks = [Cuttable(), Cuttable()]
    a = counting_page(contexts[0], editor_service, doc_id, networks[0])
    b = counting_page(contexts[1], editor_service, doc_id, networks[1])
    networks[0].cut = True
    count_one(a)
    expect_state(a, "offline")
    count_one(b)
    expect_state(b, "saved")
    networks[0].cut = False
    expect_state(a, "conflict")
    count_one(b)
    expect_state(b, "saved")
    assert stored(editor_service, doc_id) == {"n": 2}
    etag = b.locator("#document-etag").text_content()
    expect(a.locator("#document-etag")).to_have_text(etag or "")  # A has read B's 2
    expect(a.get_by_role("button", name="Keep mine: n")).to_be_focused()
    if first == "Use theirs":
        a.keyboard.press("Tab")
    a.keyboard.press("Enter")  # the choice, against theirs shown as 1
    expect_state(a, "conflict")
    n = a.locator('.conflict[data-pointer="/n"]')
    expect(n.get_by_role("cell", name="2", exact=True)).to_be_visible()  # theirs now
    expect(a.get_by_role("button", name="Keep mine: n")).to_be_focused()
    a.keyboard.press("Tab")
    a.keyboard.press("Enter")  # Use theirs, shown as 2
    expect_state(a, "saved")
    expect(a.locator("#field-n")).to_have_value("2")
    accepted = networks[0].keys | networks[1].keys
    assert stored(editor_service, doc_id) == {"n": len(accepted)}
    assert len(accepted) == 2
