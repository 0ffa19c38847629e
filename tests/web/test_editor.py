"""The web editor at / in a real browser: autosave, live view, conflicts, offline.

The tests run a real `httpconflict serve` (SQLite; shared, each test on its own
documents) and Debian's Chromium, and check the stored documents through the HTTP API,
not only through the page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.conftest import RestartableService

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

# Saves wait 600 ms after the last keystroke; a retry waits at most 4 s.
SAVED_WITHIN_MS = 10_000


def create(service: RestartableService, document: dict[str, Any]) -> str:
    with service.client() as http:
        response = http.post("/v1/notes", json=document)
    assert response.status_code == 201, response.text
    doc_id: str = response.headers["location"].rsplit("/", 1)[1]
    return doc_id


def stored(service: RestartableService, doc_id: str, collection: str = "notes") -> Any:
    with service.client() as http:
        response = http.get(f"/v1/{collection}/{doc_id}")
    assert response.status_code == 200, response.text
    return response.json()


def open_editor(context: BrowserContext, service: RestartableService, doc_id: str) -> Page:
    page = context.new_page()
    page.goto(f"{service.url}/#/notes/{doc_id}")
    expect(page.locator("#field-title")).to_be_visible()
    expect_state(page, "saved")
    return page


def expect_state(page: Page, state: str, timeout: float = SAVED_WITHIN_MS) -> None:
    expect(page.locator("#save-state")).to_have_attribute("data-state", state, timeout=timeout)


def expect(actual: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual)


def test_the_page_is_served_with_its_files(editor_service: RestartableService) -> None:
    """GET / and its scripts and style sheet: right types, self-only CSP, 304 on If-None-Match."""
    with editor_service.client() as http:
        page = http.get("/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        again = http.get("/", headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304
        names = re.findall(r'<script src="(/editor/[a-z]+\.js)" defer></script>', page.text)
        assert "/editor/editor.js" in names
        scripts = [http.get(name) for name in names]
        for script in scripts:
            assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert http.get("/editor/editor.css").headers["content-type"] == "text/css; charset=utf-8"
        assert http.get("/editor/missing.js").status_code == 404
    for text in (page.text, *(script.text for script in scripts)):
        assert "http://" not in text
        assert "https://" not in text


def test_browse_create_and_edit(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Open a collection, create a document, edit a field and the raw JSON: both stored."""
    collection = "browsed"  # no other test writes there: it is empty
    page = contexts[0].new_page()
    page.goto(editor_service.url + "/")
    page.get_by_label("Collection name").fill(collection)
    page.get_by_role("button", name="Open collection").click()
    expect(page.locator("#collection-empty")).to_be_visible()
    page.get_by_label("New document (JSON object)").fill('{"title": "First", "count": 1}')
    page.get_by_role("button", name="Create document").click()
    expect(page.get_by_label("title")).to_have_value("First")
    doc_id = page.evaluate("location.hash").rsplit("/", 1)[1]
    page.get_by_label("count").fill("2")
    expect_state(page, "saved")
    raw = page.get_by_label("Raw JSON")
    raw.fill('{"title": "First", "count": 2, "done": true}')
    expect_state(page, "saved")
    assert stored(editor_service, doc_id, collection) == {
        "title": "First",
        "count": 2,
        "done": True,
    }
    expect(page.get_by_label("done")).to_be_checked()
    page.goto(f"{editor_service.url}/#/{collection}")
    expect(page.get_by_role("link", name=f"{doc_id} — First")).to_be_visible()


def test_two_pages_editing_different_fields_both_stored(
    contexts: list[BrowserContext], editor_service: RestartableService, screenshots: Path
) -> None:
    """Two pages edit different fields from one version: the server merges, no conflict shown."""
    doc_id = create(editor_service, {"title": "Draft", "body": "", "count": 1})
    one, two = (open_editor(context, editor_service, doc_id) for context in contexts)
    patches: list[Response] = []
    for page in (one, two):
        page.on("response", lambda r: patches.append(r) if r.request.method == "PATCH" else None)
    # Page two is offline until one has saved: its edit is made on the version both read,
    # not on one's, which the change feed would otherwise show it within milliseconds.
    contexts[1].set_offline(True)
    one.get_by_label("title").fill("Title from one")
    two.get_by_label("body").fill("Body from two")
    expect_state(one, "saved")
    contexts[1].set_offline(False)
    expect_state(two, "saved")
    assert stored(editor_service, doc_id) == {
        "title": "Title from one",
        "body": "Body from two",
        "count": 1,
    }
    assert [r.status for r in patches] == [200, 200]
    assert any("rebased-from" in r.headers for r in patches), "the second save was merged"
    # The live view: each page shows the other's field (not focused, nothing pending there).
    expect(one.get_by_label("body")).to_have_value("Body from two")
    expect(two.get_by_label("title")).to_have_value("Title from one")
    for page in (one, two):
        expect(page.locator("#conflicts")).to_be_hidden()
    one.screenshot(path=screenshots / "editor.png", full_page=True)


@pytest.mark.parametrize(
    ("button", "chosen"),
    [("Keep mine", "Title from two"), ("Use theirs", "Title from one")],
    ids=["keep-mine", "use-theirs"],
)
def test_same_field_conflict_is_shown_and_resolved(
    contexts: list[BrowserContext],
    editor_service: RestartableService,
    screenshots: Path,
    button: str,
    chosen: str,
) -> None:
    """Both pages edit the title: the later sees base/theirs/mine, and its choice is stored."""
    doc_id = create(editor_service, {"title": "Draft", "body": ""})
    one, two = (open_editor(context, editor_service, doc_id) for context in contexts)
    # Page two's save waits offline while one saves the same field.
    contexts[1].set_offline(True)
    two.get_by_label("title").fill("Title from two")
    two.get_by_label("body").fill("Body from two")  # a non-conflicting edit in the same save
    expect_state(two, "offline")
    one.get_by_label("title").fill("Title from one")
    expect_state(one, "saved")
    contexts[1].set_offline(False)
    expect_state(two, "conflict")
    conflict = two.locator('.conflict[data-pointer="/title"]')
    for cell in ('"Draft"', '"Title from one"', '"Title from two"'):
        expect(conflict.get_by_role("cell", name=cell)).to_be_visible()
    # Nothing of the conflicting save is stored yet.
    assert stored(editor_service, doc_id) == {"title": "Title from one", "body": ""}
    if button == "Keep mine":
        two.screenshot(path=screenshots / "conflict.png", full_page=True)
    conflict.get_by_role("button", name=f"{button}: title").click()
    expect_state(two, "saved")
    expect(two.locator("#conflicts")).to_be_hidden()
    assert stored(editor_service, doc_id) == {"title": chosen, "body": "Body from two"}
    expect(two.get_by_label("title")).to_have_value(chosen)
    # Page one, still in its title field, shows the choice there too.
    expect(one.get_by_label("title")).to_be_focused()
    expect(one.get_by_label("title")).to_have_value(chosen)
    expect(one.get_by_label("body")).to_have_value("Body from two")


def test_a_save_while_the_server_is_down_is_retried(
    contexts: list[BrowserContext], restartable_service: RestartableService
) -> None:
    """Stop the server, type: "offline, retrying"; start it again: the edit is stored."""
    service = restartable_service
    doc_id = create(service, {"title": "Draft", "count": 1})
    page = open_editor(contexts[0], service, doc_id)
    service.stop()
    page.get_by_label("title").press("End")
    page.get_by_label("title").press_sequentially(" typed offline", delay=20)
    expect_state(page, "offline")
    expect(page.locator("#save-state")).to_have_text("Offline, retrying")
    service.start()
    expect_state(page, "saved")
    assert stored(service, doc_id) == {"title": "Draft typed offline", "count": 1}


def test_edits_survive_a_reload_before_they_are_saved(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A reload inside the debounce keeps the edit (localStorage) and sends it on load."""
    doc_id = create(editor_service, {"title": "Draft", "count": 1})
    page = open_editor(contexts[0], editor_service, doc_id)
    page.get_by_label("count").fill("7")
    page.reload()  # before the 600 ms debounce sent anything
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Draft", "count": 7}
    assert page.evaluate("localStorage.length") == 0


def test_a_save_whose_answer_is_lost_is_sent_again_and_applied_once(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """The first save reaches the server but its answer is lost: the page sends the very same
    request again (same Idempotency-Key); the server replays its answer, applied once."""
    doc_id = create(editor_service, {"title": "Draft", "count": 1})
    page = open_editor(contexts[0], editor_service, doc_id)
    sent: list[dict[str, str]] = []

    def lose_the_first_answer(route: Any) -> None:
        sent.append(route.request.headers)
        if len(sent) == 1:
            route.fetch()  # the server applies it...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route(
        f"**/v1/notes/{doc_id}",
        lambda route: (
            lose_the_first_answer(route) if route.request.method == "PATCH" else route.continue_()
        ),
    )
    replays: list[str] = []
    page.on("response", lambda r: replays.append(r.headers.get("idempotent-replayed", "")))
    page.get_by_label("title").fill("Once")
    expect_state(page, "saved")
    assert len(sent) == 2
    assert sent[0]["idempotency-key"] == sent[1]["idempotency-key"]
    assert sent[0]["prefer"] == "rebase"
    assert "true" in replays
    assert stored(editor_service, doc_id) == {"title": "Once", "count": 1}
    with editor_service.client() as http:
        versions = http.get(f"/v1/notes/{doc_id}/versions").json()["items"]
    assert len(versions) == 2  # created, then patched once
