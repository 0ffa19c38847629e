"""The web editor on a 5 MB document: opened in well under the 5 to 10 s it took, and
still edited: a field typed in is saved, and the raw JSON is there when asked for.

Real `httpconflict serve` (SQLite) and Debian's Chromium. The time is measured in the
page, from the address change to the first frame after "All changes saved".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.conftest import RestartableService, serving
from tests.web.test_editor import create, expect, expect_state, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

HUGE_BODY = 8_000_000  # bytes: a service that accepts a 5 MB document
# Before: 4.4 to 4.9 s on a quiet 2-core machine, 10 s under a load of 13; after: 1.1 to
# 1.7 s. The bound leaves room for a loaded CI runner.
OPEN_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def large_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service whose request bodies may reach 8 MB."""
    yield from serving(tmp_path_factory, "--max-body", str(HUGE_BODY))


def large_document() -> dict[str, Any]:
    """5 MB in 5,000 text fields of 1,000 characters, a title first and a list last."""
    fields = {f"k{i:04}": "x" * 1000 for i in range(5000)}
    return {"title": "Draft", **fields, "tags": ["a", "b"] * 2000}


def open_timed(page: Page, service: RestartableService, doc_id: str) -> float:
    """Seconds from the address change to the frame after the document is shown saved."""
    page.goto(f"{service.url}/")
    expect_state(page, "idle")
    started = time.monotonic()
    page.evaluate(f"location.hash = '#/notes/{doc_id}'")
    expect_state(page, "saved", timeout=30_000)
    page.evaluate("new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")
    return time.monotonic() - started


def test_a_5_mb_document_opens_quickly_and_is_edited(
    contexts: list[BrowserContext], large_service: RestartableService
) -> None:
    """5,000 rows and a 5 MB raw JSON: open in under 3 s (5 to 10 s before), a field typed
    in is stored, the raw JSON shows it once unfolded, by keyboard."""
    doc_id = create(large_service, large_document())
    page = contexts[0].new_page()
    seconds = open_timed(page, large_service, doc_id)
    print(f"opened a 5 MB document in {seconds:.2f} s")
    assert seconds < OPEN_WITHIN_S
    expect(page.locator("#field-tags")).to_contain_text("… (17 kB in all)")  # its start only
    title = page.locator("#field-title")
    title.focus()
    title.press("End")
    title.press_sequentially("!")
    expect_state(page, "saved", timeout=20_000)
    assert stored(large_service, doc_id)["title"] == "Draft!"
    unfold = page.locator("#show-raw")
    expect(unfold).to_have_text("Show the raw JSON (5.1 MB)")
    expect(page.locator("#raw-json")).to_be_hidden()
    unfold.focus()
    page.keyboard.press("Enter")
    raw = page.locator("#raw-json")
    expect(raw).to_be_focused()
    expect(raw).to_be_visible()
    assert '"title": "Draft!"' in raw.input_value()
