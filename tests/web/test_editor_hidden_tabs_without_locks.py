"""Seven tabs of one collection in one browser where the page has no Web Locks (not a secure
context), so each tab reads its own change feed stream: hidden tabs close theirs, and the
browser's ~6 HTTP/1.1 connections to the origin are left for the requests of the tab in
front; a tab shown again resumes its stream where it stopped and misses nothing.

The pages are served at http://editor.test:PORT (tests/web/conftest.py) by real `httpconflict
serve` (SQLite) in Debian's Chromium. Headless Chromium says every page is visible whatever
is in front, so `document.visibilityState` (and `hidden`) is emulated in each page by an init
script, which also dispatches `visibilitychange` as a browser does when a tab is switched.
The other writer is the test's own client.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import RestartableService, _non_secure
from tests.web.test_editor import create, expect, expect_state, stored
from tests.web.test_editor_feed import purged
from tests.web.test_editor_live import change_elsewhere
from tests.web.test_editor_tabs import type_into

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request, Response

TABS = 7  # one more than the browser's connections to one origin
SAVED_WITHIN_MS = 5_000
OTHER_WRITES = 3


def emulated_visibility(initial: str) -> str:
    """An init script: the page's visibility is `initial` until `__testVisibility(state)`."""
    return f"""(() => {{
  let state = {json.dumps(initial)};
  const define = (name, get) =>
    Object.defineProperty(document, name, {{ get, configurable: true }});
  define("visibilityState", () => state);
  define("hidden", () => state === "hidden");
  window.__testVisibility = (next) => {{
    if (next === state) return;
    state = next;
    document.dispatchEvent(new Event("visibilitychange"));
  }};
}})()"""


def new_tab(context: BrowserContext, visibility: str) -> Page:
    page = context.new_page()
    page.add_init_script(emulated_visibility(visibility))
    return page


def bring_to_front(tabs: list[Page], front: Page) -> None:
    front.bring_to_front()
    for tab in tabs:
        tab.evaluate("state => __testVisibility(state)", "visible" if tab is front else "hidden")


def streams_of(context: BrowserContext) -> tuple[list[Request], set[Request]]:
    """Every change feed request of the context's pages, and those still open."""
    started: list[Request] = []
    ended: set[Request] = set()

    def sent(request: Request) -> None:
        if "/_changes" in request.url:
            started.append(request)

    def gone(request: Request) -> None:
        ended.add(request)

    context.on("request", sent)
    context.on("requestfailed", gone)
    context.on("requestfinished", gone)
    return started, ended


def open_streams(page: Page, started: list[Request], ended: set[Request]) -> list[Page]:
    """The pages with a stream open, once the closed ones have ended (up to 2 s)."""
    for _ in range(20):
        pages = [r.frame.page for r in started if r not in ended]
        if len(pages) <= 1:
            break
        page.wait_for_timeout(100)
    return pages


def test_hidden_tabs_leave_the_connections_to_the_tab_in_front_and_catch_up_when_shown(
    contexts: list[BrowserContext], non_secure_service: RestartableService
) -> None:
    """Six tabs opened one after another, each hiding the one before, and a seventh opened
    hidden; back in the first tab a counter save (n -> n + 1, If-Match) is answered within
    5 s (before: never, the six streams held every connection); a hidden tab, shown after
    the other writer made three changes, shows the last."""
    service = non_secure_service
    context = contexts[0]
    started, ended = streams_of(context)
    doc_ids = [create(service, {"n": 0}) for _ in range(TABS)]
    tabs: list[Page] = []
    for doc_id in doc_ids[:-1]:
        for tab in tabs:
            tab.evaluate("__testVisibility('hidden')")  # the new tab comes in front
        tab = new_tab(context, "visible")
        tab.goto(f"{service.url}/#/notes/{doc_id}")
        expect_state(tab, "saved")
        tabs.append(tab)
    assert tabs[0].evaluate("[isSecureContext, 'locks' in navigator]") == [False, False]
    last = new_tab(context, "hidden")  # opened in the background; not waited for
    last.evaluate("url => { location.href = url }", f"{service.url}/#/notes/{doc_ids[-1]}")

    front = tabs[0]
    bring_to_front(tabs, front)
    shown = [tab.evaluate("[document.visibilityState, document.hidden]") for tab in tabs]
    assert shown == [["visible", False]] + [["hidden", True]] * (TABS - 2)
    try:
        with front.expect_response(
            lambda r: r.request.method == "PATCH", timeout=SAVED_WITHIN_MS
        ) as saving:
            type_into(front, "n", "1")
            typed = time.monotonic()
    except Exception as error:  # playwright's TimeoutError
        pytest.fail(f"the save was not answered within {SAVED_WITHIN_MS} ms: {error}")
    answered_ms = (time.monotonic() - typed) * 1000
    print(f"save answered {answered_ms:.0f} ms after the keystroke (600 ms debounce included)")
    assert saving.value.status == 200
    assert saving.value.request.all_headers().get("if-match")
    expect_state(front, "saved")
    assert stored(service, doc_ids[0]) == {"n": 1}
    expect_state(last, "saved")  # the tab opened behind it loaded too
    tabs.append(last)
    assert open_streams(front, started, ended) == [front], "one stream: the front tab's"

    hidden = tabs[1]
    with service.client() as http:
        for n in range(OTHER_WRITES):
            etag = http.get(f"/v1/notes/{doc_ids[1]}").headers["etag"]
            put = http.put(f"/v1/notes/{doc_ids[1]}", json={"n": n + 1}, headers={"If-Match": etag})
            assert put.status_code == 200, put.text
    hidden.wait_for_timeout(500)
    expect(hidden.locator("#field-n")).to_have_value("0")  # hidden: not following
    bring_to_front(tabs, hidden)
    expect(hidden.locator("#field-n")).to_have_value(str(OTHER_WRITES), timeout=SAVED_WITHIN_MS)
    resumed = [r for r in started if r.frame.page is hidden][-1]
    assert resumed.all_headers().get("last-event-id"), "resumed where it stopped"
    assert open_streams(hidden, started, ended) == [hidden]
    expect_state(hidden, "saved")
    assert stored(service, doc_ids[1]) == {"n": OTHER_WRITES}


def test_a_tab_hidden_past_the_feeds_retention_reads_its_document_when_shown(
    contexts: list[BrowserContext], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Changes kept 1 s: a tab hidden while another writer's change is purged resumes with
    its position when shown, is answered 410, starts the stream from now and reads its
    document once more, showing the change; the next change comes on the new stream."""
    running = _non_secure(tmp_path_factory, "--changes-retention", "1", "--purge-interval", "1")
    service = next(running)
    doc_id = create(service, {"n": 0})
    answers: list[tuple[int, str | None]] = []

    def answered(answer: Response) -> None:
        if "/_changes" in answer.url:
            answers.append((answer.status, answer.request.all_headers().get("last-event-id")))

    contexts[0].on("response", answered)
    tab = new_tab(contexts[0], "visible")
    tab.goto(f"{service.url}/#/notes/{doc_id}")
    expect_state(tab, "saved")
    tab.wait_for_timeout(500)  # the stream is open: the tab holds a position
    bring_to_front([tab], tab)
    tab.evaluate("__testVisibility('hidden')")
    change_elsewhere(service, doc_id, {"n": 1})
    purged(service)
    expect(tab.locator("#field-n")).to_have_value("0")
    tab.evaluate("__testVisibility('visible')")
    expect(tab.locator("#field-n")).to_have_value("1", timeout=SAVED_WITHIN_MS)
    change_elsewhere(service, doc_id, {"n": 2})
    expect(tab.locator("#field-n")).to_have_value("2", timeout=SAVED_WITHIN_MS)
    refused = [n for n, (status, _) in enumerate(answers) if status == 410]
    assert refused, f"no 410 among the feed's answers: {answers}"
    assert answers[refused[0]][1] is not None, "the 410 answered a resume (Last-Event-ID)"
    assert answers[refused[0] + 1] == (200, None), "then the stream starts from now"
    next(running, None)
