"""Authorization in the service: which right each request needs, and the refusals' shape.

The app is built in-process with the middleware authentication would sit
in front of; a test header names the principal (authentication proper is
tested against real servers).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from httpconflict._access import AccessRules
from httpconflict._principal import PRINCIPAL_SCOPE_KEY, Principal, Right
from httpconflict.service.app import create_app
from httpconflict.service.authorization import RULES_LIFETIME, Authorization, needed_right
from httpconflict.service.config import ServiceConfig
from httpconflict.service.problems import ServerErrors
from tests.problems import assert_problem


class _Caller:
    """Test-only authentication: `X-Caller: id role role...` becomes the principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-caller":
                    principal_id, *roles = value.decode().split()
                    scope[PRINCIPAL_SCOPE_KEY] = Principal(principal_id, frozenset(roles))
        await self.app(scope, receive, send)


ADMIN = {"X-Caller": "token:root admin"}
WRITER = {"X-Caller": "token:w writer"}
READER = {"X-Caller": "token:r reader"}
NOBODY = {"X-Caller": "token:n"}


class InProcess:
    """Requests to the app in this process, each run to its end on one event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@contextmanager
def in_process(db: Path) -> Iterator[InProcess]:
    """The service on `db` in this process, as one worker of it."""
    config = ServiceConfig(db=str(db))
    app = create_app(config)
    # Where the service puts it: after authentication, before Idempotency-Keys.
    at = next(i for i, m in enumerate(app.user_middleware) if m.cls == ServerErrors)  # type: ignore[comparison-overlap]  # a class is a factory
    app.user_middleware[at + 1 : at + 1] = [
        Middleware(_Caller),
        Middleware(Authorization, store=app.state.store, grants=config.access_grants),
    ]
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://localhost")
    try:
        yield InProcess(http, loop)
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path / "db.sqlite") as one:
        yield one


@pytest.fixture
def collection(client: InProcess) -> str:
    """A collection where role reader reads and role writer writes, holding document d."""
    name = f"c{uuid.uuid4().hex[:8]}"
    access = {"read": ["role:reader"], "write": ["role:writer"]}
    response = client.put(
        f"/v1/_collections/{name}", json={"unique": [], "access": access}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["access"] == {**access, "admin": []}
    create = {**WRITER, "If-None-Match": "*"}
    put = client.put(f"/v1/{name}/d", json={"secret": "s3"}, headers=create)
    assert put.status_code == 201, put.text
    return name


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/healthz", None),
        ("GET", "/openapi.json", None),
        ("GET", "/problems/forbidden", None),
        ("GET", "/", None),
        ("GET", "/v1/c/d", ("c", Right.READ)),
        ("HEAD", "/v1/c/d", ("c", Right.READ)),
        ("PUT", "/v1/c/d", ("c", Right.WRITE)),
        ("PATCH", "/v1/c/d", ("c", Right.WRITE)),
        ("DELETE", "/v1/c/d", ("c", Right.WRITE)),
        ("GET", "/v1/c", ("c", Right.READ)),
        ("POST", "/v1/c", ("c", Right.WRITE)),
        ("GET", "/v1/c/d/versions", ("c", Right.READ)),
        ("GET", "/v1/_collections/c", ("c", Right.READ)),
        ("PUT", "/v1/_collections/c", ("c", Right.ADMIN)),
        ("DELETE", "/v1/_collections/c", ("c", Right.ADMIN)),
        ("DELETE", "/v1/c/d?purge=true", ("c", Right.ADMIN)),
        ("DELETE", "/v1/c/d?purge=TRUE", ("c", Right.ADMIN)),
        ("DELETE", "/v1/c/d?purge=false&purge=true", ("c", Right.ADMIN)),
        ("DELETE", "/v1/c/d?purge=false", ("c", Right.WRITE)),
        ("DELETE", "/v1/c/d?purged=true", ("c", Right.WRITE)),
        ("GET", "/v1/", (None, Right.READ)),
        ("POST", "/v1/_collections/", (None, Right.ADMIN)),
    ],
)
def test_needed_right(method: str, path: str, expected: tuple[str | None, Right] | None) -> None:
    """Each route needs the right its method implies on the collection its path names."""
    path, _, query = path.partition("?")
    assert needed_right(method, path, query) == expected


def test_each_role_gets_its_right(client: InProcess, collection: str) -> None:
    """A reader reads (history too) but may not write; a writer writes; neither declares keys."""
    doc = f"/v1/{collection}/d"
    assert client.get(doc, headers=READER).json() == {"secret": "s3"}
    assert client.get(f"{doc}/versions", headers=READER).status_code == 200
    assert client.get(f"/v1/{collection}", headers=READER).status_code == 200
    assert_problem(client.delete(doc, headers=READER), 403, "forbidden")
    etag = client.get(doc, headers=WRITER).headers["etag"]
    put = client.put(doc, json={"secret": "s4"}, headers={**WRITER, "If-Match": etag})
    assert put.status_code == 200
    for who in (READER, WRITER):
        refused = client.put(f"/v1/_collections/{collection}", json={"unique": []}, headers=who)
        assert_problem(refused, 403, "forbidden")


def test_settings_show_rules_to_admins_only(client: InProcess, collection: str) -> None:
    """GET settings: a reader sees the unique keys; only an admin sees who holds which right."""
    seen = client.get(f"/v1/_collections/{collection}", headers=READER).json()
    assert seen == {"collection": collection, "unique": []}
    assert "access" in client.get(f"/v1/_collections/{collection}", headers=ADMIN).json()


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_refusal_is_the_same_whether_the_document_exists(
    client: InProcess, collection: str, method: str
) -> None:
    """403 tells nothing of the document: the same answer for one that exists and one that not."""
    answers = [
        client.request(method, f"/v1/{collection}/{doc_id}", headers=NOBODY)
        for doc_id in ("d", "never-created")
    ]
    for response in answers:
        assert response.status_code == 403
        assert "etag" not in response.headers
        assert "last-modified" not in response.headers
        assert "s3" not in response.text
    assert answers[0].content == answers[1].content
    assert answers[0].headers == answers[1].headers
    if method != "HEAD":
        body = assert_problem(answers[0], 403, "forbidden")
        assert body["right"] == ("read" if method == "GET" else "write")


def test_anonymous_gets_401_with_a_challenge(client: InProcess, collection: str) -> None:
    """A caller that said nothing of who it is gets 401 and WWW-Authenticate, no data."""
    response = client.get(f"/v1/{collection}/d")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="httpconflict"'
    assert "s3" not in response.text


def test_refused_keyed_write_leaves_its_key_unclaimed(client: InProcess, collection: str) -> None:
    """A 403 never claims the Idempotency-Key: the same key then works for a writer."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    refused = client.post(f"/v1/{collection}", json={"n": 1}, headers={**NOBODY, **key})
    assert_problem(refused, 403, "forbidden")
    created = client.post(f"/v1/{collection}", json={"n": 1}, headers={**WRITER, **key})
    assert created.status_code == 201
    assert "idempotent-replayed" not in created.headers


def test_purging_needs_admin(client: InProcess, collection: str) -> None:
    """A writer may delete but not erase the history; an admin may."""
    etag = client.get(f"/v1/{collection}/d", headers=WRITER).headers["etag"]
    purge = f"/v1/{collection}/d?purge=true"
    body = assert_problem(client.delete(purge, headers={**WRITER, "If-Match": etag}), 403)
    assert body["right"] == "admin"
    assert client.delete(purge, headers={**ADMIN, "If-Match": etag}).status_code == 204
    assert client.get(f"/v1/{collection}/d/versions", headers=ADMIN).status_code == 404


def test_admin_role_holds_every_right_everywhere(client: InProcess, collection: str) -> None:
    """The service's grant (admin=role:admin) holds on a collection whatever its own rules."""
    assert client.get(f"/v1/{collection}/d", headers=ADMIN).status_code == 200
    assert client.get(f"/v1/other{collection}", headers=ADMIN).status_code == 200
    assert_problem(client.get(f"/v1/other{collection}", headers=WRITER), 403, "forbidden")


def test_malformed_access_changes_nothing(client: InProcess, collection: str) -> None:
    """A bad access member is a 422; the rules in force stay as they were."""
    response = client.put(
        f"/v1/_collections/{collection}",
        json={"unique": ["email"], "access": {"read": ["everyone"]}},
        headers=ADMIN,
    )
    assert_problem(response, 422, "invalid-document")
    settings = client.get(f"/v1/_collections/{collection}", headers=ADMIN).json()
    assert settings["unique"] == []
    assert settings["access"]["read"] == ["role:reader"]


def test_openapi_names_the_refusals_and_the_rules(client: InProcess) -> None:
    """Every /v1/ operation lists its 401 and 403; the settings' schema has `access`."""
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/") and method != "parameters":
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
    settings = spec["paths"]["/v1/_collections/{collection}"]["put"]["requestBody"]
    access = settings["content"]["application/json"]["schema"]["properties"]["access"]
    assert set(access["properties"]) == {"read", "write", "admin"}


def grant_read(client: InProcess, collection: str, *grantees: str) -> None:
    access = {"read": ["role:reader", *grantees], "write": ["role:writer"]}
    settings = {"unique": [], "access": access}
    response = client.put(f"/v1/_collections/{collection}", json=settings, headers=ADMIN)
    assert response.status_code == 200, response.text


def test_a_rule_change_holds_from_the_next_request(client: InProcess, collection: str) -> None:
    """Granted, the next request of the principal gets through; taken back, the next is a 403."""
    doc = f"/v1/{collection}/d"
    assert client.get(doc, headers=NOBODY).status_code == 403
    grant_read(client, collection, "token:n")
    assert client.get(doc, headers=NOBODY).status_code == 200
    grant_read(client, collection)
    assert client.get(doc, headers=NOBODY).status_code == 403


def test_another_worker_applies_a_rule_change_within_a_second(
    client: InProcess, collection: str, tmp_path: Path
) -> None:
    """A worker that kept a collection's rules reads them again after RULES_LIFETIME."""
    doc = f"/v1/{collection}/d"
    with in_process(tmp_path / "db.sqlite") as other:
        assert other.get(doc, headers=NOBODY).status_code == 403
        grant_read(client, collection, "token:n")
        time.sleep(RULES_LIFETIME + 0.1)
        assert other.get(doc, headers=NOBODY).status_code == 200
        grant_read(client, collection)
        time.sleep(RULES_LIFETIME + 0.1)
        assert other.get(doc, headers=NOBODY).status_code == 403


def test_a_worker_keeps_a_bounded_number_of_collections_rules(tmp_path: Path) -> None:
    """Past RULES_KEPT collections, the least recently used one's rules are read again."""
    from httpconflict.service.authorization import RULES_KEPT, _KeptRules
    from httpconflict.storage import document_store

    async def fill() -> int:
        store = document_store(str(tmp_path / "kept.db"))
        await store.open()
        try:
            kept = _KeptRules(store, lifetime=60)
            for n in range(RULES_KEPT + 10):
                assert await kept.get(f"c{n}") == AccessRules()
            return len(kept._kept)
        finally:
            await store.close()

    assert asyncio.run(fill()) == RULES_KEPT


def test_every_route_but_the_public_ones_is_authorized(tmp_path: Path) -> None:
    """A route serving collections lives under /v1/ and needs a right; the others are public."""
    from starlette.routing import Route

    public = {
        "/",
        "/editor/{name}",
        "/favicon.ico",
        "/healthz",
        "/openapi.json",
        "/problems/{slug}",
    }
    app = create_app(ServiceConfig(db=str(tmp_path / "db.sqlite")))
    paths = {route.path for route in app.routes if isinstance(route, Route)}
    assert public <= paths
    for path in paths - public:
        assert needed_right("GET", path) is not None, path
    for path in public:
        assert needed_right("GET", path) is None, path
