"""The web editor follows others' changes on the change feed: no polling, one stream per origin.

Real `httpconflict serve` processes (two on one SQLite file stand for two instances behind a
load balancer) and Debian's Chromium. Each page's view of the version it shows is timed in
the page itself (a MutationObserver on the ETag line, Date.now()), so the delay measured is
the browser's, from the save's answer in one page to the other page showing that version.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.service.auth_helpers import bearer
from tests.web.conftest import RestartableService, _running
from tests.web.test_editor import create, expect, expect_state, open_editor, stored
from tests.web.test_editor_auth import sign_in
from tests.web.test_editor_live import change_elsewhere

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request

SEEN_WITHIN_MS = 300  # from the save's answer on one page to the other page showing it
IDLE_MS = 3_000
FEED = "/_changes"

# Records when the page first shows each version: window.shownAt[etag] = Date.now().
RECORD_SHOWN = """() => {
  window.shownAt = {};
  const line = document.getElementById('document-etag');
  const note = () => {
    if (!(line.textContent in window.shownAt)) window.shownAt[line.textContent] = Date.now();
  };
  note();
  new MutationObserver(note).observe(line, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def two_instances(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RestartableService, RestartableService]]:
    """Two services on one SQLite file: two instances of one deployment, for the module."""
    directory = tmp_path_factory.mktemp("instances")
    db = directory / "shared.db"
    first = _running(RestartableService(db, directory))
    second = _running(RestartableService(db, directory))
    yield next(first), next(second)
    for service in (second, first):
        next(service, None)


def feed_requests(requests: list[Request]) -> list[Request]:
    return [r for r in requests if FEED in r.url]


def shown_at(page: Page, etag: str) -> int:
    page.wait_for_function("(etag) => etag in window.shownAt", arg=etag, timeout=10_000)
    value: int = page.evaluate("(etag) => window.shownAt[etag]", etag)
    return value


def saved_etag(page: Page) -> str:
    expect_state(page, "saved")
    etag: str = page.locator("#document-etag").text_content() or ""
    return etag


def test_two_instances_see_each_others_saves_at_once_and_idle_pages_send_nothing(
    contexts: list[BrowserContext],
    two_instances: tuple[RestartableService, RestartableService],
) -> None:
    """Pages on two instances: each save shows on the other page within 300 ms of its answer
    (four saves, two each way), and for 3 s of quiet neither page sends a single request."""
    first, second = two_instances
    doc_id = create(first, {"title": "Draft", "count": 0})
    requests: list[Request] = []
    for context in contexts:
        context.on("request", lambda request: requests.append(request))
    pages = [open_editor(contexts[0], first, doc_id), open_editor(contexts[1], second, doc_id)]
    for page in pages:
        page.wait_for_timeout(500)  # the stream opens, the page reads its document once
        page.evaluate(RECORD_SHOWN)

    before = len(requests)
    pages[0].wait_for_timeout(IDLE_MS)
    assert requests[before:] == [], "an idle page sends nothing"

    delays = []
    for turn in range(4):
        writer, reader = (pages[0], pages[1]) if turn % 2 == 0 else (pages[1], pages[0])
        writer.get_by_label("title").fill(f"Title {turn}")
        etag = saved_etag(writer)
        delays.append(shown_at(reader, etag) - shown_at(writer, etag))
        expect(reader.get_by_label("title")).to_have_value(f"Title {turn}")
    print(f"save answered on one page -> shown on the other: {delays} ms")
    assert statistics.median(delays) < SEEN_WITHIN_MS, delays
    assert stored(first, doc_id)["title"] == "Title 3"
    assert len(feed_requests(requests)) == 2, "one stream per page, never reopened"


def test_tabs_share_one_stream_and_a_seventh_tab_is_not_stalled(
    browser_context: BrowserContext, two_instances: tuple[RestartableService, RestartableService]
) -> None:
    """Seven tabs of one profile, on two documents of a collection: one stream at a time
    serves all (a browser gives an origin ~6 connections); every tab opens and sees a change
    made elsewhere; when the leading tab closes, another takes over the stream."""
    editor_service = two_instances[0]
    ids = [create(editor_service, {"title": "Draft"}) for _ in range(2)]
    requests: list[Request] = []
    browser_context.on("request", lambda request: requests.append(request))
    tabs = [open_editor(browser_context, editor_service, ids[n % 2]) for n in range(7)]
    tabs[0].wait_for_timeout(500)
    for n, doc_id in enumerate(ids):
        change_elsewhere(editor_service, doc_id, {"title": f"Changed {n}"})
    for n, tab in enumerate(tabs):
        expect(tab.get_by_label("title")).to_have_value(f"Changed {n % 2}")
    # The first tab's stream watched its document; the second document made it the
    # collection's (closed, then opened from where the first one was).
    streams = feed_requests(requests)
    assert len(streams) == 2
    assert streams[0].url.endswith(f"{FEED}?id={ids[0]}")
    assert streams[0].failure == "net::ERR_ABORTED"
    assert re.search(r"_changes\?since=[0-9]+$", streams[1].url)

    tabs[0].close()  # the tab that led: the lock goes to another, which opens the stream
    change_elsewhere(editor_service, ids[1], {"title": "After the leader left"})
    for tab in tabs[1::2]:
        expect(tab.get_by_label("title")).to_have_value("After the leader left")
    assert len(feed_requests(requests)) == 3


@pytest.fixture
def browser_context(contexts: list[BrowserContext]) -> BrowserContext:
    """One browser profile: its tabs share storage, locks and broadcast channels."""
    return contexts[0]


def open_signed_in(
    context: BrowserContext, service: RestartableService, token: str, document: dict[str, Any]
) -> tuple[str, Page, list[Request]]:
    """`document` made with `token`, and a new page signed in with it showing it: its id, the
    page, and the profile's requests from the page's first on."""
    with service.client() as http:
        made = http.post("/v1/notes", json=document, headers=bearer(token))
    assert made.status_code == 201, made.text
    doc_id: str = made.headers["location"].rsplit("/", 1)[1]
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()
    page.goto(f"{service.url}/#/notes/{doc_id}")
    sign_in(page, token)
    return doc_id, page, requests


def test_the_stream_carries_the_token_in_a_header_only(
    contexts: list[BrowserContext], protected_service: RestartableService, admin_token: str
) -> None:
    """A token-protected service: the stream is sent with Authorization (EventSource could not),
    the token is in no URL, and another writer's change shows on the signed-in page."""
    service, token = protected_service, admin_token
    doc_id, page, requests = open_signed_in(contexts[0], service, token, {"title": "Draft"})
    with service.client() as http:
        expect(page.get_by_label("title")).to_have_value("Draft")
        page.wait_for_timeout(500)
        etag = http.get(f"/v1/notes/{doc_id}", headers=bearer(token)).headers["etag"]
        changed = http.put(
            f"/v1/notes/{doc_id}",
            json={"title": "Theirs"},
            headers={**bearer(token), "If-Match": etag},
        )
        assert changed.status_code == 200, changed.text
    expect(page.get_by_label("title")).to_have_value("Theirs")
    streams = feed_requests(requests)
    assert [r.all_headers().get("authorization") for r in streams] == [f"Bearer {token}"]
    assert all(token not in r.url for r in requests)


def purged(service: RestartableService) -> None:
    """Returns once the purge has taken the changes so far of notes (never the newest)."""
    with service.client() as http:
        latest = http.get("/v1/notes/_changes", params={"since": "now"}).json()["last_seq"]
        assert http.put("/v1/other/x", json={}).status_code == 201
        deadline = time.monotonic() + 15
        while http.get("/v1/notes/_changes").json().get("oldest", 0) < latest:
            assert time.monotonic() < deadline, "the change was never purged"
            time.sleep(0.2)


def test_a_purged_position_starts_the_stream_again_and_the_page_reads_its_document(
    contexts: list[BrowserContext], tmp_path: Path
) -> None:
    """The page's instance is down while another instance takes changes, and the purge (changes
    kept 1 s) removes them: reconnecting from where it was gets a real 410, so the page follows
    the feed from now and reads its document once more, showing the change it never saw on the
    stream; the next change comes on the new stream."""
    db, kept = tmp_path / "shared.db", ("--changes-retention", "1", "--purge-interval", "1")
    first = _running(RestartableService(db, tmp_path, kept))
    second = _running(RestartableService(db, tmp_path, kept))
    mine, other = next(first), next(second)
    doc_id = create(mine, {"title": "Draft"})
    statuses: list[tuple[int, str | None]] = []
    contexts[0].on(
        "response",
        lambda answer: (
            statuses.append((answer.status, answer.request.all_headers().get("last-event-id")))
            if FEED in answer.url
            else None
        ),
    )
    page = open_editor(contexts[0], mine, doc_id)
    page.wait_for_timeout(500)  # the stream is open: the page holds a position

    mine.stop()
    expect(page.get_by_text("Live updates paused")).to_be_visible(timeout=10_000)
    change_elsewhere(other, doc_id, {"title": "Changed while away"})
    purged(other)
    mine.start()

    expect(page.get_by_label("title")).to_have_value("Changed while away", timeout=15_000)
    expect(page.get_by_text("Live updates paused")).to_be_hidden(timeout=10_000)
    change_elsewhere(other, doc_id, {"title": "On the new stream"})
    expect(page.get_by_label("title")).to_have_value("On the new stream", timeout=5_000)
    refused = [n for n, (status, _) in enumerate(statuses) if status == 410]
    assert refused, f"no 410 among the feed's answers: {statuses}"
    after = statuses[refused[0] + 1]
    assert after == (200, None), "after a 410 the stream starts from now, not from a position"
    assert statuses[refused[0]][1] is not None, "the 410 answered a resume (Last-Event-ID)"
    for service in (second, first):
        next(service, None)
