"""A FastAPI app's HTML forms saved in a real browser: a refused save is a page, not JSON.

Chromium (tests/web/conftest.py) drives the app of tests/adapters/fastapi_forms_app.py,
served by uvicorn on SQLite, then on PostgreSQL behind a TCP proxy (tests/pg_proxy.py)
that the outage test takes down: the app's connections are closed and new ones refused,
as by a server that stopped, without stopping the server others share. What each test
checks is what the browser shows: the status, the media type and the text of the page
it ends on, and the count read back from the database through the app. The app's
answers are gzip-coded inside the middleware that makes the pages, as an app that adds
compression first has them.

Failed before `IdempotencyMiddleware` (ASGI) answered a browser's problem with a page:
the stale save's 412, the outage's 503 and the duplicate's 409 and 422 reached Chromium
as ``application/problem+json``, shown as raw JSON in an API's words; and the 500 of a
bug in the save, answered outside every middleware of the app's (Starlette's
``ServerErrorMiddleware``), did until `install`'s handler answered it as a page too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.adapters.admin_pages import OpenForm, read_form
from tests.adapters.fastapi_forms_app import BUG
from tests.adapters.form_counter import Tally, edit_at_once
from tests.pg_proxy import PgProxy, pg_proxy
from tests.servers import start_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Response

#: What Chromium sends for a form's submission (as Firefox does).
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
}
HTML = "text/html; charset=utf-8"


@dataclass
class App:
    """The app's server, and the proxy in front of its PostgreSQL (None on SQLite)."""

    url: str
    proxy: PgProxy | None
    #: Where the server's output is (app-PORT.log).
    log_dir: Path

    def log(self) -> str:
        return "".join(path.read_text() for path in self.log_dir.glob("app-*.log"))

    def count(self, edit: str) -> int:
        """The counter's count, read from the database (through the app, as an API client)."""
        answer = httpx.get(self.url + edit.removesuffix("/edit"), timeout=10)
        assert answer.status_code == 200, answer.text
        count: int = answer.json()["count"]
        return count


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The forms app under uvicorn on a fresh database of its own."""
    log_dir = tmp_path_factory.mktemp(f"fastapi-forms-{request.param}")
    with ExitStack() as stack:
        proxy = None
        if request.param == "sqlite":
            database = f"sqlite:///{log_dir / 'forms.db'}"
        else:
            schema: str = request.getfixturevalue("postgres_module_schema")
            proxy = stack.enter_context(pg_proxy(schema))
            database = proxy.url(schema).replace("postgresql://", "postgresql+psycopg://", 1)
        env = {"FORMS_DATABASE": database, "FORMS_KEYS": str(log_dir / "keys.db")}
        target = "tests.adapters.fastapi_forms_app:create_app"
        url = stack.enter_context(start_app(target, log_dir, env=env, probe="/healthz"))
        yield App(url, proxy, log_dir)


@pytest.fixture(scope="module")
def pages(browser: Browser, app: App) -> Iterator[list[Page]]:
    """Two browsers (contexts of their own) on the app, a page in each for the module's tests.

    A page opened for each test cost Chromium a renderer process of its own (0.3-0.5 s
    of CPU to start); each test goes to a page of its own first.
    """
    contexts = [browser.new_context(base_url=app.url) for _ in range(2)]
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


def save(page: Page, **fields: str) -> Response:
    """Fill `fields` into the page's form, click Save: the answer the browser shows."""
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    with page.expect_navigation() as navigation:
        page.click("button")
    return navigation.value


def new_counter(page: Page, name: str) -> str:
    """A counter added through the add form: its edit page's path."""
    page.goto("/counters/new")
    answer = save(page, name=name, count="0")
    assert answer.status == 200, answer.text()
    edit = page.url.removeprefix(page.url.split("/counters/")[0])
    assert re.fullmatch(r"/counters/\d+/edit", edit), page.url
    return edit


def shown(page: Page, answer: Response, status: int) -> str:
    """The text of the page `answer` shows, which must be `status`'s page, not JSON."""
    assert answer.status == status, answer.text()[:300]
    assert answer.headers["content-type"] == HTML, answer.text()[:300]
    text = page.locator("body").inner_text()
    assert "{" not in text, text  # no JSON on the screen
    assert "If-Match" not in text, text  # no API's words
    assert "Idempotency-Key" not in text, text
    return text


def test_a_stale_save_is_a_page_saying_nothing_was_saved(pages: list[Page], app: App) -> None:
    """Opened in two browsers, saved in both: the second is told nothing was saved, and why."""
    first, second = pages
    edit = new_counter(first, "stale")
    second.goto(edit)
    stale = read_form(edit, second.content())
    assert save(first, count="1").status == 200
    answer = save(second, count="1")
    text = shown(second, answer, 412)
    assert "Nothing was saved" in text
    assert "changed since you opened" in text
    assert "content-encoding" not in answer.headers  # read from the gzip bytes, sent as is
    assert "Accept" in answer.headers["vary"]
    # The same form sent by an API client (Accept: */*): the answer its key recorded, the
    # problem, gzip-coded by the app's compression (and replayed with its coding).
    api = httpx.post(app.url + edit, data={**stale.values, "count": "1"}, timeout=10)
    assert api.status_code == 412
    assert api.headers["idempotent-replayed"] == "true"
    assert api.headers["content-type"] == "application/problem+json"
    assert api.headers["content-encoding"] == "gzip"
    assert api.json()["type"].endswith("/precondition-failed")
    assert app.count(edit) == 1


# PostgreSQL only: the outage is its proxy's, cut (a SQLite file has no connection to lose).
@pytest.mark.parametrize("app", ["postgres"], indirect=True)
def test_a_save_while_the_database_is_down_is_the_503_page(pages: list[Page], app: App) -> None:
    """The database gone: 503, Retry-After, a page saying to wait and reload; then saved once."""
    assert app.proxy is not None
    page = pages[0]
    edit = new_counter(page, "outage")
    app.proxy.go_down()
    try:
        answer = save(page, count="1")
        text = shown(page, answer, 503)
    finally:
        app.proxy.come_back()
    assert int(answer.headers["retry-after"]) >= 1
    assert "Nothing was saved" in text
    assert "reload this page" in text
    # What the page says to do: Reload sends the same form (its key) again, now saved.
    again = page.reload()
    assert again is not None
    assert again.status == 200, again.text()[:300]
    resent = again.request.redirected_from
    assert resent is not None
    assert resent.method == "POST"
    assert page.url.endswith(edit)
    assert app.count(edit) == 1


# SQLite only: the bug is the app's, whatever its database.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_save_that_hits_a_bug_is_the_500_page_naming_its_incident(
    pages: list[Page], app: App
) -> None:
    """A bug in the save (a 500, answered outside the app's middleware): a page, not JSON, with
    the incident the log's line names and nothing of the error; Reload runs the save again."""
    page = pages[0]
    edit = new_counter(page, "bug in the save")
    answer = save(page, count="1")
    text = shown(page, answer, 500)
    assert "may or may not have been saved" in text
    assert BUG not in page.content()
    assert "RuntimeError" not in page.content()
    assert "Accept" in answer.headers["vary"]
    found = re.search(r"incident ([0-9a-f]{12})", text)
    assert found is not None, text
    (line,) = [line for line in app.log().splitlines() if f"incident {found[1]}" in line]
    assert BUG in line
    # The form's key was released (nothing committed): Reload sends the form again, and it
    # runs again, into the same bug; nothing was ever saved.
    again = page.reload()
    assert again is not None
    assert again.request.method == "POST"
    assert again.status == 500
    assert found[1] not in shown(page, again, 500)
    assert app.count(edit) == 0


def test_a_double_clicked_save_runs_once_and_ends_on_the_saved_page(
    pages: list[Page], app: App
) -> None:
    """Two clicks while the first save runs: both sent, one save, the browser on the edit page."""
    page = pages[0]
    edit = new_counter(page, "slow double click")
    posts: list[str] = []

    def posted(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)

    page.on("request", posted)
    try:
        _double_click_save(page)
    finally:
        page.remove_listener("request", posted)
    assert page.url == app.url + edit
    assert len(posts) == 2
    assert read_form(edit, page.content()).values["count"] == "1"
    assert app.count(edit) == 1


def _double_click_save(page: Page) -> None:
    """Count 1 filled in, Save clicked twice 50 ms apart; the page the browser ends on loaded."""
    page.fill("input[name=count]", "1")
    box = page.locator("button").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("window.formPage = true")  # gone once another document is shown
    page.mouse.click(x, y)
    page.wait_for_timeout(50)
    page.mouse.click(x, y)
    # Polled: the form posts to its own URL, and a navigation waited for would be the
    # first click's, which the browser dropped for the second's.
    page.wait_for_function("() => !window.formPage && document.readyState === 'complete'")


def test_a_keyed_request_sent_twice_is_the_in_flight_page_then_the_reused_key_page(
    browser: Browser, app: App
) -> None:
    """An Idempotency-Key sent by a browser: 409 while the first runs, 422 for other fields."""
    context = browser.new_context(base_url=app.url)
    try:
        page = context.new_page()
        edit = new_counter(page, "slow keyed")
        context.set_extra_http_headers({"Idempotency-Key": '"page-key-0123456789"'})
        page.fill("input[name=count]", "1")
        box = page.locator("button").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        with page.expect_response(lambda r: r.status == 409) as in_flight:
            page.mouse.click(x, y)
            page.wait_for_timeout(50)
            page.mouse.click(x, y)
        page.wait_for_load_state("load")
        text = shown(page, in_flight.value, 409)
        assert "still being saved" in text
        assert in_flight.value.headers["retry-after"] == "1"
        # What the page says: wait, then reload to see how that save ended (its answer).
        page.wait_for_timeout(1000)
        again = page.reload()
        assert again is not None
        assert again.status == 200, again.text()[:300]
        assert page.url == app.url + edit
        assert app.count(edit) == 1
        # The same key for other fields (the form edited and sent again): 422, as a page.
        page.goto(edit)
        text = shown(page, save(page, count="5"), 422)
        assert "Nothing was saved" in text
        assert app.count(edit) == 1
    finally:
        context.close()


def test_browsers_and_clients_editing_at_once_lose_no_save(pages: list[Page], app: App) -> None:
    """Pure counter: 4 form clients at once and 2 browsers in rounds; count == saves reported."""
    edit = new_counter(pages[0], "hammered")

    def open_form(http: httpx.Client) -> OpenForm:
        answer = http.get(edit)
        assert answer.status_code == 200, answer.text[:300]
        return read_form(edit, answer.text)

    def save_form(http: httpx.Client, form: OpenForm, count: str) -> httpx.Response:
        return http.post(edit, data={**form.values, "count": count})

    def stale(answer: httpx.Response) -> bool:
        page = answer.headers.get("content-type") == HTML
        return answer.status_code == 412 and page and "Nothing was saved" in answer.text

    tallies: list[Tally] = []
    hammer = threading.Thread(
        target=lambda: tallies.append(
            edit_at_once(
                lambda _: httpx.Client(base_url=app.url, headers=BROWSER, timeout=30),
                open_form,
                save_form,
                clients=4,
                increments=5,
                stale=stale,
            )
        )
    )
    hammer.start()
    saved = refused = 0
    try:
        for _ in range(4):
            for page in pages:
                page.goto(edit)
            for page in pages:
                count = int(page.input_value("input[name=count]"))
                answer = save(page, count=str(count + 1))
                if answer.status == 200 and page.url.endswith(edit):
                    saved += 1
                else:
                    assert "Nothing was saved" in shown(page, answer, 412)
                    refused += 1
    finally:
        hammer.join()
    (tally,) = tallies
    assert saved + refused == 8
    assert saved >= 1
    tally.assert_exact(app.count(edit) - saved, 20)
