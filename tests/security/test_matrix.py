"""The security suite: every endpoint x every bad credential, against real servers.

SQLite and PostgreSQL each serve a collection whose rules give read to
role reader and write to role writer (admin: the service's default grant,
role admin). Every endpoint is called with no credential, a wrong token,
a revoked token, an expired JWT, a JWT signed with another key, an
``alg: none`` JWT, and a valid token of a role without the right: each
gets a 401 or 403 problem carrying no document data (no body member, no
ETag, no Last-Modified), and the document is left as it was. The token of
the right role gets through.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest

from httpconflict.cli import main
from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service
from tests.service.auth_helpers import SECRET, bearer, database

#: Written in the document and its history: no refusal may carry it.
SECRET_VALUE = "ssn-078-05-1120"  # noqa: S105  # a document's value, not a credential
COLLECTION = "people"
DOC = f"/v1/{COLLECTION}/ann"
SETTINGS = {"unique": [], "access": {"read": ["role:reader"], "write": ["role:writer"]}}


@dataclass
class Secured:
    service: ServiceProcess
    tokens: dict[str, str]
    jwts: dict[str, str]
    #: One client for every request of the module (an httpx client costs 25 ms of CPU
    #: to make); it keeps no connection, so each request comes on a new one as before.
    http: httpx.Client


def token(db: str, *args: str) -> str:
    """`httpconflict token ARGS --db DB`, run in this process (its own tests run it as a
    command): what it prints on stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", *args, "--db", db]) == 0
    return out.getvalue().strip()


def _jwt(key: str = SECRET, ttl: float = 600, roles: tuple[str, ...] = ("admin",)) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": "mallory", "roles": list(roles), "iat": now, "exp": now + ttl}, key, "HS256"
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def secured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Secured]:
    """A service taking tokens and JWTs, a guarded collection, and one credential of each kind."""
    with database(request, tmp_path_factory.mktemp("db")) as db:
        roles = {"admin": "admin", "writer": "writer", "reader": "reader", "revoked": "admin"}
        tokens = {name: token(db, "create", name, f"--role={r}") for name, r in roles.items()}
        tokens["nobody"] = token(db, "create", "nobody")
        token(db, "revoke", "revoked")
        now = int(time.time())
        # Each bad JWT names role admin: only its flaw may refuse it.
        jwts = {
            "expired": _jwt(ttl=-120),
            "bad-signature": _jwt(key="another-secret-of-the-same-length-0123456"),
            "alg-none": jwt.encode(
                {"sub": "mallory", "roles": ["admin"], "exp": now + 600}, "", algorithm="none"
            ),
            "good-admin": _jwt(),
        }
        # The service's grants left at their default: admin=role:admin alone.
        extra = ("--auth", "tokens", "--auth", "jwt", "--jwt-secret", SECRET)
        with (
            start_service(db, tmp_path_factory.mktemp("log"), extra=extra) as service,
            service.client(limits=httpx.Limits(max_keepalive_connections=0)) as http,
        ):
            admin = bearer(tokens["admin"])
            settings = http.put(f"/v1/_collections/{COLLECTION}", json=SETTINGS, headers=admin)
            assert settings.is_success
            first = {"If-None-Match": "*", **admin}
            put = http.put(DOC, json={"ssn": SECRET_VALUE}, headers=first)
            assert put.status_code == 201, put.text
            # A second version: the secret is in the history as well.
            again = {"ssn": SECRET_VALUE, "v": 2}
            second = http.put(DOC, json=again, headers={"If-Match": put.headers["etag"], **admin})
            assert second.is_success, second.text
            yield Secured(service, tokens, jwts, http)
            text = service.log_path.read_text()
            for credential in (*tokens.values(), *jwts.values(), SECRET):
                assert credential not in text, "a credential reached the log"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    right: str
    body: object = None
    headers: tuple[tuple[str, str], ...] = ()


ENDPOINTS = [
    Endpoint("GET", DOC, "read"),
    Endpoint("HEAD", DOC, "read"),
    Endpoint("GET", f"/v1/{COLLECTION}", "read"),
    Endpoint("GET", f"{DOC}/versions", "read"),
    Endpoint("GET", f"{DOC}/versions?limit=1", "read"),
    Endpoint("GET", f"/v1/_collections/{COLLECTION}", "read"),
    Endpoint("PUT", DOC, "write", {"ssn": "overwritten"}, (("If-Match", '"x"'),)),
    Endpoint(
        "PATCH",
        DOC,
        "write",
        {"ssn": "patched"},
        (("If-Match", '"x"'), ("Content-Type", "application/merge-patch+json")),
    ),
    Endpoint("DELETE", DOC, "write", None, (("If-Match", '"x"'),)),
    Endpoint("POST", f"/v1/{COLLECTION}", "write", {"n": 1}, (("Idempotency-Key", "k1"),)),
    Endpoint("DELETE", f"{DOC}?purge=true", "admin", None, (("If-Match", '"x"'),)),
    Endpoint("PUT", f"/v1/_collections/{COLLECTION}", "admin", SETTINGS),
]
IDS = [f"{e.method}-{e.path.replace('/', '_')}" for e in ENDPOINTS]
#: Per right needed: a token of a role without it.
LACKING = {"read": "nobody", "write": "reader", "admin": "writer"}
HOLDING = {"read": "reader", "write": "writer", "admin": "admin"}


def send(secured: Secured, endpoint: Endpoint, headers: dict[str, str]) -> httpx.Response:
    content = None if endpoint.body is None else json.dumps(endpoint.body).encode()
    sent = {"Content-Type": "application/json", **dict(endpoint.headers), **headers}
    return secured.http.request(endpoint.method, endpoint.path, content=content, headers=sent)


def assert_no_data(response: httpx.Response) -> None:
    """The refusal says nothing of the document: no validators, no body data."""
    assert "etag" not in response.headers
    assert "last-modified" not in response.headers
    assert SECRET_VALUE not in response.text
    assert "ann" not in response.text


def unchanged(secured: Secured) -> None:
    """The document still holds its two versions, as the fixture wrote them."""
    admin = bearer(secured.tokens["admin"])
    assert secured.http.get(DOC, headers=admin).json() == {"ssn": SECRET_VALUE, "v": 2}
    assert len(secured.http.get(f"{DOC}/versions", headers=admin).json()["items"]) == 2


CREDENTIALS: dict[str, Callable[[Secured], dict[str, str]]] = {
    "no-token": lambda s: {},
    "wrong-token": lambda s: bearer("hc_" + "x" * 43),
    "revoked-token": lambda s: bearer(s.tokens["revoked"]),
    "expired-jwt": lambda s: bearer(s.jwts["expired"]),
    "bad-signature": lambda s: bearer(s.jwts["bad-signature"]),
    "alg-none": lambda s: bearer(s.jwts["alg-none"]),
}


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_bad_credential_gets_401(secured: Secured, endpoint: Endpoint, credential: str) -> None:
    """No, a wrong, a revoked token, an expired, wrongly signed or unsigned JWT: 401, no data."""
    response = send(secured, endpoint, CREDENTIALS[credential](secured))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="httpconflict"')
    if endpoint.method != "HEAD":
        assert_problem(response, 401, "unauthorized")
    assert_no_data(response)
    unchanged(secured)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_role_without_the_right_gets_403(secured: Secured, endpoint: Endpoint) -> None:
    """A valid token of a role lacking the endpoint's right: 403 naming the right, no data."""
    response = send(secured, endpoint, bearer(secured.tokens[LACKING[endpoint.right]]))
    assert response.status_code == 403, response.text
    if endpoint.method != "HEAD":
        assert assert_problem(response, 403, "forbidden")["right"] == endpoint.right
    assert_no_data(response)
    unchanged(secured)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_the_right_role_gets_through(secured: Secured, endpoint: Endpoint) -> None:
    """The token of the role holding the right reaches the endpoint (here: a 2xx or its 412)."""
    response = send(secured, endpoint, bearer(secured.tokens[HOLDING[endpoint.right]]))
    # The writes name a stale ETag on purpose: reaching the handler shows as its 412.
    expected = 412 if ("If-Match", '"x"') in endpoint.headers else None
    if expected is not None:
        assert_problem(response, expected, "precondition-failed")
    else:
        assert response.is_success, response.text
    if endpoint.method == "GET" and endpoint.path == DOC:
        assert response.json()["ssn"] == SECRET_VALUE


def test_a_jwt_of_role_admin_gets_through(secured: Secured) -> None:
    """A valid JWT whose roles claim names admin: the service's grant holds for it."""
    response = send(secured, ENDPOINTS[0], bearer(secured.jwts["good-admin"]))
    assert response.json()["ssn"] == SECRET_VALUE


def test_a_write_refused_keeps_its_key_unclaimed(secured: Secured) -> None:
    """A reader's keyed POST (403) claims nothing: a writer's with the same key is no replay."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    post = Endpoint("POST", f"/v1/{COLLECTION}", "write", {"n": 2})
    assert send(secured, post, {**bearer(secured.tokens["reader"]), **key}).status_code == 403
    made = send(secured, post, {**bearer(secured.tokens["writer"]), **key})
    assert made.status_code == 201
    assert "idempotent-replayed" not in made.headers
