"""A bug in a Starlette or FastAPI app (a 500): a browser's page, an API client's problem.

The apps (server_error_apps.py) run under uvicorn with `install(app)` and an
`IdempotencyMiddleware`, which answers a browser (Accept ranking HTML above JSON) with
the core's page for every problem that passes it. Starlette answers an unexpected error
in its ``ServerErrorMiddleware``, outside every middleware of the app's, with the
handler `install` registers: before, that handler's 500 reached a browser as
``application/problem+json``, the only problem of such an app a browser saw as JSON,
and said nothing of the Idempotency-Key it released. A 500 must show neither the
error's text nor a traceback; its incident names the line the log has. An app in
``debug`` keeps Starlette's traceback page, and an app's own 500 handler answers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.adapters.server_errors import (
    BROWSER,
    HTML,
    INTERNAL,
    OWN,
    PROBLEM,
    SECRET,
    App,
    incident_of,
    logged,
    no_leak,
)
from tests.servers import start_app

pytest.importorskip("sqlalchemy")


def _serve(framework: str, mode: str, factory: pytest.TempPathFactory) -> Iterator[App]:
    log_dir = factory.mktemp(f"server-error-{framework}-{mode}")
    env = {
        "SERVER_ERROR_FRAMEWORK": framework,
        "SERVER_ERROR_MODE": mode,
        "SERVER_ERROR_DATABASE": str(log_dir / "rows.db"),
    }
    target = "tests.adapters.server_error_apps:create"
    with start_app(target, log_dir, env=env, probe="/healthz") as url:
        yield App(url, log_dir)


@pytest.fixture(scope="module", params=["starlette", "fastapi"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _serve(request.param, "keys", tmp_path_factory)


def test_a_browser_gets_the_500_page_naming_its_incident(app: App) -> None:
    """A form's POST to a handler with a bug: the 500 page, its incident logged with the error."""
    answer = app.post("/boom", BROWSER)
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == HTML, answer.text
    assert "Accept" in answer.headers["vary"]
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert "<h1" in answer.text
    assert "may or may not have been saved" in answer.text
    assert "{" not in answer.text  # no JSON
    no_leak(answer.text)
    assert "500 POST /boom raised" in logged(app, incident_of(answer.text))


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_an_api_client_gets_the_500_problem_naming_its_incident(
    app: App, accept: str | None
) -> None:
    """JSON, `*/*` or no Accept: the problem, whose incident is logged with the error."""
    answer = app.post("/boom", None if accept is None else {"Accept": accept})
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "Accept" in answer.headers["vary"]  # a browser gets a page at the same address
    problem = answer.json()
    assert problem["type"] == INTERNAL
    no_leak(answer.text)
    logged(app, problem["incident"])


@pytest.mark.parametrize("headers", [{"Accept": PROBLEM}, BROWSER], ids=["api", "browser"])
def test_a_keyed_request_that_raised_is_released_and_its_500_says_so(
    app: App, headers: dict[str, str]
) -> None:
    """The key is released (its retry runs again, not a 409 or a replay), and the answer says so."""
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    before = app.counts()["attempts"]
    first = app.post("/boom", keyed)
    assert first.status_code == 500, first.text
    no_leak(first.text)
    if headers is BROWSER:
        assert first.headers["content-type"] == HTML
        assert "Idempotency-Key" not in first.text  # an API's words, not a person's
        incident = incident_of(first.text)
    else:
        problem = first.json()
        assert "Idempotency-Key is released" in problem["detail"]
        assert "runs again" in problem["detail"]
        incident = problem["incident"]
    assert "Idempotency-Key is released" in logged(app, incident)
    retry = app.post("/boom", keyed)
    assert retry.status_code == 500
    assert "idempotent-replayed" not in retry.headers
    assert app.counts()["attempts"] == before + 2


def test_a_write_that_committed_then_raised_says_part_was_applied(app: App) -> None:
    """A write's answer held (`hold_write_answers`), a commit, then the bug: applied in part."""
    before = app.counts()["rows"]
    page = app.post("/commit-then-boom", BROWSER)
    assert page.status_code == 500
    assert page.headers["content-type"] == HTML, page.text
    assert "may or may not have been saved" in page.text
    no_leak(page.text)
    assert "after committing a write" in logged(app, incident_of(page.text))
    answer = app.post("/commit-then-boom", {"Accept": "application/json"})
    assert answer.status_code == 500
    problem = answer.json()
    assert "after applying part of this request" in problem["detail"]
    no_leak(answer.text)
    logged(app, problem["incident"])
    # Keyed: the key records the failure, and the middleware answers it (its page for a browser).
    keyed = app.post("/commit-then-boom", {**BROWSER, "Idempotency-Key": uuid.uuid4().hex})
    assert keyed.status_code == 500
    assert keyed.headers["content-type"] == HTML, keyed.text
    no_leak(keyed.text)
    logged(app, incident_of(keyed.text))
    assert app.counts()["rows"] == before + 3


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        pytest.param(BROWSER, "after its 201 answer began", id="browser"),
        pytest.param({"Accept": PROBLEM}, "after its 201 answer began", id="api"),
        pytest.param({"Idempotency-Key": "k" * 22}, "after its answer was complete", id="keyed"),
    ],
)
def test_an_error_after_the_answer_went_out_is_logged_as_that_not_as_a_500(
    app: App, headers: dict[str, str], said: str
) -> None:
    """A background task's bug after the 201 went out: the 201 stands, and the log says so,
    naming the task's error, not a 500 nobody was sent under an incident nobody was given."""
    answer = app.post("/answer-then-boom", headers)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"id": 1}
    deadline = time.monotonic() + 10
    while said not in app.log() and time.monotonic() < deadline:
        time.sleep(0.05)  # the task runs after the answer went out
    time.sleep(0.2)  # and the server's own lines, which would come with ours
    lines = [line for line in app.log().splitlines() if "/answer-then-boom" in line]
    assert not [line for line in lines if "500 POST" in line], lines
    (line,) = [line for line in lines if said in line]
    assert "a bug in a background task" in line, line  # the task's, not Starlette's wrapper
    assert "incident" not in line
    app.forget_log()


@pytest.fixture(scope="module")
def debug_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    # One framework each for debug and an own handler: FastAPI's install is Starlette's.
    yield from _serve("starlette", "debug", tmp_path_factory)


def test_an_app_in_debug_keeps_starlette_s_traceback_page(debug_app: App) -> None:
    """``debug=True``: a browser gets Starlette's traceback page, an API client its text."""
    page = debug_app.post("/boom", BROWSER)
    assert page.status_code == 500
    assert page.headers["content-type"] == HTML
    assert "Traceback" in page.text
    assert SECRET in page.text
    text = debug_app.post("/boom", {"Accept": "application/json"})
    assert text.status_code == 500
    assert text.headers["content-type"].startswith("text/plain")
    assert SECRET in text.text


@pytest.fixture(scope="module")
def own_handler_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _serve("fastapi", "own", tmp_path_factory)


@pytest.mark.parametrize(
    "headers", [BROWSER, {"Accept": "application/json"}], ids=["browser", "api"]
)
def test_an_app_s_own_500_handler_answers(own_handler_app: App, headers: Any) -> None:
    """A 500 handler the app registered before `install` answers its 500s, not `install`'s."""
    answer = own_handler_app.post("/boom", headers)
    assert answer.status_code == 500
    assert answer.text == OWN
    assert answer.headers["x-own"] == "1"
