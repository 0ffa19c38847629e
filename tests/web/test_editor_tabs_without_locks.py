"""Tabs of one document in one browser where the page has no Web Locks (not a secure
context: plain HTTP to another host than localhost): each tab's unsaved edits stay its own
while it lives, reloads included, and those of a tab that closed are taken up by another
tab once, by heartbeats in localStorage and questions on a BroadcastChannel (alive.js).

The pages are served at http://editor.test:PORT, a name Chromium maps to 127.0.0.1 and
takes for no secure context (tests/web/conftest.py); the test's own client calls
127.0.0.1. Saves are cut by a route in each page; real `httpconflict serve` (SQLite) and
Debian's Chromium; what is stored is read through the HTTP API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, stored
from tests.web.test_editor_kept_edits import KEPT, saves_of
from tests.web.test_editor_tabs import cut_saves, reconnect, type_into

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

OTHER_TABS = "Another tab of this browser holds unsaved changes to this document."


def open_tab(context: BrowserContext, service: RestartableService, doc_id: str) -> Page:
    page = context.new_page()
    page.goto(f"{service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    assert page.evaluate("[isSecureContext, 'locks' in navigator]") == [False, False]
    return page


def test_a_second_tab_leaves_the_first_tabs_edits_to_it(
    contexts: list[BrowserContext], non_secure_service: RestartableService
) -> None:
    """A keeps n + 1 unsaved; B opened on the document says another tab holds unsaved
    changes, shows and saves none of them, and reloaded still does not; A saves its own
    once back online, and B shows it."""
    doc_id = create(non_secure_service, {"n": 0})
    a = open_tab(contexts[0], non_secure_service, doc_id)
    cut_saves(a, doc_id)
    type_into(a, "n", "1")
    expect_state(a, "offline")
    b = contexts[0].new_page()
    b_saves = saves_of(b)
    b.goto(f"{non_secure_service.url}/#/notes/{doc_id}")
    expect(b.locator("#other-tabs")).to_have_text(OTHER_TABS)
    b.reload()
    expect(b.locator("#other-tabs")).to_have_text(OTHER_TABS)
    b.wait_for_timeout(4000)  # longer than a heartbeat may be late, or a reload's grace
    expect(b.locator("#field-n")).to_have_value("0")
    assert len(b.evaluate(KEPT)) == 2  # A's entry (edits and base), not taken
    a_saves = saves_of(a)
    reconnect(a)
    expect_state(a, "saved")
    expect(b.locator("#other-tabs")).to_be_hidden()
    expect(b.locator("#field-n")).to_have_value("1")
    assert b_saves == []
    assert a_saves == ["PATCH 200"]
    assert stored(non_secure_service, doc_id) == {"n": 1}


def test_two_tabs_each_keep_their_own_edits_across_reloads(
    contexts: list[BrowserContext], non_secure_service: RestartableService
) -> None:
    """A and B keep different edits of one document; each reloads in turn: each still shows
    its own and not the other's, and once both are back online both are stored once."""
    doc_id = create(non_secure_service, {"title": "Draft", "body": "text"})
    a = open_tab(contexts[0], non_secure_service, doc_id)
    b = open_tab(contexts[0], non_secure_service, doc_id)
    for page, field, text in ((a, "title", "Title from A"), (b, "body", "Body from B")):
        cut_saves(page, doc_id)
        type_into(page, field, text)
        expect_state(page, "offline")
    for page in (a, b, a):
        page.reload()
        expect_state(page, "offline")  # its save is sent again (and cut again)
    b.wait_for_timeout(4000)  # longer than a reload's grace
    expect(a.locator("#field-title")).to_have_value("Title from A")
    expect(a.locator("#field-body")).to_have_value("text")
    expect(b.locator("#field-body")).to_have_value("Body from B")
    expect(b.locator("#field-title")).to_have_value("Draft")
    a_saves = saves_of(a)
    b_saves = saves_of(b)
    reconnect(a)
    reconnect(b)
    expect_state(a, "saved")
    expect_state(b, "saved")
    assert a_saves == b_saves == ["PATCH 200"]  # each its own, once
    assert stored(non_secure_service, doc_id) == {"title": "Title from A", "body": "Body from B"}


def test_a_closed_tabs_edits_are_taken_up_once_by_the_tab_still_open(
    contexts: list[BrowserContext], non_secure_service: RestartableService
) -> None:
    """A keeps n + 1 unsaved and is closed while B shows the document: B takes it up and
    saves it once, keeps nothing afterwards, and a third tab finds nothing to send."""
    doc_id = create(non_secure_service, {"n": 0})
    a = open_tab(contexts[0], non_secure_service, doc_id)
    cut_saves(a, doc_id)
    type_into(a, "n", "1")
    expect_state(a, "offline")
    b = open_tab(contexts[0], non_secure_service, doc_id)
    b_saves = saves_of(b)
    expect(b.locator("#other-tabs")).to_be_visible()
    a.close()
    expect(b.locator("#field-n")).to_have_value("1", timeout=10_000)
    expect(b.locator("#other-tabs")).to_be_hidden()
    expect_state(b, "saved")
    assert b.evaluate(KEPT) == []
    c = open_tab(contexts[0], non_secure_service, doc_id)
    c_saves = saves_of(c)
    expect(c.locator("#field-n")).to_have_value("1")
    c.wait_for_timeout(2000)
    assert b_saves == ["PATCH 200"]
    assert c_saves == []
    assert stored(non_secure_service, doc_id) == {"n": 1}
