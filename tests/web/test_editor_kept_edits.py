"""Edits kept in the browser (localStorage) whose base is no longer the document's current
version: across a reload, a second tab, a closed tab or a time offline, they are never
saved over the current version without a choice. Fields only this page changed since its
base are merged; a field both sides changed is asked, field by field.

Two browser profiles (A and B) on a real `httpconflict serve` (SQLite) and Debian's
Chromium; what is stored is read through the HTTP API. One service keeps one version of
history (``--history 1``), so a page's base is soon unknown to the server (412) and the
page merges itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.conftest import RestartableService, serving
from tests.web.test_editor import create, expect, expect_state, open_editor, stored
from tests.web.test_editor_counter import count_by_keyboard, counting_pages
from tests.web.test_editor_deleted import THEIRS, recreated_elsewhere_first
from tests.web.test_editor_tabs import cut_saves, reconnect

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response, Route

COUNT_FOR_S = 3.0


@pytest.fixture(scope="module")
def forgetful_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service whose history keeps only each document's current version."""
    yield from serving(tmp_path_factory, "--history", "1")


def saves_of(page: Page) -> list[str]:
    """The page's writes (PUT, PATCH) answered 2xx from now on, as "METHOD status"."""
    made: list[str] = []

    def answered(response: Response) -> None:
        if response.request.method in ("PUT", "PATCH") and response.ok:
            made.append(f"{response.request.method} {response.status}")

    page.on("response", answered)
    return made


class Accepted:
    """Routes a page's saves to the server, noting the Idempotency-Keys answered 2xx."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def __call__(self, route: Route) -> None:
        if route.request.method != "PATCH":
            route.continue_()
            return
        answer = route.fetch(max_retries=3)
        if 200 <= answer.status < 300:
            self.keys.add(route.request.headers["idempotency-key"])
        route.fulfill(response=answer)


def choose(page: Page, button: str) -> None:
    page.get_by_role("button", name=button).focus()
    page.keyboard.press("Enter")


def test_a_recreate_refused_412_is_still_a_choice_after_a_reload_and_in_a_second_tab(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A's copy meets B's recreate (412); reloaded, A's page asks again and saves nothing
    until A chooses; a second tab of the same browser says A's tab holds unsaved changes
    and saves none of them; B's fields stay unless A keeps mine for them."""
    page, doc_id = recreated_elsewhere_first(contexts[0], editor_service, THEIRS)
    expect_state(page, "conflict")
    expect(page.locator(".conflict")).to_have_count(2)  # title and extra; body is the same
    page.reload()
    writes = saves_of(page)
    expect_state(page, "conflict")
    expect(page.locator(".conflict")).to_have_count(2)  # the same two, asked again
    expect(page.locator("#field-title")).to_have_value("Mine")  # the copy is still shown
    second = contexts[0].new_page()  # the same browser: the copy is the first tab's
    second_writes = saves_of(second)
    second.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect(second.locator("#other-tabs")).to_be_visible()
    expect(second.locator("#field-title")).to_have_value("Theirs")
    expect(second.locator(".conflict")).to_have_count(0)
    second.close()
    assert stored(editor_service, doc_id) == THEIRS
    assert writes == []  # no PUT or PATCH answered 2xx after the reload
    assert second_writes == []
    choose(page, "Keep mine: title")
    choose(page, "Use theirs: extra")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine", "body": "text", "extra": 1}
    assert page.evaluate("localStorage.length") == 0


def offline_edits_meet_theirs(
    contexts: list[BrowserContext],
    service: RestartableService,
    mine: dict[str, str],
    theirs: list[dict[str, str]],
    document: dict[str, Any] | None = None,
) -> tuple[Page, str]:
    """A types `mine` offline (selector: text); B saves each of `theirs`; A is back online."""
    doc_id = create(service, document or {"title": "Draft", "body": "text"})
    a = open_editor(contexts[0], service, doc_id)
    b = open_editor(contexts[1], service, doc_id)
    contexts[0].set_offline(True)
    for selector, text in mine.items():
        a.locator(selector).fill(text)
    expect_state(a, "offline")
    for edits in theirs:
        for selector, text in edits.items():
            b.locator(selector).fill(text)
        expect_state(b, "saved")
    contexts[0].set_offline(False)
    return a, doc_id


def test_a_tab_closed_during_a_conflict_asks_again_when_opened(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A and B change the title; A's conflict is left open and its tab closed: opened
    again, the page asks again and has saved nothing; B's title stays until A chooses."""
    a, doc_id = offline_edits_meet_theirs(
        contexts, editor_service, {"#field-title": "Mine"}, [{"#field-title": "Theirs"}]
    )
    expect_state(a, "conflict")
    a.close()
    a = contexts[0].new_page()
    writes = saves_of(a)
    a.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(a, "conflict")
    assert writes == []
    assert stored(editor_service, doc_id) == {"title": "Theirs", "body": "text"}
    choose(a, "Keep mine: title")
    expect_state(a, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine", "body": "text"}


# B changes the title twice: A's base leaves a history of one version.
TWICE = [{"#field-title": "Theirs 1"}, {"#field-title": "Theirs"}]


def test_offline_edits_on_a_forgotten_base_are_asked_where_both_changed(
    contexts: list[BrowserContext], forgetful_service: RestartableService
) -> None:
    """Typed offline on a version the server no longer keeps (412): the title B changed too
    is asked, not overwritten; nothing is saved until A chooses."""
    a, doc_id = offline_edits_meet_theirs(
        contexts, forgetful_service, {"#field-title": "Mine"}, TWICE
    )
    writes = saves_of(a)
    expect_state(a, "conflict")
    title = a.locator('.conflict[data-pointer="/title"]')
    expect(title.get_by_role("cell", name='"Draft"')).to_be_visible()  # the base, from storage
    expect(title.get_by_role("cell", name='"Theirs"')).to_be_visible()
    assert stored(forgetful_service, doc_id) == {"title": "Theirs", "body": "text"}
    a.reload()
    expect_state(a, "conflict")  # and again after a reload
    assert writes == []
    choose(a, "Use theirs: title")
    expect_state(a, "saved")
    assert stored(forgetful_service, doc_id) == {"title": "Theirs", "body": "text"}


def test_offline_edits_on_a_forgotten_base_merge_where_only_mine_changed(
    contexts: list[BrowserContext], forgetful_service: RestartableService
) -> None:
    """Typed offline in a field B did not change, on a version the server forgot: merged
    by the page onto B's version, both kept, with no question."""
    a, doc_id = offline_edits_meet_theirs(
        contexts, forgetful_service, {"#field-body": "mine"}, TWICE
    )
    expect_state(a, "saved")
    assert stored(forgetful_service, doc_id) == {"title": "Theirs", "body": "mine"}


def test_two_browsers_count_on_a_forgetful_server(
    contexts: list[BrowserContext], forgetful_service: RestartableService
) -> None:
    """ArrowUp + Ctrl+S in two pages for 3 s on a server that forgets every base (each
    stale save a 412, merged by the page): final n is the number of saves accepted."""
    doc_id = create(forgetful_service, {"n": 0})
    networks = [Accepted(), Accepted()]
    pages = counting_pages(contexts, forgetful_service, doc_id, networks)
    rounds, conflicts = count_by_keyboard(pages, COUNT_FOR_S)
    accepted = networks[0].keys | networks[1].keys
    print(f"{rounds} rounds, {len(accepted)} saves accepted, {conflicts} conflicts")
    assert stored(forgetful_service, doc_id) == {"n": len(accepted)}
    assert conflicts > 0  # the pages did meet


def test_a_choice_keeps_their_change_inside_a_field_only_i_changed_elsewhere(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A's title and meta.a, typed offline, meet B's title and meta.b: the title is asked;
    once chosen, meta holds both a and b (the server's merge), not A's meta over B's."""
    a, doc_id = offline_edits_meet_theirs(
        contexts,
        editor_service,
        {"#raw-json": '{"title": "Mine", "meta": {"a": 2, "b": 1}}'},
        [{"#raw-json": '{"title": "Theirs", "meta": {"a": 1, "b": 2}}'}],
        {"title": "Draft", "meta": {"a": 1, "b": 1}},
    )
    expect_state(a, "conflict")
    expect(a.locator(".conflict")).to_have_count(1)  # the title; meta merges
    choose(a, "Keep mine: title")
    expect_state(a, "saved")
    assert stored(editor_service, doc_id) == {"title": "Mine", "meta": {"a": 2, "b": 2}}


def test_an_edit_typed_during_a_merged_save_is_asked_where_the_merge_brought_a_change(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A's save of x is in flight while A types the title and B saves its own title: the
    server merges A's save (x only), and the title A typed on B's old one is asked, not
    sent over B's title unseen."""
    doc_id = create(editor_service, {"title": "Draft", "x": ""})
    a = open_editor(contexts[0], editor_service, doc_id)
    held: list[Route] = []

    def hold_the_first_save(route: Route) -> None:
        if route.request.method == "PATCH" and not held:
            held.append(route)  # answered below, once B has saved
        else:
            route.continue_()

    a.route(f"**/v1/notes/{doc_id}", hold_the_first_save)
    a.get_by_label("x").fill("1")
    expect_state(a, "saving")
    a.get_by_label("title").fill("Mine")  # typed while the save of x is in flight
    with editor_service.client() as b:
        etag = b.get(f"/v1/notes/{doc_id}").headers["etag"]
        saved = b.patch(
            f"/v1/notes/{doc_id}",
            json={"title": "Theirs"},
            headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        )
        assert saved.status_code == 200, saved.text
    held[0].continue_()  # merged by the server onto B's version: 200, Rebased-From
    expect_state(a, "conflict")
    assert stored(editor_service, doc_id) == {"title": "Theirs", "x": "1"}
    choose(a, "Use theirs: title")
    expect_state(a, "saved")
    assert stored(editor_service, doc_id) == {"title": "Theirs", "x": "1"}


KEPT = "Object.keys(localStorage).filter((k) => k.startsWith('httpconflict.kept'))"


def counting_page(
    context: BrowserContext, service: RestartableService
) -> tuple[Page, str, list[str]]:
    """A page on a new document {"n": 0}, and the methods of its saves sent from now on."""
    doc_id = create(service, {"n": 0})
    page = context.new_page()
    page.goto(f"{service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.method) if r.method == "PATCH" else None)
    return page, doc_id, sent


def discard_by_draft(page: Page) -> None:
    """Types no number into n (a draft, which shows the discard button) and discards."""
    page.locator("#field-n").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("-")
    page.get_by_role("button", name="Discard my unsaved changes").click()


def nothing_kept_or_sent(page: Page, sent: list[str], n: int) -> None:
    """The page keeps no edit; reloaded, it shows n and sends no save."""
    assert page.evaluate(KEPT) == []
    page.unroute_all()
    before = len(sent)
    page.reload()
    expect_state(page, "saved")
    expect(page.locator("#field-n")).to_have_value(str(n))
    page.wait_for_timeout(1500)  # longer than the debounce: a save kept would be sent by now
    assert len(sent) == before


@pytest.mark.parametrize(
    ("service", "refusal"),
    [
        pytest.param("editor_service", 409, id="409-merge-conflict"),
        pytest.param("forgetful_service", 412, id="412-base-forgotten"),
    ],
)
def test_edits_discarded_while_their_save_is_refused_stay_discarded(
    contexts: list[BrowserContext], request: pytest.FixtureRequest, service: str, refusal: int
) -> None:
    """A's save of n + 1 is held while another client counts n + 1 first and A discards its
    changes (a draft shows the button): the save is refused, and A keeps nothing, asks
    nothing and sends nothing more, reloaded too; final n is the number of 2xx answers."""
    server: RestartableService = request.getfixturevalue(service)
    a, doc_id, sent = counting_page(contexts[0], server)
    held: list[Route] = []
    a.route(
        f"**/v1/notes/{doc_id}",
        lambda route: held.append(route) if route.request.method == "PATCH" else route.continue_(),
    )
    a.locator("#field-n").focus()
    a.keyboard.press("ArrowUp")  # n + 1, saved after the debounce, and held
    expect_state(a, "saving")
    with server.client() as b:
        read = b.get(f"/v1/notes/{doc_id}")
        written = b.patch(
            f"/v1/notes/{doc_id}",
            json={"n": read.json()["n"] + 1},
            headers={
                "If-Match": read.headers["etag"],
                "Content-Type": "application/merge-patch+json",
            },
        )
    assert written.status_code == 200, written.text
    discard_by_draft(a)
    assert len(held) == 1
    with a.expect_response(lambda r: r.request.method == "PATCH") as answer:
        held[0].continue_()  # refused: n changed since A's base
    assert answer.value.status == refusal
    a.wait_for_timeout(1000)  # the refusal handled (a read, with the 412)
    expect_state(a, "saved")
    expect(a.locator(".conflict")).to_have_count(0)
    expect(a.locator("#field-n")).to_have_value("1")
    nothing_kept_or_sent(a, sent, 1)
    assert sent == ["PATCH"]  # the refused one only
    assert stored(server, doc_id) == {"n": 1}  # B's one 2xx; A's none


def test_edits_discarded_while_their_save_gets_no_answer_are_not_sent_again(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """A's save of n + 1 gets no answer, and A discards its changes while it waits to send
    it again: back online, it is not sent, kept, or sent after a reload; n stays 0."""
    a, doc_id, sent = counting_page(contexts[0], editor_service)
    cut_saves(a, doc_id)
    a.locator("#field-n").focus()
    a.keyboard.press("ArrowUp")
    expect_state(a, "offline")
    discard_by_draft(a)
    expect_state(a, "saved")
    expect(a.locator("#field-n")).to_have_value("0")
    attempts = len(sent)
    reconnect(a)
    a.wait_for_timeout(5000)  # longer than the longest wait before a retry
    assert len(sent) == attempts
    nothing_kept_or_sent(a, sent, 0)
    assert stored(editor_service, doc_id) == {"n": 0}
