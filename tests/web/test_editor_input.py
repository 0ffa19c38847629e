"""The web editor with awkward input: any JSON string as a field name, refusals, lost creates.

The tests run a real `httpconflict serve` (SQLite; shared, each test on its own
documents) and Debian's Chromium, and check what is stored through the HTTP API, not only
through the page.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.web.conftest import SMALL_BODY, RestartableService
from tests.web.test_editor import create, expect, expect_state, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Request, Route

# Field names a JavaScript object used as a map gets wrong, and names JSON Pointer escapes.
IN_THE_DOCUMENT = ["__proto__", "constructor", "", "a/b~c"]
ADDED_ON_THE_PAGE = ["toString", "valueOf", "hasOwnProperty", " spaced ", "名前 ✓", "n" * 1000]
# Long enough for a page that retries every 0.5 s to have sent its request again.
RETRIES_WOULD_SHOW_MS = 2_000


def field(page: Page, name: str) -> Locator:
    """The input of the field `name`, found by its data-field attribute (a CSS string)."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return page.locator(f'#field-list [data-field="{quoted}"]')


def label_of(name: str) -> str:
    """The label the page shows: the name, or its JSON literal when it would be invisible."""
    plain = name != "" and name == name.strip() and not name.startswith('"')
    return name if plain else json.dumps(name, ensure_ascii=False)


def test_any_json_string_is_a_field_name(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Fields named __proto__, toString, "", "a/b~c"... are shown, edited, added and removed."""
    doc_id = create(editor_service, {"title": "Draft", **dict.fromkeys(IN_THE_DOCUMENT, "before")})
    page = contexts[0].new_page()
    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    for name in ADDED_ON_THE_PAGE:
        page.get_by_label("New field name").fill(name)
        page.get_by_role("button", name="Add field").click()
        expect(field(page, name)).to_be_focused()
    for name in IN_THE_DOCUMENT + ADDED_ON_THE_PAGE:
        field(page, name).fill(f"edited {name[:10]}")
    expect_state(page, "saved")
    expected: dict[str, Any] = {"title": "Draft"}
    expected |= {n: f"edited {n[:10]}" for n in IN_THE_DOCUMENT + ADDED_ON_THE_PAGE}
    assert stored(editor_service, doc_id) == expected

    # The raw JSON removes __proto__, changes toString's type and nests awkward names.
    changed = {k: v for k, v in expected.items() if k != "__proto__"}
    changed |= {"toString": 5, "nested": {"__proto__": {"constructor": 1}, "a~1b": 2}}
    page.get_by_label("Raw JSON").fill(json.dumps(changed, ensure_ascii=False))
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == changed
    nested = {"__proto__": {"constructor": 3}}  # a merge patch removes a~1b, sets the rest
    page.get_by_label("Raw JSON").fill(json.dumps(changed | {"nested": nested}))
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == changed | {"nested": nested}

    page.reload()
    expect_state(page, "saved")
    for name, value in changed.items():
        if isinstance(value, str):
            expect(page.get_by_label(label_of(name), exact=True)).to_have_value(value)
    expect(field(page, "__proto__")).to_have_count(0)
    expect(page.get_by_label("toString", exact=True)).to_have_value("5")
    ids = page.eval_on_selector_all("#field-list [data-field]", "inputs => inputs.map(i => i.id)")
    assert len(set(ids)) == len(changed)  # one id per field
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("Object.prototype.constructor === Object && !('edited' in {})")


def test_a_name_already_there_is_not_added_twice(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Add field with a name the document has says so and focuses it; an empty name is refused."""
    doc_id = create(editor_service, {"title": "Draft", "toString": "t"})
    page = contexts[0].new_page()
    page.goto(f"{editor_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    page.get_by_label("New field name").fill("toString")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#add-field-error")).to_have_text('There is already a field "toString".')
    expect(field(page, "toString")).to_be_focused()
    page.get_by_label("New field name").fill("")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#add-field-error")).to_contain_text("Type a name")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Draft", "toString": "t"}


def test_a_refused_read_is_shown_and_not_retried(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Opening an invalid document name: its 400 problem is shown, and the GET is sent once."""
    page = contexts[0].new_page()
    reads: list[Request] = []
    page.on("request", lambda r: reads.append(r) if "/v1/" in r.url else None)
    page.goto(f"{editor_service.url}/#/notes/not%20a%20name")
    expect_state(page, "error")
    expect(page.locator("#save-state")).to_contain_text("is not a valid document name")
    page.wait_for_timeout(RETRIES_WOULD_SHOW_MS)
    assert [r.method for r in reads] == ["GET"]
    expect_state(page, "error")


def test_a_refused_save_is_shown_and_not_retried(
    contexts: list[BrowserContext], small_body_service: RestartableService
) -> None:
    """A save over the body limit gets a 413 problem: shown, sent once, edits kept to discard."""
    doc_id = create(small_body_service, {"title": "Draft", "count": 1})
    page = contexts[0].new_page()
    page.goto(f"{small_body_service.url}/#/notes/{doc_id}")
    expect_state(page, "saved")
    statuses: list[int] = []
    page.on(
        "response", lambda r: statuses.append(r.status) if r.request.method == "PATCH" else None
    )
    field(page, "title").fill("x" * SMALL_BODY)
    expect_state(page, "error")
    expect(page.locator("#save-state")).to_contain_text("Not saved: ")
    page.wait_for_timeout(RETRIES_WOULD_SHOW_MS)
    assert statuses == [413]
    assert stored(small_body_service, doc_id) == {"title": "Draft", "count": 1}
    page.get_by_role("button", name="Discard my unsaved changes").click()
    expect_state(page, "saved")
    expect(field(page, "title")).to_have_value("Draft")
    assert len(statuses) == 1


def test_a_create_whose_answer_is_lost_makes_one_document(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """The first POST is applied but its answer lost: the page sends it again with the same
    Idempotency-Key, opens the document, and the collection holds exactly one."""
    collection = "created"  # no other test writes there
    page = contexts[0].new_page()
    sent: list[dict[str, str]] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(route.request.headers)
        if len(sent) == 1:
            route.fetch()  # the server creates it...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route(f"**/v1/{collection}", lose_the_first_answer)
    page.goto(f"{editor_service.url}/#/{collection}")
    expect(page.locator("#collection-empty")).to_be_visible()
    page.get_by_label("New document (JSON object)").fill('{"title": "Once"}')
    page.get_by_role("button", name="Create document").click()
    expect(field(page, "title")).to_have_value("Once")
    assert len(sent) == 2
    assert sent[0]["idempotency-key"] == sent[1]["idempotency-key"]
    with editor_service.client() as http:
        items = http.get(f"/v1/{collection}").json()["items"]
    assert [item["document"] for item in items] == [{"title": "Once"}]
    assert page.evaluate("location.hash") == f"#/{collection}/{items[0]['id']}"


def test_only_no_answer_and_5xx_are_retried_after_retry_after(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """The page's retry policy on real Response objects: 5xx and no answer, Retry-After honoured."""
    page = contexts[0].new_page()
    page.goto(editor_service.url + "/")
    policy = page.evaluate("""() => {
      const answer = (status, headers = {}) => ({response: new Response(null, {status, headers})});
      return {
        retried: [400, 404, 409, 412, 413, 422, 428, 500, 502, 503].filter(
          (status) => unanswered(answer(status))),
        noAnswer: unanswered({ response: null }),
        after: retryWait(answer(503, { "Retry-After": "3" }), 500),
        capped: retryWait(answer(503, { "Retry-After": "86400" }), 500),
        date: retryWait(answer(503, { "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }), 500),
        text: [retryingText({ response: null }), retryingText(answer(503))],
      };
    }""")
    assert policy["retried"] == [500, 502, 503]
    assert policy["noAnswer"] is True
    assert policy["after"] == 3000
    assert policy["capped"] == 60_000
    assert 375 <= policy["date"] <= 625  # not seconds: the jittered back-off instead
    assert policy["text"] == ["Offline, retrying", "Server unavailable (503), retrying"]


def test_a_conflict_on_awkward_names_is_shown_and_resolved(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """Both pages edit "a/b~c" and __proto__: the conflict names each field, and mine is stored."""
    names = ["a/b~c", "__proto__"]
    doc_id = create(editor_service, {"title": "Draft", **dict.fromkeys(names, "base")})
    one, two = (contexts[i].new_page() for i in range(2))
    for page in (one, two):
        page.goto(f"{editor_service.url}/#/notes/{doc_id}")
        expect_state(page, "saved")
    contexts[1].set_offline(True)  # page two's save waits while one saves the same fields
    for name in names:
        field(two, name).fill(f"two {name}")
    expect_state(two, "offline")
    for name in names:
        field(one, name).fill(f"one {name}")
    expect_state(one, "saved")
    contexts[1].set_offline(False)
    expect_state(two, "conflict")
    for pointer, name in (("/a~1b~0c", "a/b~c"), ("/__proto__", "__proto__")):
        conflict = two.locator(f'.conflict[data-pointer="{pointer}"]')
        expect(conflict.get_by_role("heading")).to_have_text(f"Field {name}")
        conflict.get_by_role("button", name=f"Keep mine: {name}").click()
    expect_state(two, "saved")
    expected = {"title": "Draft"} | {name: f"two {name}" for name in names}
    assert stored(editor_service, doc_id) == expected
    for name in names:
        expect(field(one, name)).to_have_value(f"two {name}")
