"""The change feed of a signed-in page that has no secure context: plain HTTP to another
host than localhost, so no Web Locks and no crypto.subtle (which hashed the token into the
name of the tabs' group: without it the page opened no stream at all).

The page is served at http://editor.test:PORT (tests/web/conftest.py) by real `httpconflict
serve --auth tokens` (SQLite) and shown in Debian's Chromium; the other writer is the test's
own client. When the page shows each version is timed in the page (`RECORD_SHOWN`), against
the wall clock when the other writer's save was answered.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

from tests.service.auth_helpers import bearer, create_token
from tests.web.conftest import RestartableService
from tests.web.test_editor import expect
from tests.web.test_editor_feed import (
    IDLE_MS,
    RECORD_SHOWN,
    SEEN_WITHIN_MS,
    feed_requests,
    open_signed_in,
    shown_at,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

SAVES = 4


def test_a_signed_in_page_without_a_secure_context_follows_the_feed(
    contexts: list[BrowserContext], non_secure_protected_service: RestartableService
) -> None:
    """Signed in on a page with no Web Locks and no crypto.subtle: each of four saves made
    elsewhere shows within 300 ms of its answer (median), over one stream that carries the
    token in its Authorization header; in between the page polls nothing (3 s idle: no request;
    one read of the document per change), and the token is in no URL and not in localStorage."""
    service = non_secure_protected_service
    token = create_token(service.db, "editor", "admin")
    doc_id, page, requests = open_signed_in(contexts[0], service, token, {"n": 0})
    with service.client() as http:
        expect(page.locator("#field-n")).to_have_value("0")
        secure = "[isSecureContext, 'locks' in navigator, crypto.subtle === undefined]"
        assert page.evaluate(secure) == [False, False, True]
        page.wait_for_timeout(500)  # the stream opens, the page reads its document once
        page.evaluate(RECORD_SHOWN)

        before = len(requests)
        page.wait_for_timeout(IDLE_MS)
        assert requests[before:] == [], "an idle page sends nothing"

        delays = []
        for n in range(SAVES):
            etag = http.get(f"/v1/notes/{doc_id}", headers=bearer(token)).headers["etag"]
            saved = http.put(
                f"/v1/notes/{doc_id}",
                json={"n": n + 1},
                headers={**bearer(token), "If-Match": etag},
            )
            answered_at = time.time() * 1000
            assert saved.status_code == 200, saved.text
            delays.append(shown_at(page, saved.headers["etag"]) - answered_at)
            expect(page.locator("#field-n")).to_have_value(str(n + 1))
    print(f"save answered elsewhere -> shown on the page: {[round(d) for d in delays]} ms")
    assert statistics.median(delays) < SEEN_WITHIN_MS, delays

    streams = feed_requests(requests)
    assert [r.all_headers().get("authorization") for r in streams] == [f"Bearer {token}"]
    reads = [(r.method, r.url.split("?")[0]) for r in requests[before:]]
    assert reads == [("GET", f"{service.url}/v1/notes/{doc_id}")] * SAVES, "a read per change"
    assert all(token not in r.url for r in requests)
    assert token not in page.evaluate("JSON.stringify(localStorage)")
