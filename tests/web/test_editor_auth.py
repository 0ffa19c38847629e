"""The web editor and a service that asks who is calling: the token prompt, 401 and 403.

Real `httpconflict serve --auth tokens` (each shared by the tests that need its options)
with tokens made by the real CLI, and Debian's Chromium. The token is typed into
the page's sign-in form, kept in sessionStorage, and must never show in a URL, the page's
text, localStorage, the console or the service's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.service.auth_helpers import bearer, create_token
from tests.web.conftest import RestartableService, serving
from tests.web.test_editor import create, expect, expect_state, open_editor, stored

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Request

QUIET_MS = 2000  # how long the page is watched for requests it should not send


class Watched:
    """Everything a page sent and logged, to look for the token in."""

    def __init__(self, context: BrowserContext) -> None:
        self.requests: list[Request] = []
        self.console: list[str] = []
        context.on("request", lambda request: self.requests.append(request))
        context.on("console", lambda message: self.console.append(message.text))

    def count(self, method: str) -> int:
        return sum(r.method == method for r in self.requests)


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def assert_token_nowhere(
    page: Page, watched: Watched, service: RestartableService, token: str
) -> None:
    """The token is in sessionStorage and Authorization headers only."""
    assert all(token not in r.url for r in watched.requests)
    assert all(token not in text for text in watched.console)
    assert token not in page.content()
    assert token not in page.evaluate("document.body.innerText")
    assert token not in page.evaluate("JSON.stringify(localStorage)")
    assert all(token not in run.log_path.read_text() for run in service.runs)


def test_the_editor_with_a_token_protected_service(
    contexts: list[BrowserContext], protected_service: RestartableService, admin_token: str
) -> None:
    """The page asks for a token; a wrong one is refused plainly and not retried; the right one
    loads and saves, stays in sessionStorage only, and Sign out forgets it."""
    token = admin_token
    with protected_service.client() as http:
        made = http.post("/v1/notes", json={"title": "Draft"}, headers=bearer(token))
    assert made.status_code == 201, made.text
    doc_id = made.headers["location"].rsplit("/", 1)[1]
    watched = Watched(contexts[0])
    page = contexts[0].new_page()
    page.goto(f"{protected_service.url}/#/notes/{doc_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Access token")).to_have_attribute("type", "password")
    expect(page.get_by_label("Access token")).to_be_focused()
    expect_state(page, "signin")

    sign_in(page, "hc_not-a-token")
    expect(page.locator("#sign-in-reason")).to_contain_text("did not accept that token")
    sent = len(watched.requests)
    page.wait_for_timeout(QUIET_MS)
    assert len(watched.requests) == sent, "a refused token is not sent again by itself"
    assert page.evaluate("sessionStorage.getItem('httpconflict.token')") is None

    sign_in(page, token)
    expect(page.get_by_label("title")).to_have_value("Draft")
    expect(page.locator("#sign-in")).to_be_hidden()
    page.get_by_label("title").fill("Edited")
    expect_state(page, "saved")
    assert stored_with(protected_service, doc_id, token) == {"title": "Edited"}
    assert page.evaluate("sessionStorage.getItem('httpconflict.token')") == token
    api = [r for r in watched.requests if r.url.startswith(protected_service.url + "/v1/")]
    # all_headers(): Playwright's `headers` leaves security-related ones out.
    sent_as = [r.all_headers().get("authorization") for r in api]
    # No token, the wrong one once, then the right one on every request (the open, the save).
    assert sent_as[:2] == [None, "Bearer hc_not-a-token"]
    assert len(sent_as) >= 4
    assert set(sent_as[2:]) == {f"Bearer {token}"}

    page.reload()  # the tab keeps its token: no second prompt
    expect(page.get_by_label("title")).to_have_value("Edited")
    expect(page.locator("#sign-in")).to_be_hidden()
    assert_token_nowhere(page, watched, protected_service, token)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('httpconflict.token')") is None
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_a_new_tab_asks_again_and_the_browse_view_waits(
    contexts: list[BrowserContext], protected_service: RestartableService, admin_token: str
) -> None:
    """sessionStorage is per tab: another profile is asked, and its collection list and
    create wait for the token instead of failing."""
    token = admin_token
    collection = "made-here"  # no other test writes there: it is empty
    page = contexts[1].new_page()
    page.goto(f"{protected_service.url}/#/{collection}")
    sign_in(page, token)
    expect(page.locator("#collection-empty")).to_be_visible()
    page.get_by_label("New document (JSON object)").fill('{"title": "Made here"}')
    page.get_by_role("button", name="Create document").click()
    expect(page.get_by_label("title")).to_have_value("Made here")
    doc_id = page.evaluate("location.hash").rsplit("/", 1)[1]
    assert stored_with(protected_service, doc_id, token, collection) == {"title": "Made here"}


def stored_with(
    service: RestartableService, doc_id: str, token: str, collection: str = "notes"
) -> Any:
    with service.client() as http:
        response = http.get(f"/v1/{collection}/{doc_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_service_without_authentication_never_asks(
    contexts: list[BrowserContext], editor_service: RestartableService
) -> None:
    """No authentication configured: no sign-in form, no Sign out, no Authorization sent."""
    doc_id = create(editor_service, {"title": "Draft"})
    watched = Watched(contexts[0])
    page = open_editor(contexts[0], editor_service, doc_id)
    page.get_by_label("title").fill("Edited")
    expect_state(page, "saved")
    assert stored(editor_service, doc_id) == {"title": "Edited"}
    expect(page.locator("#sign-in")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    assert watched.requests
    assert not [r for r in watched.requests if "authorization" in r.all_headers()]


@pytest.fixture(scope="module")
def granted_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A token-protected service where role reader may read and role writer may write."""
    options = ("--auth", "tokens", "--grant", "read=role:reader", "--grant", "write=role:writer")
    yield from serving(tmp_path_factory, *options)


def test_a_read_only_role_is_shown_a_403_plainly(
    contexts: list[BrowserContext], granted_service: RestartableService
) -> None:
    """A reader's save gets 403: "no right to write", sent once, the edit kept unsaved; a
    role with no right at all is told it cannot read the collection."""
    writer = create_token(granted_service.db, "author", "writer")
    reader = create_token(granted_service.db, "viewer", "reader")
    outsider = create_token(granted_service.db, "outsider", "guest")
    with granted_service.client() as http:
        made = http.post("/v1/notes", json={"title": "Draft"}, headers=bearer(writer))
    assert made.status_code == 201, made.text
    doc_id = made.headers["location"].rsplit("/", 1)[1]
    watched = Watched(contexts[0])
    page = contexts[0].new_page()
    page.goto(f"{granted_service.url}/#/notes/{doc_id}")
    sign_in(page, reader)
    expect(page.get_by_label("title")).to_have_value("Draft")
    page.get_by_label("title").fill("Not mine to change")
    expect_state(page, "error")
    expect(page.locator("#save-state")).to_contain_text(
        "You don't have the right to write to this collection"
    )
    page.wait_for_timeout(QUIET_MS)
    assert watched.count("PATCH") == 1, "a 403 is not sent again"
    expect(page.get_by_label("title")).to_have_value("Not mine to change")
    expect(page.get_by_role("button", name="Discard my unsaved changes")).to_be_visible()
    assert "Not mine to change" in page.evaluate("JSON.stringify(localStorage)")
    assert stored_with(granted_service, doc_id, writer) == {"title": "Draft"}
    assert_token_nowhere(page, watched, granted_service, reader)

    other = contexts[1].new_page()
    other.goto(f"{granted_service.url}/#/notes/{doc_id}")
    sign_in(other, outsider)
    expect_state(other, "error")
    expect(other.locator("#save-state")).to_have_text(
        "You don't have the right to read this collection"
    )
    expect(other.locator("#sign-in")).to_be_hidden()
