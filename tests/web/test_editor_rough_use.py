"""The web editor used roughly: deleted under the user, typed into during a conflict, left
within the debounce, saved with Ctrl+S, fed a 5 MB document and look-alike field names.

Real `httpconflict serve` (SQLite) and Debian's Chromium; what is stored is read through
the HTTP API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import RestartableService, _running, serving
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

HUGE_BODY = 8_000_000  # bytes: a service that accepts a 5 MB document


@pytest.fixture(scope="module")
def huge_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service whose request bodies may reach 8 MB."""
    yield from serving(tmp_path_factory, "--max-body", str(HUGE_BODY))


def versions(service: RestartableService, doc_id: str) -> int:
    with service.client() as http:
        return len(http.get(f"/v1/notes/{doc_id}/versions").json()["items"])


def test_a_document_deleted_elsewhere_is_said_at_once(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Deleted by another client while open: the page says so from the feed, no save needed."""
    doc_id = create(editor_service, {"title": "Draft"})
    page = open_editor(contexts[0], editor_service, doc_id)
    with editor_service.client() as http:
        etag = http.get(f"/v1/notes/{doc_id}").headers["etag"]
        assert http.delete(f"/v1/notes/{doc_id}", headers={"If-Match": etag}).status_code == 204
    expect_state(page, "error", timeout=3_000)
    expect(page.locator("#save-state")).to_contain_text("deleted")
    expect(page.get_by_label("title")).to_have_value("Draft")  # what it held stays readable


def test_keep_mine_keeps_what_was_typed_while_the_conflict_was_shown(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Typing on in the conflicting field, then *Keep mine*: all of it is stored, not only
    the part of the refused save; the *Mine* cell follows the typing."""
    doc_id = create(editor_service, {"title": "Draft", "body": ""})
    one, two = (open_editor(context, editor_service, doc_id) for context in contexts)
    contexts[1].set_offline(True)
    two.get_by_label("title", exact=True).fill("Mine")
    expect_state(two, "offline")
    one.get_by_label("title", exact=True).fill("Theirs")
    expect_state(one, "saved")
    contexts[1].set_offline(False)
    expect_state(two, "conflict")
    title = two.get_by_label("title", exact=True)
    title.press("End")
    title.press_sequentially(" and more")
    conflict = two.locator('.conflict[data-pointer="/title"]')
    expect(conflict.get_by_role("cell", name='"Mine and more"')).to_be_visible()
    conflict.get_by_role("button", name="Keep mine: title").click()
    expect_state(two, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine and more", "body": ""}


@pytest.mark.parametrize("away", ["collection", "other-page"])
def test_leaving_within_the_debounce_saves_now_and_once(
    contexts: list[BrowserContext], editor_service: RestartableService, away: str
) -> None:
    """Leaving the document (to its collection, or to another page) before the 600 ms
    debounce fired sends the edit then; coming back (Back) writes nothing more."""
    doc_id = create(editor_service, {"title": "Draft"})
    page = open_editor(contexts[0], editor_service, doc_id)
    page.get_by_label("title").fill("Typed, then left")
    if away == "collection":
        page.evaluate("location.hash = '#/notes'")
    else:
        page.goto(f"{editor_service.url}/healthz")
    deadline = time.monotonic() + 3
    while stored(editor_service, doc_id)["title"] != "Typed, then left":
        assert time.monotonic() < deadline, "the edit was not sent on leaving"
        time.sleep(0.1)
    page.go_back()
    expect(page.get_by_label("title")).to_have_value("Typed, then left")
    expect_state(page, "saved")
    time.sleep(0.5)
    assert versions(editor_service, doc_id) == 2  # created, then patched once
    assert page.evaluate("localStorage.length") == 0


def test_ctrl_s_twice_saves_at_once_and_once(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Ctrl+S sends the edit without waiting for the debounce; pressed twice, one write."""
    doc_id = create(editor_service, {"title": "Draft"})
    page = open_editor(contexts[0], editor_service, doc_id)
    patches: list[float] = []
    page.on("request", lambda r: patches.append(time.monotonic()) if r.method == "PATCH" else None)
    page.get_by_label("title").fill("Saved by keyboard")
    pressed = time.monotonic()
    page.keyboard.press("Control+s")
    page.keyboard.press("Control+s")
    expect_state(page, "saved")
    time.sleep(1)  # a debounced save would have gone by now
    assert len(patches) == 1
    assert patches[0] - pressed < 0.45, "sent by the debounce (600 ms), not by Ctrl+S"
    assert versions(editor_service, doc_id) == 2


# Counts what each keystroke costs: writes of the raw JSON's text, characters written to
# localStorage.
COUNT_WRITES = """() => {
  window.rawWrites = 0; window.storedChars = 0;
  const area = document.getElementById('raw-json');
  const own = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value');
  Object.defineProperty(area, 'value', {
    get() { return own.get.call(this); },
    set(v) { window.rawWrites += 1; own.set.call(this, v); },
  });
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k, v) {
    window.storedChars += String(v).length;
    return setItem.call(this, k, v);
  };
}"""


def test_typing_in_a_large_document_rewrites_neither_raw_json_nor_storage_per_key(
    contexts: list[BrowserContext], huge_service: RestartableService
) -> None:
    """In a large document (1 MB here; 5 MB took 2.2 s a key) each keystroke used to rewrite
    the raw JSON and store the whole base again: now the raw JSON follows when typing
    pauses, the base is stored once, and the edit is saved."""
    huge = {f"k{i}": "x" * 1000 for i in range(1000)} | {"title": "Draft"}
    doc_id = create(huge_service, huge)
    page = contexts[0].new_page()
    page.goto(f"{huge_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved", timeout=20_000)
    page.evaluate(COUNT_WRITES)
    title = page.get_by_label("title", exact=True)
    title.press("End")
    title.press_sequentially("abcd")
    expect_state(page, "saved", timeout=20_000)
    assert stored(huge_service, doc_id)["title"] == "Draftabcd"
    assert page.evaluate("window.rawWrites") <= 2  # once typing paused (and once saved)
    assert page.evaluate("window.storedChars") < 2 * len(str(huge))  # the base once
    shows_it = "document.getElementById('raw-json').value.includes('\"title\": \"Draftabcd\"')"
    page.wait_for_function(shows_it, timeout=5_000)


def test_look_alike_field_names_have_labels_that_differ(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """NFC and NFD spellings, a zero-width space, a right-to-left override: each label shows
    its name distinctly (escapes for what cannot be seen); emoji sequences stay as typed."""
    names = ["\u00e9", "e\u0301", "title", "title\u200b", "\u202etxt", "\U0001f468\u200d\U0001f469"]
    doc_id = create(editor_service, dict.fromkeys(names, "v"))
    page = contexts[0].new_page()
    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    labels = page.locator("#field-list label").all_inner_texts()
    assert labels == ["é", '"e\\u0301"', "title", '"title\\u200b"', '"\\u202etxt"', names[5]]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def either_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RestartableService]:
    """A running service on SQLite, then on PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        yield from serving(tmp_path_factory)
        return
    url = request.getfixturevalue("postgres_module_schema")
    yield from _running(RestartableService(url, tmp_path_factory.mktemp("service")))


def test_two_browsers_and_a_pure_counter_on_one_document(
    contexts: list[BrowserContext], either_service: RestartableService
) -> None:
    """Two pages type in their own fields while a script reads n and PUTs n + 1 with If-Match
    for 3 s: the count is exactly the script's successful writes, and both texts are stored."""
    service = either_service
    doc_id = create(service, {"count": 0, "title": "", "body": ""})
    one, two = (open_editor(context, service, doc_id) for context in contexts)
    one.get_by_label("title").click()
    two.get_by_label("body").click()
    successes = refused = 0
    deadline = time.monotonic() + 3
    with service.client() as http:
        while time.monotonic() < deadline:
            one.keyboard.type("a")
            two.keyboard.type("b")
            read = http.get(f"/v1/notes/{doc_id}")
            document = read.json()
            document["count"] += 1
            put = http.put(
                f"/v1/notes/{doc_id}", json=document, headers={"If-Match": read.headers["etag"]}
            )
            assert put.status_code in (200, 412), put.text
            successes += put.status_code == 200
            refused += put.status_code == 412
    for page in (one, two):
        expect_state(page, "saved")
    final = stored(service, doc_id)
    typed_one = len(one.get_by_label("title").input_value())
    typed_two = len(two.get_by_label("body").input_value())
    print(f"counter: {successes} writes, {refused} refused; typed {typed_one} + {typed_two}")
    assert final["count"] == successes
    assert final["title"] == "a" * typed_one
    assert final["body"] == "b" * typed_two
