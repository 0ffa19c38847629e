"""Two browsers count on one document through the editor's own page, by keyboard, on a
flaky network: the count is exactly the number of saves the server accepted.

Each page holds the focus in the number field `n` and, round after round, presses
ArrowUp (the page's n + 1, read and written at the keystroke) and Ctrl+S. The pages save
the same field at the same time, so one of them meets a conflict, which it answers by
keyboard with "Use theirs" (its increment was not stored, and is not counted). Every
save request is routed: sent to the server and then its answer lost, held back, or
delivered; or not sent at all. Counted are the Idempotency-Keys the server answered 2xx.

Real `httpconflict serve` (SQLite) and Debian's Chromium.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from tests.web.conftest import RestartableService
from tests.web.test_editor import create, expect, expect_state, stored

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from playwright.sync_api import BrowserContext, Page, Route

ROUNDS_FOR_S = 8.0
SETTLED = (
    "() => ['saved', 'conflict'].includes(document.getElementById('save-state').dataset.state)"
)


class FlakyNetwork:
    """Routes a page's saves: the answer lost after the server applied it, held back,
    delivered, or the request lost before it reached the server."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.accepted: set[str] = set()  # keys the server answered 2xx
        self.fates: dict[str, int] = {}

    def __call__(self, route: Route) -> None:
        if route.request.method != "PATCH":
            route.continue_()
            return
        fate = self.random.choice(["lost-request", "lost-answer", "late-answer", "answer"])
        self.fates[fate] = self.fates.get(fate, 0) + 1
        if fate == "lost-request":
            route.abort("connectionreset")
            return
        # The router's own connection to the server may be one the server closed (keep-alive
        # timeout): sent again, with the same key, it is applied once all the same.
        answer = route.fetch(max_retries=3)
        if 200 <= answer.status < 300:
            self.accepted.add(route.request.headers["idempotency-key"])
        if fate == "lost-answer":
            route.abort("connectionreset")
            return
        if fate == "late-answer":
            time.sleep(0.3)
        route.fulfill(response=answer)


def settle(page: Page) -> bool:
    """Waits for the page's save to be answered; a conflict is answered "Use theirs" (again
    when theirs changed meanwhile, and it is asked again). True when there was a conflict."""
    page.wait_for_function(SETTLED, timeout=20_000)
    if page.locator("#save-state").get_attribute("data-state") != "conflict":
        return False
    while page.locator("#save-state").get_attribute("data-state") == "conflict":
        expect(page.get_by_role("button", name="Keep mine: n")).to_be_focused()
        page.keyboard.press("Tab")  # Use theirs
        page.keyboard.press("Enter")
        page.wait_for_function(SETTLED, timeout=20_000)
    expect(page.locator("#field-n")).to_be_focused()  # back where the keys count
    return True


def counting_pages(
    contexts: list[BrowserContext],
    service: RestartableService,
    doc_id: str,
    routers: Sequence[Callable[[Route], None]],
) -> list[Page]:
    """A page of the document in each context, its saves routed, focused in `n`."""
    pages = [context.new_page() for context in contexts]
    for page, router in zip(pages, routers, strict=True):
        page.route(f"**/v1/notes/{doc_id}", router)
        page.goto(f"{service.url}/#/notes/{doc_id}")
        expect_state(page, "saved")
        page.locator("#field-n").focus()
    return pages


def count_by_keyboard(pages: list[Page], seconds: float) -> tuple[int, int]:
    """Rounds of ArrowUp + Ctrl+S in each page (focused in `n`), each page settled before
    the next round, for `seconds`: (rounds, conflicts)."""
    conflicts = rounds = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rounds += 1
        for page in pages:
            page.keyboard.press("ArrowUp")
            page.keyboard.press("Control+s")
        conflicts += sum(settle(page) for page in pages)
    return rounds, conflicts


def test_two_browsers_count_by_keyboard_on_a_flaky_network(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """ArrowUp + Ctrl+S in two pages at once for 8 s, saves lost and late: final n is the
    number of saves accepted, and the history has one version per accepted save."""
    doc_id = create(editor_service, {"n": 0})
    networks = [FlakyNetwork(seed) for seed in (1, 2)]
    pages = counting_pages(contexts, editor_service, doc_id, networks)
    rounds, conflicts = count_by_keyboard(pages, ROUNDS_FOR_S)
    accepted = networks[0].accepted | networks[1].accepted
    fates = [network.fates for network in networks]
    print(f"{rounds} rounds, {len(accepted)} saves accepted, {conflicts} conflicts; {fates}")
    final = stored(editor_service, doc_id)
    assert final == {"n": len(accepted)}
    with editor_service.client() as http:
        newest = http.get(f"/v1/notes/{doc_id}/versions?limit=1").json()["items"][0]
    assert newest["version"] == len(accepted) + 1  # created, then one version per save
    for page in pages:
        expect(page.locator("#field-n")).to_have_value(str(len(accepted)))
