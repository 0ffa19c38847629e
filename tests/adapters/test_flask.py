"""httpconflict.flask in a real Flask app (its test client): problems, 304/412/428, strict JSON."""

from __future__ import annotations

import gzip
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from httpconflict import (
    Base,
    ETag,
    Guard,
    NotFound,
    PreconditionFailed,
    Snapshot,
    Unavailable,
    Validators,
    WriteDocument,
    WriteOutcome,
    WriteResult,
    rebase_fields,
)
from httpconflict._problem import PROBLEM_TYPE_BASE
from httpconflict.flask import (
    HTTPConflict,
    conditional,
    conditional_patch,
    conditional_response,
    conditional_write,
    install,
    json_body,
    json_object,
    preconditions,
    request_conditions,
)
from tests.servers import start_app

MODIFIED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def problem(answer: TestResponse, status: int, slug: str | None = None) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status (and type); its body."""
    assert answer.status_code == status, answer.text
    assert answer.content_type == "application/problem+json"
    body: dict[str, Any] = answer.json or {}
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == PROBLEM_TYPE_BASE + slug
    else:
        assert body["type"] == "about:blank"
    return body


def make_app(**options: Any) -> Flask:
    """An app with one view per behaviour; a dict as the store of `pages`."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64
    install(app, **options)
    pages: dict[int, tuple[str, str]] = {1: ("e1", "hello")}  # id -> (etag, body)

    def page_validators(id: int) -> Validators | None:
        return Validators(ETag(pages[id][0]), MODIFIED) if id in pages else None

    @app.get("/missing")
    def missing() -> Any:
        raise NotFound("there is nothing here")

    @app.get("/busy")
    def busy() -> Any:
        raise Unavailable("the database is busy", retry_after=3)

    @app.get("/stale")
    def stale() -> Any:
        raise PreconditionFailed("changed", current_etag='"v2"')

    @app.get("/teapot")
    def teapot() -> Any:
        abort(418)

    @app.get("/boom")
    def boom() -> Any:
        raise ValueError("secret internals")

    @app.get("/abort-500")
    def abort_500() -> Any:
        abort(500)

    @app.post("/committed-then-boom")
    def committed_then_boom() -> Any:
        """A write committed through SQLAlchemy (a real SQLite file), then a bug."""
        from sqlalchemy import create_engine, text

        import httpconflict.sqlalchemy  # noqa: F401  # its listeners count the commit

        engine = create_engine(f"sqlite:///{app.config['DATABASE']}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS notes (title TEXT)"))
            conn.execute(text("INSERT INTO notes VALUES ('groceries')"))
        engine.dispose()
        raise ValueError("secret internals after the commit")

    @app.get("/slash/")
    def slash() -> Any:
        return "ok"

    @app.post("/flask-json")
    def flask_json() -> Any:
        return {"got": request.get_json()}

    @app.post("/json")
    def strict_json() -> Any:
        return json_body()

    @app.post("/unique")
    def unique() -> Any:
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE users (email TEXT UNIQUE)")
        db.execute("INSERT INTO users VALUES ('a@example.com')")
        db.execute("INSERT INTO users VALUES ('a@example.com')")
        return "", 201

    @app.get("/answers/<int:id>")
    def answer(id: int) -> Any:
        """The same page, its preconditions weighed against the view's own answer."""
        if id not in pages:
            raise NotFound("no such page")
        etag, body = pages[id]
        return conditional_response({"body": body}, etag=ETag(etag), last_modified=MODIFIED)

    @app.route("/pages/<int:id>", methods=["GET", "PUT", "DELETE"])
    @conditional(page_validators)  # 304, 412, 400 for GET and HEAD, before the view
    def page(id: int) -> Any:
        if request.method in ("GET", "HEAD"):
            if id not in pages:
                raise NotFound("no such page")
            return {"body": pages[id][1]}

        def read() -> Validators | None:
            return Validators(ETag(pages[id][0])) if id in pages else None

        def write(guard: Guard) -> WriteResult:
            # One step under the GIL: the check and the write are not separable here.
            current = pages.get(id)
            holds = (guard.exists is None or guard.exists == (current is not None)) and (
                guard.etags is None or (current is not None and current[0] in guard.etags)
            )
            if not holds:
                return WriteResult(False, read())
            if request.method == "DELETE":
                del pages[id]
                return WriteResult(True, None)
            body = json_body()["body"]
            new = ETag.from_content(body.encode())
            if current is not None and current[0] == new.opaque:
                return WriteResult(False, read())
            pages[id] = (new.opaque, body)
            return WriteResult(True, Validators(new), created=current is None)

        requested = None
        if request.method == "PUT":
            requested = ETag.from_content(json_body()["body"].encode())
        decision = conditional_write(read, write, requested=requested)
        if request.method == "DELETE":
            return "", 204
        new = decision.current.etag if decision.current else None
        status = 201 if decision.created else 200
        return {"outcome": decision.outcome.value}, status, {"ETag": str(new)}

    # Documents with every version kept (newest last): the store `conditional_patch` drives.
    versions: dict[int, list[tuple[str, dict[str, Any]]]] = {1: [("d1", {"a": 1, "b": 1})]}

    @app.patch("/docs/<int:id>")
    def patch_doc(id: int) -> Any:
        def read() -> Snapshot | None:
            kept = versions.get(id)
            return Snapshot(Validators(ETag(kept[-1][0])), kept[-1][1]) if kept else None

        def read_base(tags: tuple[str, ...]) -> Base | None:
            found = [Base(tag, doc) for tag, doc in versions.get(id, []) if tag in tags]
            return found[0] if found else None

        def write(command: WriteDocument) -> WriteResult:
            # One step under the GIL: the check and the write are not separable here.
            assert command.guard.etags is not None
            if versions[id][-1][0] not in command.guard.etags:
                return WriteResult(False, Validators(ETag(versions[id][-1][0])))
            tag = f"d{len(versions[id]) + 1}"
            assert isinstance(command.document, dict)
            versions[id].append((tag, command.document))
            return WriteResult(True, Validators(ETag(tag)))

        decision = conditional_patch(read, read_base, write)
        assert decision.current is not None
        headers = {"ETag": str(decision.current.etag), **rebase_fields(decision.rebased_from)}
        return decision.document, 200, headers

    @app.get("/conditions")
    def conditions() -> Any:
        parsed = request_conditions()
        return {"if_match": str(parsed.if_match), "present": parsed.present}

    return app


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    with make_app().test_client() as client:
        yield client


# --- problem answers -----------------------------------------------------------


def test_problem_errors_are_answered_with_their_problem(client: FlaskClient) -> None:
    """A ProblemError raised in a view is its problem+json, extension members included."""
    assert problem(client.get("/missing"), 404, "not-found")["detail"] == "there is nothing here"
    assert problem(client.get("/stale"), 412, "precondition-failed")["current_etag"] == '"v2"'


def test_retry_after_goes_in_the_header_too(client: FlaskClient) -> None:
    """An error that says when to retry says it in Retry-After as well as in the body."""
    answer = client.get("/busy")
    assert problem(answer, 503, "unavailable")["retry_after"] == 3
    assert answer.headers["Retry-After"] == "3"


def test_flask_http_errors_are_problems(client: FlaskClient) -> None:
    """An unknown URL is the not-found problem; 405 keeps Allow; others are about:blank."""
    problem(client.get("/nowhere"), 404, "not-found")
    wrong = client.delete("/missing")
    problem(wrong, 405, "method-not-allowed")
    assert set(wrong.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert problem(client.get("/teapot"), 418)["title"] == "I'm a Teapot"


def test_a_500_says_nothing_of_the_exception(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An unhandled error is the internal-error problem without the exception's text, naming
    the incident under which the ``httpconflict`` log has it."""
    with caplog.at_level(logging.ERROR, logger="httpconflict"):
        answer = client.get("/boom")
    body = problem(answer, 500, "internal-error")
    assert "secret" not in answer.text
    assert "Vary" not in answer.headers  # no middleware makes pages: JSON whatever the Accept
    (said,) = [r.getMessage() for r in caplog.records if body["incident"] in r.getMessage()]
    assert "500 GET /boom raised" in said
    assert "secret" in said


def test_abort_500_stays_about_blank(client: FlaskClient) -> None:
    """``abort(500)``, which has no error of its own, is the status phrase: nothing to log."""
    body = problem(client.get("/abort-500"), 500)
    assert body["title"] == "Internal Server Error"
    assert "incident" not in body


def test_a_500_after_a_commit_says_part_was_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After a commit of the request, the 500 says that part of it was applied (a client must
    not resend it as if nothing happened), naming the incident its log line has."""
    app = make_app()
    app.config["DATABASE"] = str(tmp_path / "notes.sqlite3")
    with caplog.at_level(logging.ERROR, logger="httpconflict"):
        answer = app.test_client().post("/committed-then-boom")
    body = problem(answer, 500, "internal-error")
    assert "after applying part of this request" in body["detail"]
    assert "secret" not in answer.text
    said = [r.getMessage() for r in caplog.records if body["incident"] in r.getMessage()]
    assert len(said) == 1
    assert sqlite3.connect(tmp_path / "notes.sqlite3").execute(
        "SELECT count(*) FROM notes"
    ).fetchone() == (1,)


def test_redirects_are_left_alone(client: FlaskClient) -> None:
    """Flask's trailing-slash redirect is not an error: it stays a redirect."""
    answer = client.get("/slash")
    assert answer.status_code == 308
    assert answer.headers["Location"].endswith("/slash/")


def test_flask_json_errors_are_json_problems(client: FlaskClient) -> None:
    """request.get_json() failing: 400 malformed-json saying where; 415 without JSON."""
    bad = client.post("/flask-json", data=b'{"a": ', content_type="application/json")
    assert "Expecting value" in problem(bad, 400, "malformed-json")["detail"]
    problem(client.post("/flask-json", data=b"{}"), 415, "unsupported-media-type")


def test_a_body_over_the_limit_is_413_with_the_limit(client: FlaskClient) -> None:
    """Past MAX_CONTENT_LENGTH: 413 content-too-large naming max_bytes."""
    answer = client.post("/json", json={"text": "x" * 100})
    assert problem(answer, 413, "content-too-large")["max_bytes"] == 64


def test_integrity_errors_are_still_409(client: FlaskClient) -> None:
    """The integrity handler stays: a duplicate is 409 naming the field."""
    body = problem(client.post("/unique"), 409, "unique-violation")
    assert body["conflicts"] == [{"fields": ["email"]}]


def test_http_exceptions_can_be_left_to_flask() -> None:
    """http_exceptions=False: Flask's own pages for its errors, problems for ours."""
    with make_app(http_exceptions=False).test_client() as client:
        assert client.get("/nowhere").content_type.startswith("text/html")
        problem(client.get("/missing"), 404, "not-found")


# --- request bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        pytest.param(b'{"a": 1}', "text/plain", 415, "unsupported-media-type", id="not-json"),
        pytest.param(b"{}", None, 415, "unsupported-media-type", id="no-content-type"),
        pytest.param(b'{"a": ', "application/json", 400, "malformed-json", id="truncated"),
        pytest.param(b'{"a": NaN}', "application/json", 400, "malformed-json", id="nan"),
        pytest.param(b"\xff{}", "application/json", 400, "malformed-json", id="not-utf8"),
        pytest.param(b"[1]", "application/json", 422, "invalid-document", id="an-array"),
        pytest.param(b'{"a":1,"a":2}', "application/json", 422, "invalid-document", id="dup"),
    ],
)
def test_json_body_refuses_what_is_not_one_json_object(
    client: FlaskClient, body: bytes, content_type: str | None, status: int, slug: str
) -> None:
    """json_body(): 415, 400 or 422 problems, by the core's rules."""
    problem(client.post("/json", data=body, content_type=content_type), status, slug)


def test_json_body_reads_an_object(client: FlaskClient) -> None:
    """A JSON object in UTF-8 with application/json (any charset=utf-8) is read."""
    answer = client.post(
        "/json", data=b'{"a": [1]}', content_type="application/json; charset=utf-8"
    )
    assert answer.json == {"a": [1]}


# --- conditional GET -------------------------------------------------------------


@pytest.fixture(params=["/pages/1", "/answers/1"], ids=["decorator", "from-the-answer"])
def page(request: pytest.FixtureRequest) -> str:
    """A page answered by @conditional, or by conditional_response: the same answers."""
    url: str = request.param
    return url


@pytest.mark.parametrize(
    "if_none_match",
    ['"e1"', 'W/"e1"', '"x", "e1"', "*"],
    ids=["same", "weak-form", "in-a-list", "star"],
)
def test_a_matching_if_none_match_is_304(
    client: FlaskClient, page: str, if_none_match: str
) -> None:
    """RFC 9110 §13.1.2: weak comparison; 304 with the ETag and no body."""
    answer = client.get(page, headers={"If-None-Match": if_none_match})
    assert answer.status_code == 304
    assert answer.data == b""
    assert answer.headers["ETag"] == '"e1"'
    assert "Content-Type" not in answer.headers


def test_head_is_conditional_too(client: FlaskClient, page: str) -> None:
    """HEAD answers like GET: 304 when it matches, 200 with the validators otherwise."""
    assert client.head(page, headers={"If-None-Match": '"e1"'}).status_code == 304
    head = client.head(page)
    assert head.status_code == 200
    assert head.headers["ETag"] == '"e1"'
    assert head.headers["Last-Modified"] == "Fri, 02 Jan 2026 03:04:05 GMT"


def test_a_different_etag_gets_the_representation(client: FlaskClient, page: str) -> None:
    """No match: 200 with the body, the ETag and Last-Modified."""
    answer = client.get(page, headers={"If-None-Match": '"e0", W/"e2"'})
    assert answer.status_code == 200
    assert answer.json == {"body": "hello"}


def test_if_modified_since_is_304_unless_if_none_match_is_there(
    client: FlaskClient, page: str
) -> None:
    """§13.2.2 step 4: If-Modified-Since only counts without If-None-Match."""
    since = {"If-Modified-Since": "Fri, 02 Jan 2026 03:04:05 GMT"}
    assert client.get(page, headers=since).status_code == 304
    both = {**since, "If-None-Match": '"other"'}
    assert client.get(page, headers=both).status_code == 200


@pytest.mark.parametrize("if_match", ['"e0"', 'W/"e1"'], ids=["other", "weak-never-matches"])
def test_a_failed_if_match_on_get_is_412(client: FlaskClient, page: str, if_match: str) -> None:
    """§13.1.1: strong comparison, so a weak tag fails too; the 412 names the current tag."""
    answer = client.get(page, headers={"If-Match": if_match})
    assert problem(answer, 412, "precondition-failed")["current_etag"] == '"e1"'


def test_a_malformed_conditional_header_is_400_naming_it(client: FlaskClient, page: str) -> None:
    """An unquoted entity-tag is a 400 naming the header (with a hint), not a silent 200."""
    body = problem(client.get(page, headers={"If-None-Match": "e1"}), 400, "malformed-header")
    assert body["header"] == "If-None-Match"
    assert 'did you mean "e1"' in body["detail"]


def test_request_conditions_are_the_parsed_headers(client: FlaskClient) -> None:
    """request_conditions() gives the view the request's Conditions."""
    answer = client.get("/conditions", headers={"If-Match": '"a", "b"'})
    assert answer.json == {"if_match": '"a", "b"', "present": True}
    assert client.get("/conditions").json == {"if_match": "None", "present": False}


def test_the_decorator_answers_before_the_view_and_404s_stay(client: FlaskClient) -> None:
    """@conditional: a 304 without running the view; a missing page's 404 ignores If-Match."""
    assert client.get("/pages/1", headers={"If-None-Match": '"e1"'}).status_code == 304
    problem(client.get("/pages/9", headers={"If-Match": '"e1"'}), 404, "not-found")


def test_the_decorator_leaves_writes_to_the_write(client: FlaskClient) -> None:
    """@conditional checks GET and HEAD only: a PUT's If-Match is the write's to check."""
    answer = client.put("/pages/1", json={"body": "new"}, headers={"If-Match": '"e1"'})
    assert answer.status_code == 200


# --- conditional writes ------------------------------------------------------------


def put(client: FlaskClient, body: str, **headers: str) -> TestResponse:
    return client.put("/pages/1", json={"body": body}, headers=headers)


def test_a_write_without_if_match_on_an_existing_resource_is_428(client: FlaskClient) -> None:
    """RFC 6585 §3: 428, explaining how to resubmit; nothing is written."""
    assert "If-Match" in problem(put(client, "blind"), 428, "precondition-required")["detail"]
    assert client.get("/pages/1").json == {"body": "hello"}


def test_a_stale_if_match_is_412_with_the_current_etag(client: FlaskClient) -> None:
    """The first writer wins; the second, holding the same tag, gets 412 naming the new tag."""
    first = put(client, "first", **{"If-Match": '"e1"'})
    assert first.status_code == 200
    second = put(client, "second", **{"If-Match": '"e1"'})
    assert problem(second, 412, "precondition-failed")["current_etag"] == first.headers["ETag"]
    assert client.get("/pages/1").json == {"body": "first"}


def test_a_stale_write_is_412_even_when_its_state_is_in_place(client: FlaskClient) -> None:
    """A stale If-Match whose state is already current is still 412: content proves nothing."""
    put(client, "same", **{"If-Match": '"e1"'})
    retried = put(client, "same", **{"If-Match": '"e1"'})
    assert retried.status_code == 412


def test_a_write_that_changes_nothing_is_unchanged(client: FlaskClient) -> None:
    """If-Match names the current version and the body is what is stored: 200, nothing written."""
    first = put(client, "same", **{"If-Match": '"e1"'})
    assert first.status_code == 200
    again = put(client, "same", **{"If-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.json == {"outcome": WriteOutcome.UNCHANGED.value}


def test_writes_create_with_if_none_match_star_and_delete_with_if_match(
    client: FlaskClient,
) -> None:
    """PUT If-None-Match: * creates (201), then 412; DELETE needs If-Match; a gone page is 404."""
    created = client.put("/pages/2", json={"body": "new"}, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    again = client.put("/pages/2", json={"body": "new"}, headers={"If-None-Match": "*"})
    problem(again, 412, "precondition-failed")
    problem(client.delete("/pages/2"), 428, "precondition-required")
    etag = created.headers["ETag"]
    assert client.delete("/pages/2", headers={"If-Match": etag}).status_code == 204
    problem(client.delete("/pages/2", headers={"If-Match": etag}), 404, "not-found")


# --- conditional_patch: the request's patch, rebased on Prefer: rebase ---------------------

MERGE = "application/merge-patch+json"


def patch_doc(client: FlaskClient, body: dict[str, Any], **headers: str) -> TestResponse:
    return client.patch("/docs/1", json=body, content_type=MERGE, headers=headers)


def test_a_patch_of_the_current_version_is_applied(client: FlaskClient) -> None:
    """If-Match names the current version: the merge patch is applied, the next ETag answered."""
    answer = patch_doc(client, {"a": 2}, **{"If-Match": '"d1"'})
    assert (answer.status_code, answer.json, answer.headers["ETag"]) == (
        200,
        {"a": 2, "b": 1},
        '"d2"',
    )
    assert "Rebased-From" not in answer.headers


def test_a_stale_patch_is_412_unless_a_rebase_is_asked_for(client: FlaskClient) -> None:
    """Stale and no preference: 412; with Prefer: rebase another field merges, the same clashes."""
    patch_doc(client, {"a": 2}, **{"If-Match": '"d1"'})
    stale = problem(patch_doc(client, {"b": 2}, **{"If-Match": '"d1"'}), 412, "precondition-failed")
    assert stale["current_etag"] == '"d2"'
    asked = {"If-Match": '"d1"', "Prefer": "rebase"}
    merged = patch_doc(client, {"b": 2}, **asked)
    assert (merged.status_code, merged.json) == (200, {"a": 2, "b": 2})
    assert merged.headers["Rebased-From"] == '"d1"'
    assert merged.headers["Preference-Applied"] == "rebase"
    clash = problem(patch_doc(client, {"a": 2}, **asked), 409, "merge-conflict")
    assert clash["conflicts"] == [{"pointer": "/a", "base": 1, "current": 2, "requested": 2}]
    gone = patch_doc(client, {"b": 3}, **{"If-Match": '"d0"', "Prefer": "rebase"})
    unknown = problem(gone, 412, "precondition-failed")
    assert "no longer kept" in unknown["detail"]


def test_a_patch_without_if_match_is_428_and_of_nothing_404(client: FlaskClient) -> None:
    """No If-Match on an existing document: 428; a document that is not there: 404."""
    problem(patch_doc(client, {"a": 2}), 428, "precondition-required")
    missing = client.patch("/docs/9", json={}, content_type=MERGE, headers={"If-Match": '"x"'})
    problem(missing, 404, "not-found")


# --- the previous release's names: one more release, with a warning ------------------------


def test_httpconflict_is_install_with_a_warning() -> None:
    """HTTPConflict(app) and HTTPConflict().init_app(app) still install the handlers."""
    for make in (
        lambda app: HTTPConflict(app),
        lambda app: HTTPConflict(http_exceptions=True).init_app(app),
    ):
        app = Flask(__name__)
        with pytest.deprecated_call(match="install"):
            make(app)

        @app.get("/missing")
        def missing() -> Any:
            raise NotFound("there is nothing here")

        problem(app.test_client().get("/missing"), 404, "not-found")


def test_the_old_request_helpers_warn_and_answer() -> None:
    """preconditions(), json_object() and conditional(rv, etag=...) do what they did."""
    app = Flask(__name__)
    install(app)
    with app.test_request_context(
        "/", method="GET", json={"a": 1}, headers={"If-None-Match": '"e1"'}
    ):
        with pytest.deprecated_call(match="request_conditions"):
            assert preconditions().if_none_match is not None
        with pytest.deprecated_call(match="json_body"):
            assert json_object() == {"a": 1}
        with pytest.deprecated_call(match="conditional_response"):
            answer: Any = conditional({"a": 1}, etag=ETag("e1"))  # type: ignore[arg-type]
        assert answer.status_code == 304


# --- content-coded bodies, on a real werkzeug server ----------------------------

CODED = [
    pytest.param("gzip", gzip.compress, id="gzip"),
    pytest.param("deflate", zlib.compress, id="deflate"),
    # Plain JSON said to be br: still not taken as the document it looks like.
    pytest.param("br", bytes, id="br-mislabelled"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """`make_app` under werkzeug's threaded server."""
    log_dir = tmp_path_factory.mktemp("flask-served")
    with (
        start_app("tests.adapters.test_flask:make_app", log_dir, probe="/slash/", wsgi=True) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield http


@pytest.mark.parametrize(("coding", "code"), CODED)
def test_a_coded_body_is_415_naming_identity(
    served: httpx.Client, coding: str, code: Callable[[bytes], bytes]
) -> None:
    """RFC 9110 §12.5.3: json_body() and request_patch() refuse a coded body with 415 and
    Accept-Encoding, not a 400 "not UTF-8"; the patch applies nothing."""
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    posted = served.post("/json", content=code(b'{"a": 1}'), headers=headers)
    assert posted.status_code == 415, posted.text
    assert posted.headers["accept-encoding"] == "identity"
    assert posted.json()["accept_encoding"] == ["identity"]
    current = served.patch("/docs/1", json={}, headers=merge_at("*")).headers["etag"]
    headers = {**merge_at(current), "Content-Encoding": coding}
    patched = served.patch("/docs/1", content=code(b'{"a": 2}'), headers=headers)
    assert patched.status_code == 415, patched.text
    assert patched.headers["accept-encoding"] == "identity"
    same = served.patch("/docs/1", json={}, headers=merge_at(current))
    assert (same.status_code, same.headers["etag"]) == (200, current), same.text


def merge_at(etag: str) -> dict[str, str]:
    return {"Content-Type": MERGE, "If-Match": etag}
