"""The editor page itself: its icon, the version line a person reads, a phone-sized screen.

Real `httpconflict serve` (SQLite) and Debian's Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state
from tests.web.test_editor_live import change_elsewhere

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

PHONE: ViewportSize = {"width": 390, "height": 844}
ICON_LINKS = "Array.from(document.querySelectorAll('link[rel=icon]'), (l) => l.href)"
# Long words with no place to break: a document id, a field name, a value.
LONG = "x" * 120


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A browser profile with a 390 x 844 screen."""
    context = browser.new_context(viewport=PHONE)
    yield context
    context.close()


def test_the_icon_is_served_and_linked(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """/favicon.ico is an ICO kept for a day (ETag, 304); the page links it and an SVG."""
    with editor_service.client() as http:
        ico = http.get("/favicon.ico")
        assert ico.status_code == 200
        assert ico.headers["content-type"] == "image/vnd.microsoft.icon"
        assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO file of icons
        assert "max-age=86400" in ico.headers["cache-control"]
        again = http.get("/favicon.ico", headers={"If-None-Match": ico.headers["etag"]})
        assert again.status_code == 304
        svg = http.get("/editor/favicon.svg")
        assert svg.headers["content-type"] == "image/svg+xml"
        assert svg.text.startswith("<svg")
        assert http.get("/editor/favicon.ico").status_code == 404  # one place for each file
    page = contexts[0].new_page()
    page.goto(editor_service.url + "/")
    links = page.evaluate(ICON_LINKS)
    assert sorted(link.removeprefix(editor_service.url) for link in links) == [
        "/editor/favicon.svg",
        "/favicon.ico",
    ]
    for link in links:
        answer = page.request.get(link)
        assert answer.ok
        assert answer.headers["content-type"].startswith("image/")


def test_the_version_is_a_number_and_a_time(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """The version line reads "Version N, last changed <time>", N following saves and others'
    changes; the ETag is only under "HTTP details". The history (whole documents) is read
    once, on opening: later numbers come from the change feed and the saves' answers."""
    doc_id = create(editor_service, {"title": "Draft"})
    page = contexts[0].new_page()
    histories: list[str] = []
    page.on("request", lambda r: histories.append(r.url) if "/versions" in r.url else None)
    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    version = page.locator("#document-version")
    expect(version).to_have_text(re.compile(r"^Version 1, last changed \d{1,2}:\d\d:\d\d"))
    page.get_by_label("title").fill("Edited")
    expect_state(page, "saved")
    expect(version).to_have_text(re.compile(r"^Version 2, last changed "))
    change_elsewhere(editor_service, doc_id, {"title": "Theirs"})
    expect(version).to_have_text(re.compile(r"^Version 3, last changed "))
    page.wait_for_timeout(1200)  # a number not known by then would be asked for
    assert len(histories) == 1, histories
    with editor_service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
    expect(page.get_by_text(etag)).to_be_hidden()
    page.get_by_text("HTTP details").click()
    expect(page.locator("#document-etag")).to_have_text(etag)
    expect(page.locator("#document-etag")).to_be_visible()


def assert_fits(page: Page, view: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{view}: {width} px wide on a {PHONE['width']} px screen"


def test_every_view_fits_a_phone(
    phone: BrowserContext,
    editor_service: RestartableService,
    protected_service: RestartableService,
) -> None:
    """At 390 x 844 nothing is wider than the screen: the collection, a document with long
    names and values and its details, a conflict, a missing document, the sign-in form; the
    last two show no empty editor."""
    long_doc = {"title": LONG, LONG: "value", "nested": {LONG: [LONG]}}
    doc_id = create(editor_service, long_doc)
    page = phone.new_page()
    page.goto(editor_service.url + "/")
    expect_state(page, "idle")
    assert_fits(page, "start")
    page.goto(f"{editor_service.url}/#/notes")
    expect(page.get_by_role("link", name=re.compile(doc_id))).to_be_visible()
    assert_fits(page, "collection")

    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    page.get_by_text("HTTP details").click()
    expect(page.locator("#document-etag")).to_be_visible()
    assert_fits(page, "document")

    phone.set_offline(True)
    page.get_by_label("title", exact=True).fill(LONG + " mine")
    expect_state(page, "offline")
    change_elsewhere(editor_service, doc_id, {"title": LONG + " theirs"})
    phone.set_offline(False)
    expect_state(page, "conflict")
    assert_fits(page, "conflict")

    page.goto(f"{editor_service.url}/#/notes/{'0' * 32}")
    expect_state(page, "error")
    assert_fits(page, "missing document")
    expect(page.get_by_label("Raw JSON")).to_be_hidden()  # nor the last document's fields

    page.goto(f"{protected_service.url}/#/notes/{doc_id}")
    expect_state(page, "signin")
    assert_fits(page, "sign-in")
    expect(page.get_by_label("Raw JSON")).to_be_hidden()
