"""RFC 9110 §13.2.2 as one table, run in-process against every adapter: one request, one answer.

Each adapter serves the resource of conditional_apps.py (ETag "v2" and
Last-Modified NOON on /tagged, a date only on /dated, no validators on
/bare, a 404 on /missing) and answers every row. Each row asserts that
all of them give the answer RFC 9110 calls for: the same status; for a
304 the very same header fields; for a 412 the problem type and
``current_etag``; for a 400 the problem type and the field it names (a
HEAD answer has no body to compare, so its content type stands in).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any, Final

import httpx
import pytest
from werkzeug.test import Client

from httpconflict._problem import MEDIA_TYPE, PROBLEM_TYPE_BASE
from tests.adapters import conditional_apps

Answer = tuple[Any, ...]
#: (status, header fields, body) of one answer.
Raw = tuple[int, list[tuple[str, str]], bytes]
#: Sends one request (method, path, header fields) to an adapter.
Send = Callable[[str, str, dict[str, str]], Raw]

ETAG: Final = '"v2"'
NOON: Final = "Thu, 01 Jan 2026 12:00:00 GMT"
BEFORE: Final = "Thu, 01 Jan 2026 11:59:59 GMT"
AFTER: Final = "Thu, 01 Jan 2026 12:00:01 GMT"

ADAPTERS: Final = (
    "asgi",
    "wsgi",
    "flask",
    "flask-conditional",
    "fastapi",
    "fastapi-check",
    "django-conditional",
    "django-middleware",
    "drf",
)


def answer_of(method: str, status: int, headers: list[tuple[str, str]], body: bytes) -> Answer:
    """What the table compares of an answer."""
    if status == 304:
        return (304, frozenset((name.lower(), value) for name, value in headers))
    if status < 400 or status == 404:
        return (status,)
    content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
    if method == "HEAD":
        return (status, content_type)
    problem = json.loads(body)
    names = problem.get("current_etag") if status == 412 else problem.get("header")
    return (status, content_type, problem["type"].removeprefix(PROBLEM_TYPE_BASE), names)


PASSES: Final = (200,)
NOT_FOUND: Final = (404,)


def not_modified(**fields: str) -> Answer:
    """A 304 carrying exactly these header fields."""
    return (304, frozenset((name.replace("_", "-"), value) for name, value in fields.items()))


def failed(current_etag: str | None = ETAG) -> Answer:
    return (412, MEDIA_TYPE, "precondition-failed", current_etag)


def malformed(header: str) -> Answer:
    return (400, MEDIA_TYPE, "malformed-header", header)


def on_head(expected: Answer) -> Answer:
    """The same answer to HEAD: a refusal has no body to compare."""
    return expected[:2] if expected[0] >= 400 and expected[0] != 404 else expected


# A read with a validator says no-cache when its app says nothing, and so does its 304.
TAGGED_304: Final = not_modified(etag=ETAG, cache_control="no-cache")
DATED_304: Final = not_modified(last_modified=NOON, cache_control="no-cache")


IM, INM, IMS, IUS = "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"
Row = Callable[[str, dict[str, str], Answer], Any]


def on(path: str, method: str = "GET") -> Row:
    """Rows for requests with this method to this path."""

    def row(test_id: str, headers: dict[str, str], expected: Answer) -> Any:
        if method == "HEAD":
            expected = on_head(expected)
        return pytest.param(method, path, headers, expected, id=test_id)

    return row


row, head = on("/tagged"), on("/tagged", "HEAD")
dated, dated_head = on("/dated"), on("/dated", "HEAD")
bare, missing, missing_head = on("/bare"), on("/missing"), on("/missing", "HEAD")


TABLE: Final = [
    row("rfc9110-13.2.1-no-precondition-200", {}, PASSES),
    # §13.1.1 If-Match: strong comparison.
    row("rfc9110-13.1.1-if-match-current-200", {IM: ETAG}, PASSES),
    row("rfc9110-13.1.1-if-match-stale-412", {IM: '"v1"'}, failed()),
    row("rfc9110-13.1.1-weak-never-matches-if-match-412", {IM: 'W/"v2"'}, failed()),
    row("rfc9110-13.1.1-if-match-list-200", {IM: '"v1", "v2"'}, PASSES),
    row("rfc9110-13.1.1-if-match-list-of-others-412", {IM: '"v1", W/"v2"'}, failed()),
    row("rfc9110-13.1.1-if-match-star-200", {IM: "*"}, PASSES),
    row("rfc9110-13.1.1-if-match-malformed-400", {IM: "v2"}, malformed(IM)),
    # §13.1.2 If-None-Match: weak comparison.
    row("rfc9110-13.1.2-if-none-match-current-304", {INM: ETAG}, TAGGED_304),
    row("rfc9110-13.1.2-weak-comparison-304", {INM: 'W/"v2"'}, TAGGED_304),
    row("rfc9110-13.1.2-list-304", {INM: '"v1", W/"v2"'}, TAGGED_304),
    row("rfc9110-13.1.2-list-of-others-200", {INM: '"v1", W/"v0"'}, PASSES),
    row("rfc9110-13.1.2-star-304", {INM: "*"}, TAGGED_304),
    row("rfc9110-13.1.2-other-200", {INM: '"v1"'}, PASSES),
    row("rfc9110-13.1.2-malformed-400", {INM: "v2"}, malformed(INM)),
    # §13.1.3 If-Modified-Since (no If-None-Match).
    row("rfc9110-13.1.3-before-200", {IMS: BEFORE}, PASSES),
    row("rfc9110-13.1.3-equal-304", {IMS: NOON}, TAGGED_304),
    row("rfc9110-13.1.3-after-304", {IMS: AFTER}, TAGGED_304),
    row("rfc9110-13.1.3-malformed-date-400", {IMS: "yesterday"}, malformed(IMS)),
    # §13.1.4 If-Unmodified-Since (no If-Match); a GET takes the date at its word.
    row("rfc9110-13.1.4-before-412", {IUS: BEFORE}, failed()),
    row("rfc9110-13.1.4-equal-200", {IUS: NOON}, PASSES),
    row("rfc9110-13.1.4-after-200", {IUS: AFTER}, PASSES),
    row("rfc9110-13.1.4-malformed-date-400", {IUS: "Thu, 01 Jan 2026"}, malformed(IUS)),
    # §13.2.2: the order, and what each field makes the next one ignore.
    row("rfc9110-13.2.2-if-match-then-if-none-match-304", {IM: ETAG, INM: ETAG}, TAGGED_304),
    row("rfc9110-13.2.2-if-match-first-412", {IM: '"v1"', INM: ETAG}, failed()),
    row(
        "rfc9110-13.2.2-if-unmodified-since-ignored-with-if-match-200",
        {IM: ETAG, IUS: BEFORE},
        PASSES,
    ),
    row("rfc9110-13.2.2-if-match-fails-whatever-the-date-412", {IM: '"v1"', IUS: AFTER}, failed()),
    row(
        "rfc9110-13.2.2-if-unmodified-since-before-if-none-match-412",
        {IUS: BEFORE, INM: ETAG},
        failed(),
    ),
    row(
        "rfc9110-13.2.2-if-modified-since-ignored-with-if-none-match-200",
        {INM: '"v1"', IMS: AFTER},
        PASSES,
    ),
    row(
        "rfc9110-13.2.2-if-none-match-decides-over-the-date-304",
        {INM: ETAG, IMS: BEFORE},
        TAGGED_304,
    ),
    row("rfc9110-13.2.2-dates-both-hold-304", {IUS: NOON, IMS: NOON}, TAGGED_304),
    row(
        "rfc9110-13.2.2-all-four-200",
        {IM: ETAG, IUS: BEFORE, INM: '"v1"', IMS: AFTER},
        PASSES,
    ),
    row(
        "rfc9110-13.2.2-a-malformed-field-beside-good-ones-400",
        {IM: "v2", INM: '"v1"'},
        malformed(IM),
    ),
    # HEAD is answered as GET.
    head("rfc9110-13.2.2-head-200", {}, PASSES),
    head("rfc9110-13.2.2-head-if-none-match-304", {INM: 'W/"v2"'}, TAGGED_304),
    head("rfc9110-13.2.2-head-if-modified-since-304", {IMS: NOON}, TAGGED_304),
    head("rfc9110-13.2.2-head-if-match-412", {IM: '"v1"'}, failed()),
    head("rfc9110-13.2.2-head-malformed-400", {INM: "v2"}, malformed(INM)),
    # A date and no ETag: the 304 repeats Last-Modified (§15.4.5).
    dated("rfc9110-15.4.5-last-modified-without-etag-304", {IMS: NOON}, DATED_304),
    dated("rfc9110-13.1.2-star-without-etag-304", {INM: "*"}, DATED_304),
    dated("rfc9110-13.1.2-a-tag-without-etag-200", {INM: ETAG}, PASSES),
    dated("rfc9110-13.1.1-a-tag-without-etag-412", {IM: ETAG}, failed(None)),
    dated("rfc9110-13.1.4-dated-before-412", {IUS: BEFORE}, failed(None)),
    dated("rfc9110-13.1.4-dated-equal-200", {IUS: NOON}, PASSES),
    dated_head("rfc9110-15.4.5-head-last-modified-304", {IMS: AFTER}, DATED_304),
    # A 200 without validators is still a current representation.
    bare("rfc9110-13.1.1-no-etag-never-matches-412", {IM: '"x"'}, failed(None)),
    bare("rfc9110-13.1.1-star-without-validators-200", {IM: "*"}, PASSES),
    bare("rfc9110-13.1.2-star-without-validators-304", {INM: "*"}, not_modified()),
    bare("rfc9110-13.1.2-a-tag-without-validators-200", {INM: '"x"'}, PASSES),
    bare("rfc9110-13.1.3-ignored-without-last-modified-200", {IMS: AFTER}, PASSES),
    bare("rfc9110-13.1.4-ignored-without-last-modified-200", {IUS: BEFORE}, PASSES),
    bare("rfc9110-13.2.2-malformed-without-validators-400", {IM: "x"}, malformed(IM)),
    # §13.2.1: a 404 ignores every precondition, even a malformed one.
    missing("rfc9110-13.2.1-404-ignores-if-match", {IM: '"v1"'}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-if-match-star", {IM: "*"}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-if-none-match", {INM: ETAG}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-if-none-match-star", {INM: "*"}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-if-modified-since", {IMS: AFTER}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-if-unmodified-since", {IUS: BEFORE}, NOT_FOUND),
    missing("rfc9110-13.2.1-404-ignores-malformed-fields", {INM: "v2"}, NOT_FOUND),
    missing_head("rfc9110-13.2.1-head-404-ignores-if-match", {IM: '"v1"'}, NOT_FOUND),
]


# --- the clients: one request in, (status, header fields, body) out ----------------


def _asgi_client(
    app: Any, loop: asyncio.AbstractEventLoop, opened: list[httpx.AsyncClient]
) -> Send:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://table")
    opened.append(client)

    def send(method: str, path: str, headers: dict[str, str]) -> Raw:
        response = loop.run_until_complete(client.request(method, path, headers=headers))
        return response.status_code, list(response.headers.multi_items()), response.content

    return send


def _wsgi_client(app: Any) -> Send:
    client = Client(app)

    def send(method: str, path: str, headers: dict[str, str]) -> Raw:
        response = client.open(path, method=method, headers=headers)
        return response.status_code, list(response.headers.items()), response.get_data()

    return send


def configure_django() -> None:
    """Django settings for in-process views, unless another test module configured them."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
        django.setup()


def _django_client(view: Any) -> Send:
    from django.test import RequestFactory

    factory = RequestFactory()

    def send(method: str, path: str, headers: dict[str, str]) -> Raw:
        request = factory.generic(method, path, headers=headers)
        response = view(request, name=path.strip("/"))
        if hasattr(response, "render"):
            response.render()  # REST framework renders at the handler, not in the view
        return response.status_code, list(response.items()), response.content

    return send


@pytest.fixture(scope="module")
def adapters() -> Iterator[dict[str, Send]]:
    """Each adapter serving the resource, as a function sending one request to it."""
    configure_django()
    from tests.adapters import conditional_django

    loop = asyncio.new_event_loop()
    opened: list[httpx.AsyncClient] = []
    try:
        yield {
            "asgi": _asgi_client(conditional_apps.asgi_app(), loop, opened),
            "wsgi": _wsgi_client(conditional_apps.wsgi_app()),
            "flask": _wsgi_client(conditional_apps.flask_app()),
            "flask-conditional": _wsgi_client(conditional_apps.flask_decorated_app()),
            "fastapi": _asgi_client(conditional_apps.fastapi_app(), loop, opened),
            "fastapi-check": _asgi_client(
                conditional_apps.fastapi_app(conditional_get=False), loop, opened
            ),
            "django-conditional": _django_client(conditional_django.decorated),
            "django-middleware": _django_client(conditional_django.middleware),
            "drf": _django_client(conditional_django.viewset),
        }
    finally:
        for client in opened:
            loop.run_until_complete(client.aclose())
        loop.close()


@pytest.mark.parametrize(("method", "path", "headers", "expected"), TABLE)
def test_every_adapter_gives_the_same_answer(
    adapters: dict[str, Send],
    method: str,
    path: str,
    headers: dict[str, str],
    expected: Answer,
) -> None:
    """The row's request gets the answer RFC 9110 calls for from every adapter alike."""
    answers = {
        name: answer_of(method, *send(method, path, headers)) for name, send in adapters.items()
    }
    assert answers == dict.fromkeys(ADAPTERS, expected)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_sends_the_validators(adapters: dict[str, Send], adapter: str) -> None:
    """A 200 carries the ETag and Last-Modified a client sends back (REST framework's too),
    and ``Cache-Control: no-cache`` (a shared cache asks before each use); one without
    validators says nothing of caching."""
    status, fields, _ = adapters[adapter]("GET", "/tagged", {})
    sent = {name.lower(): value for name, value in fields}
    assert (status, sent["etag"], sent["last-modified"]) == (200, ETAG, NOON)
    assert sent["cache-control"] == "no-cache"
    _, bare, _ = adapters[adapter]("GET", "/bare", {})
    assert "cache-control" not in {name.lower() for name, _ in bare}
