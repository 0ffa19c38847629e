"""A bug in a Flask app (a 500) under `install(app)`: a browser's page, an API client's problem.

The app (flask_server_error_app.py) runs under werkzeug's server with `install(app)` and
the WSGI `IdempotencyMiddleware`, which answers a browser (Accept ranking HTML above JSON)
with the core's page for every problem that passes it. Flask answers an unexpected error
with ``install``'s handler for werkzeug's ``InternalServerError``: before, that was an
``about:blank`` 500 with no incident, the error only in Flask's own log ("Exception on
/boom [POST]") where nothing in the answer pointed, and a keyed request's 500 said nothing
of the Idempotency-Key the middleware released. Now as under Starlette and FastAPI
(test_asgi_server_error_pages.py): the ``internal-error`` problem naming an incident whose
line in the ``httpconflict`` log has the error, ``Vary: Accept``, and the key's release said.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.adapters.server_errors import (
    BROWSER,
    HTML,
    INTERNAL,
    OWN,
    PROBLEM,
    App,
    incident_of,
    logged,
    no_leak,
)
from tests.servers import start_app

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")


def _serve(mode: str, factory: pytest.TempPathFactory) -> Iterator[App]:
    log_dir = factory.mktemp(f"flask-server-error-{mode}")
    env = {"SERVER_ERROR_MODE": mode, "SERVER_ERROR_DATABASE": str(log_dir / "rows.db")}
    target = "tests.adapters.flask_server_error_app:create"
    with start_app(target, log_dir, env=env, probe="/healthz", wsgi=True) as url:
        yield App(url, log_dir)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _serve("keys", tmp_path_factory)


def test_a_browser_gets_the_500_page_naming_its_incident(app: App) -> None:
    """A form's POST to a view with a bug: the 500 page, its incident logged with the error."""
    answer = app.post("/boom", BROWSER)
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == HTML, answer.text
    assert "Accept" in answer.headers["vary"]
    assert "<h1" in answer.text
    assert "may or may not have been saved" in answer.text
    no_leak(answer.text)
    assert "500 POST /boom raised" in logged(app, incident_of(answer.text))


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_an_api_client_gets_the_500_problem_naming_its_incident(
    app: App, accept: str | None
) -> None:
    """JSON, `*/*` or no Accept: the internal-error problem, whose incident is logged."""
    answer = app.post("/boom", None if accept is None else {"Accept": accept})
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "Accept" in answer.headers["vary"]  # a browser gets a page at the same address
    problem = answer.json()
    assert problem["type"] == INTERNAL, problem
    no_leak(answer.text)
    logged(app, problem["incident"])


@pytest.mark.parametrize("headers", [{"Accept": PROBLEM}, BROWSER], ids=["api", "browser"])
def test_a_keyed_request_that_raised_is_released_and_its_500_says_so(
    app: App, headers: dict[str, str]
) -> None:
    """The key is released (its retry runs again, not a replay), and the answer says so."""
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
        assert "Idempotency-Key is released" in problem["detail"], problem
        assert "runs again" in problem["detail"]
        incident = problem["incident"]
    assert "Idempotency-Key is released" in logged(app, incident)
    retry = app.post("/boom", keyed)
    assert retry.status_code == 500
    assert "idempotent-replayed" not in retry.headers
    assert app.counts()["attempts"] == before + 2


def test_a_write_that_committed_then_raised_says_part_was_applied(app: App) -> None:
    """A commit, then the bug: applied in part, and its key records (and replays) that."""
    before = app.counts()["rows"]
    page = app.post("/commit-then-boom", BROWSER)
    assert page.status_code == 500
    assert page.headers["content-type"] == HTML, page.text
    no_leak(page.text)
    assert "after committing a write" in logged(app, incident_of(page.text))
    key = {"Accept": PROBLEM, "Idempotency-Key": uuid.uuid4().hex}
    answers = [app.post("/commit-then-boom", key) for _ in range(2)]
    for answer in answers:
        assert answer.status_code == 500
        problem = answer.json()
        assert "after applying part of this request" in problem["detail"]
        no_leak(answer.text)
    assert answers[1].headers["idempotent-replayed"] == "true"
    logged(app, answers[0].json()["incident"])
    assert app.counts()["rows"] == before + 2


@pytest.fixture(scope="module")
def own_handler_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    yield from _serve("own", tmp_path_factory)


@pytest.mark.parametrize(
    "headers", [BROWSER, {"Accept": "application/json"}], ids=["browser", "api"]
)
def test_an_app_s_own_500_handler_answers(own_handler_app: App, headers: dict[str, str]) -> None:
    """An ``@app.errorhandler(500)`` of the app's answers its 500s, not `install`'s."""
    answer = own_handler_app.post("/boom", headers)
    assert answer.status_code == 500
    assert answer.text == OWN
    assert answer.headers["x-own"] == "1"
