"""Authentication against real servers (SQLite and PostgreSQL): API tokens and HS256 JWTs.

Tokens are made with the real `httpconflict token` command, JWTs signed
with PyJWT; every refusal is a 401 problem with RFC 6750's challenge.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest

from tests.problems import assert_problem
from tests.servers import ServiceProcess

from .auth_helpers import JSON, SECRET, bearer, create_token, database, served, token_cli

CHALLENGE = 'Bearer realm="httpconflict"'


@dataclass
class Authed:
    service: ServiceProcess
    db: str
    writer: str
    reader: str


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def authed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Authed]:
    """A service taking API tokens and HS256 JWTs, with two tokens made by the CLI."""
    with database(request, tmp_path_factory.mktemp("db")) as db:
        writer = create_token(db, "writer", "writer")
        reader = create_token(db, "reader", "reader", "auditor")
        extra = ("--auth", "tokens", "--auth", "jwt", "--jwt-secret", SECRET)
        with served(db, tmp_path_factory.mktemp("log"), *extra) as service:
            yield Authed(service, db, writer, reader)
            # Whatever the tests sent, no credential reached the log or the console.
            text = service.log_path.read_text()
            for secret in (writer, reader, SECRET, *ISSUED):
                assert secret not in text
            assert not re.search(r"hc_[A-Za-z0-9_-]{43}", text)


#: Every JWT the tests made, checked against the log at the end.
ISSUED: list[str] = []


def hs256(sub: str = "ann", *, ttl: float = 60, key: str = SECRET, **claims: object) -> str:
    now = time.time()
    payload = {"sub": sub, "iat": int(now), "exp": int(now + ttl), **claims}
    token = jwt.encode(payload, key, algorithm="HS256")
    ISSUED.append(token)
    return token


@pytest.fixture
def http(authed: Authed) -> Iterator[httpx.Client]:
    with authed.service.client() as client:
        yield client


def doc() -> str:
    return f"/v1/notes-{uuid.uuid4().hex[:10]}/a"


def create(http: httpx.Client, token: str, scheme: str = "Bearer") -> httpx.Response:
    headers = {**JSON, "If-None-Match": "*", **bearer(token, scheme)}
    return http.put(doc(), content=b'{"n": 1}', headers=headers)


def test_no_credential_is_401_without_an_error_attribute(http: httpx.Client) -> None:
    """No Authorization: 401 problem, WWW-Authenticate names the realm and no error (§3.1)."""
    response = http.put(doc(), content=b'{"n": 1}', headers={**JSON, "If-None-Match": "*"})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == CHALLENGE
    assert_problem(http.get("/v1/notes"), 401, "unauthorized")


def test_another_scheme_is_no_bearer_credential(http: httpx.Client) -> None:
    """Basic credentials are no bearer token: the same 401 as none at all."""
    response = http.get("/v1/notes/a", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == CHALLENGE


def test_an_unknown_token_is_invalid_token(http: httpx.Client) -> None:
    """A made-up API token: 401 with error="invalid_token" and a description."""
    response = http.get("/v1/notes/a", headers=bearer("hc_" + "A" * 43))
    body = assert_problem(response, 401, "unauthorized")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE + ', error="invalid_token", error_description="')
    assert body["detail"] in challenge


def test_a_malformed_credential_is_invalid_token(http: httpx.Client) -> None:
    """Characters no bearer token has: 401 invalid_token, never a 500."""
    response = http.get("/v1/notes/a", headers=bearer('"x" y'))
    assert_problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_gets_through_whatever_the_scheme_case(authed: Authed, http: httpx.Client) -> None:
    """Bearer, bearer and BEARER are one scheme (RFC 6750 is case-insensitive)."""
    for scheme in ("Bearer", "bearer", "BEARER"):
        assert create(http, authed.writer, scheme).status_code == 201


def test_a_revoked_token_is_refused_by_the_next_request(authed: Authed, http: httpx.Client) -> None:
    """`token revoke`: the very next request with the token is a 401."""
    token = create_token(authed.db, f"short-{uuid.uuid4().hex[:6]}", "writer")
    ISSUED.append(token)
    assert create(http, token).status_code == 201
    name = next(
        line.split("\t")[0]
        for line in token_cli(authed.db, "list").stdout.splitlines()
        if line.endswith("valid") and line.split("\t")[2] == "…" + token[-4:]
    )
    assert token_cli(authed.db, "revoke", name).returncode == 0
    assert_problem(create(http, token), 401, "unauthorized")
    listed = token_cli(authed.db, "list").stdout
    assert token not in listed
    assert f"{name}\twriter\t" in listed
    assert token_cli(authed.db, "revoke", name).returncode == 1


def test_public_paths_need_no_credential(http: httpx.Client) -> None:
    """The health check, the OpenAPI document and the problem pages serve no data."""
    assert http.get("/healthz").status_code == 200
    assert http.get("/openapi.json").status_code == 200
    assert http.get("/problems/unauthorized").status_code == 200
    # Public only for reading: a write to these paths still needs a credential.
    assert_problem(http.post("/healthz"), 401, "unauthorized")


def test_hs256_jwt_gets_through(http: httpx.Client) -> None:
    """A current JWT signed with the shared secret: the write is made."""
    assert create(http, hs256()).status_code == 201


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: hs256(ttl=-60), "expired"),
        (lambda: hs256(nbf=int(time.time()) + 600), "not valid yet"),
        (lambda: hs256(key="another-secret-of-the-same-length-0123456"), "signature"),
        (
            lambda: jwt.encode({"sub": "ann", "exp": int(time.time()) + 60}, "", algorithm="none"),
            "algorithm",
        ),
        (lambda: jwt.encode({"sub": "ann"}, SECRET, algorithm="HS256"), "claim"),
        (lambda: hs256(sub=""), "sub claim"),
        (lambda: hs256(sub=123), "sub claim is not a string"),  # type: ignore[arg-type]  # a hostile claim
        (lambda: "not.a.jwt", "not a valid JWT"),
    ],
    ids=[
        *("expired", "not-yet", "bad-signature", "alg-none"),
        *("no-exp", "no-sub", "sub-int", "garbage"),
    ],
)
def test_a_bad_jwt_is_invalid_token(http: httpx.Client, token: object, reason: str) -> None:
    """Expired, premature, wrongly signed, alg none, without exp or sub: 401 saying which."""
    made = token()  # type: ignore[operator]
    ISSUED.append(made)
    response = create(http, made)
    body = assert_problem(response, 401, "unauthorized")
    assert reason in body["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert set(body) <= {"type", "title", "status", "detail"}


def test_keys_of_two_principals_never_meet(authed: Authed, http: httpx.Client) -> None:
    """One Idempotency-Key from two principals: two documents; a retry replays its own."""
    name, key = f"orders-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())

    def post(token: str, scheme: str = "Bearer") -> httpx.Response:
        headers = {**JSON, "Idempotency-Key": f'"{key}"', **bearer(token, scheme)}
        return http.post(f"/v1/{name}", content=b'{"item": "tea"}', headers=headers)

    writer, jwt_writer = post(authed.writer), post(hs256("bob"))
    assert writer.status_code == jwt_writer.status_code == 201
    assert writer.headers["location"] != jwt_writer.headers["location"]
    again = post(authed.writer, "bearer")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == writer.headers["location"]
    listed = http.get(f"/v1/{name}", headers=bearer(authed.writer)).json()["items"]
    assert len(listed) == 2


def test_the_access_log_names_the_principal(authed: Authed, http: httpx.Client) -> None:
    """Each line says who asked (token:<name>, jwt:<sub>, anonymous), never with what."""
    marker = doc()
    headers = {**JSON, "If-None-Match": "*"}
    http.put(marker, content=b"{}", headers={**headers, **bearer(authed.reader)})
    http.put(marker + "x", content=b"{}", headers={**headers, **bearer(hs256("carol"))})
    http.put(marker + "y", content=b"{}", headers=headers)
    for path, principal in (
        (marker, "token:reader"),
        (marker + "x", "jwt:carol"),
        (marker + "y", None),
    ):
        lines = authed.service.wait_for_log(lambda r: r["path"] == path)  # noqa: B023
        assert [line["principal"] for line in lines] == [principal]


@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        ("ann\x00bob", "holds U+0000"),
        ("ann\ud800", "holds a lone surrogate (U+D800 to U+DFFF)"),
        ("\udfff", "holds a lone surrogate (U+D800 to U+DFFF)"),
        # Random, so PostgreSQL cannot compress it into its index: 3000 bytes do not fit.
        (secrets.token_urlsafe(3000), "is too long: a principal id holds at most 255 characters"),
    ],
    ids=["nul", "lone-high-surrogate", "lone-low-surrogate", "3000-characters"],
)
def test_a_subject_no_store_can_hold_is_invalid_token(
    http: httpx.Client, sub: str, reason: str
) -> None:
    """A well-signed JWT whose sub no key store takes: 401 saying why, for reads and writes.

    Before, the read got through and every keyed write was a 500: the
    principal jwt:<sub> went to the Idempotency-Key store, which could not
    encode a surrogate, hold U+0000 (PostgreSQL) or index 3000 bytes.
    """
    token = hs256(sub)
    name = f"orders-{uuid.uuid4().hex[:8]}"
    keyed = {**JSON, "Idempotency-Key": f'"{uuid.uuid4()}"', **bearer(token)}
    for response in (
        http.post(f"/v1/{name}", content=b'{"item": "tea"}', headers=keyed),
        http.put(f"/v1/{name}/a", content=b"{}", headers={**keyed, "If-None-Match": "*"}),
        http.get(f"/v1/{name}/a", headers=bearer(token)),
    ):
        body = assert_problem(response, 401, "unauthorized")
        assert body["detail"] == f"the token's sub claim {reason}"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # The same subject, storable, writes as usual.
    assert create(http, hs256("ann")).status_code == 201


def test_an_exp_past_a_floats_range_is_no_500(http: httpx.Client) -> None:
    """exp = 10**4000 (PyJWT takes any integer): the token is good for ever, not a 500."""
    assert create(http, hs256(exp=10**4000)).status_code == 201
